"""B6 at its smallest size: our backtest and (where installed) freqtrade run, and the promised keys exist.

Speed is not checked (benchmarks report numbers); the figures' shape and coherence are."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from devkit.stack import ROOT

pytestmark = pytest.mark.slow


def test_b6_smoke_reports_candles_speed_and_split(tmp_path: Path) -> None:
    env = {**os.environ, "B6_CACHE": str(tmp_path / "cache"), "B6_FREQTRADE_PYTHON": str(tmp_path / "none")}
    done = subprocess.run(
        [sys.executable, "-m", "bench", "--smoke", "--only", "b6", "--no-chart", "--out", str(tmp_path)],
        cwd=ROOT,
        env=env,
        check=False,
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    assert "make bench-peers" in done.stdout  # says how to get the peer's figures
    b6 = json.loads((tmp_path / "latest.json").read_text())["b6"]
    assert b6["h1"]["candles"] == 5 * 30 * 24 and b6["m5"]["candles"] == 5 * 5 * 288
    for name in ("h1", "m5"):
        figures = b6[name]
        assert figures["wall_seconds"] > figures["loop_s"] > 0
        assert figures["candles_per_s"] == round(figures["candles"] / figures["wall_seconds"])
        assert figures["speedup_over_freqtrade"] is None  # no peer here
    assert b6["peak_rss_mib"] > 0
