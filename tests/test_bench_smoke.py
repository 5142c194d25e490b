"""The benchmarks at their smallest size: every scenario runs and writes the promised shape.

Speed is never checked here (benchmarks report numbers, tests check behaviour); what is checked is
that each figure exists, is a number, and is coherent with what the scenario did.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from devkit.stack import ROOT

pytestmark = pytest.mark.slow

REQUIRED = (
    "b1.baseline.upstream_calls_per_cycle",
    "b1.optimized.upstream_calls_per_cycle",
    "b1.optimized.hit_rate",
    "b1.baseline.scan_seconds_p50",
    "b1.optimized.scan_seconds_p50",
    "b2.upstream_calls",
    "b2.keys",
    "b3.e2e_ms_p50",
    "b3.e2e_ms_p99",
    "b3.msgs_per_s_per_replica",
    "b4.redis_hit_us_p50",
    "b4.raw_redis_get_us_p50",
    "b4.l1_hit_us_p50",
    "b5.stale_served_ratio",
    "b5.caller_errors",
)


def _value(results: dict[str, object], path: str) -> object:
    node: object = results
    for part in path.split("."):
        assert isinstance(node, dict) and part in node, f"{path} missing from latest.json"
        node = node[part]
    return node


def test_smoke_run_writes_json_table_and_chart(tmp_path: Path) -> None:
    done = subprocess.run(
        [sys.executable, "-m", "bench", "--smoke", "--out", str(tmp_path)],
        cwd=ROOT,
        check=False,
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    assert "B1 baseline cycle 1/" in done.stdout  # progress is shown while it runs
    results = json.loads((tmp_path / "latest.json").read_text())
    for path in REQUIRED:
        value = _value(results, path)
        assert isinstance(value, int | float) and not isinstance(value, bool), f"{path} = {value!r}"
    # Coherent with the scenarios, whatever the machine's speed.
    assert _value(results, "b2.keys") == 4
    assert _value(results, "b2.baseline.upstream_calls") == 2 * 5 * 4  # no dedup: every read goes upstream
    assert 0 <= _value(results, "b1.optimized.hit_rate") <= 1  # type: ignore[operator]
    assert _value(results, "b1.baseline.hit_rate") == 0
    assert len(results["goals"]) == 8 and all(g["met"] in (True, False) for g in results["goals"])
    table = (tmp_path / "latest.md").read_text()
    assert "| cache hit rate | 0 % → 70-85 % |" in table
    assert (tmp_path / "latest.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
