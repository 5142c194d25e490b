"""A fresh clone's flow against the simulator: tradepipe download, then tradepipe backtest and lookahead."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from devkit.sim_server import SimServer
from tradepipe.cli import main

DAY = 86_400_000
NOW = 1_767_225_600_000  # 2026-01-01 UTC


def test_download_then_backtest_then_lookahead(
    sim: SimServer, redis_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    sim.freeze(NOW)
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("REDIS_URL", redis_url)
    monkeypatch.setenv("EXCHANGE_BASE_URL", sim.api_url)
    monkeypatch.setenv("EXCHANGE_RATE_PER_S", "1000")
    monkeypatch.setenv("EXCHANGE_RATE_BURST", "1000")
    monkeypatch.setenv("DATA_DIR", str(tmp_path / "data"))
    symbols = "BTC/USDT:USDT,ETH/USDT:USDT,SOL/USDT:USDT"
    since, until = "2025-12-01", "2026-01-01"
    assert main(["download", "--symbols", symbols, "--timeframes", "1h", "--since", since, "--until", until]) == 0
    out = capsys.readouterr().out
    assert "BTC/USDT:USDT 1h: 744 candles stored, 744 new" in out
    folder = tmp_path / "data" / "history" / f"bingx-127.0.0.1-{sim.port}"
    assert (folder / "1h" / "BTC_USDT_USDT.parquet").exists()
    assert (folder / "funding" / "BTC_USDT_USDT.parquet").exists()

    assert main(["download", "--symbols", symbols, "--since", since, "--until", until]) == 0  # nothing new
    assert "744 candles stored, 0 new in 0 requests" in capsys.readouterr().out

    assert main(["backtest", "--out", "report"]) == 0
    assert "3 symbols, 2,232 candles" in capsys.readouterr().out
    report = json.loads((tmp_path / "report" / "report.json").read_text())
    summary = report["summary"]
    for key in ("start_equity", "end_equity", "fees", "funding", "trades"):
        assert key in summary
    net = sum(t["net"] for t in report["trades"])
    assert summary["end_equity"] == pytest.approx(summary["start_equity"] + net, abs=1e-6)
    assert report["symbols"] == sorted(symbols.split(","))
    page = (tmp_path / "report" / "report.html").read_text()
    assert page.startswith("<!doctype html>") and "<svg" in page and "<script" not in page
    assert (tmp_path / "report" / "trades.csv").read_text().startswith("symbol,side,entry_time")

    assert main(["lookahead", "--cuts", "2"]) == 0
    assert "passed" in capsys.readouterr().out


def test_backtest_without_history_says_what_to_do(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code = main(["backtest", "--symbols", "BTC/USDT:USDT", "--data-dir", str(tmp_path), "--exchange", "none"])
    assert code == 1
    assert "run `tradepipe download` first" in capsys.readouterr().err
