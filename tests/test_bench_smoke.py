"""The benchmarks at their smallest size: every scenario runs and writes the promised shape.

Speed is never checked here (benchmarks report numbers, tests check behaviour); what is checked is
that each figure exists, is a number, and is coherent with what the scenario did.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from devkit.stack import ROOT

pytestmark = pytest.mark.slow

MODES = ("baseline", "optimized", "peer_polling")
REQUIRED = (
    *(f"b1.{mode}.{key}" for mode in MODES for key in (
        "rest_calls_per_hour", "request_weight_per_hour", "scan_seconds_p50", "scan_seconds_p95",
        "upstream_calls_per_cycle", "cold_first_cycle.rest_calls", "cold_first_cycle.scan_seconds",
    )),
    "b1.optimized.hit_rate",
    "b1.ratios.rest_calls_optimized_over_peer",
    "b1.ratios.scan_p95_optimized_over_peer",
    "b2.upstream_calls",
    "b2.keys",
    "b2.dead_holder_wait_ms_p99",
    "b2.dead_holder_upstream_calls",
    "b2.slow_upstream_calls_per_key",
    "b2.slow_upstream_wait_ms_p99",
    "b3.e2e_ms_p50",
    "b3.e2e_ms_p99",
    "b3.msgs_per_s_per_replica",
    "b3.ia1_msgs_per_s_per_replica",
    "b3.bare_batched_msgs_per_s",
    "b3.bare_relay_e2e_ms_p99",
    "b3.ia1_over_bare_batched",
    "b3.e2e_p99_over_bare_relay",
    "b4.redis_hit_us_p50",
    "b4.raw_redis_get_us_p50",
    "b4.l1_hit_us_p50",
    "b4.gateway_l1_hit_us_p50",
    "b4.gateway_redis_hit_us_p50",
    "b4.redis_benchmark_get_us_p50",
    "b4.gateway_hit_over_redis_benchmark",
    "b5.stale_served_ratio",
    "b5.caller_errors",
    "b5.recovery_seconds_p50",
    "b5.recovery_seconds_p95",
)  # fmt: skip


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
        env={**os.environ, "B6_CACHE": str(tmp_path / "b6-cache")},  # B6's generated history stays in the test
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
    assert _value(results, "b1.optimized.simulated_minutes") == 15  # the smoke size's quarter hour, every cycle
    assert _value(results, "b2.dead_holder_upstream_calls") == 4  # each key fetched once more, past the dead holder
    assert _value(results, "b2.slow_upstream_calls_per_key") == 1  # renewed leases: no second fetch
    assert _value(results, "b5.outages") == 3
    assert len(results["goals"]) == 16  # B6's are met or not only where freqtrade is installed (make bench-peers)
    assert all(g["met"] in (True, False) for g in results["goals"] if not g["goal"].startswith("B6"))
    table = (tmp_path / "latest.md").read_text()
    assert "| cache hit rate | 0 % → 70-85 % |" in table
    assert (tmp_path / "latest.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
