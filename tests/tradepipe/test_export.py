"""``tradepipe export`` after a session of paper trading: the real execution code trades, the journal
service stores it, and the export lists every trade with both fees, as the ledger booked them."""

from __future__ import annotations

import csv
import io
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from redis.asyncio import Redis

from devkit.waits import caught_up, eventually
from shared.bus import Delivery
from shared.keys import STREAM_EXECUTIONS
from tests.conftest import JournalFactory
from tests.helpers.journal import SYMBOL, decision
from tests.services.execution.test_trader import Market, make_trader, protection
from tradepipe.commands.export import moment

ROUND_TRIPS = 24
ROOT = Path(__file__).resolve().parents[2]


def export(data_dir: Path, *args: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "DATA_DIR": str(data_dir)}
    env.pop("DATABASE_URL", None)
    command = [sys.executable, "-m", "tradepipe", "export", *args]
    return subprocess.run(command, capture_output=True, text=True, env=env, cwd=ROOT, check=False, timeout=60)


async def test_export_lists_every_paper_trade_with_its_fees(
    redis: Redis, journal_service: JournalFactory, tmp_path: Path
) -> None:
    service = journal_service()
    market = Market(BTC_USDT=100.0)
    trader = make_trader(redis, market)
    guard = protection(trader)
    ledger = trader.ledger
    for i in range(ROUND_TRIPS):
        market.table[SYMBOL] = 100.0
        await trader.on_decision(decision(message_id=f"day{i}"), Delivery("stream:decisions", "execution", "1-0", 1))
        market.table[SYMBOL] = 125.0 if i % 3 else 85.0  # two take-profits for each stop-loss
        assert await guard.tick() == 1
    await eventually(lambda: caught_up(redis, "journal", [STREAM_EXECUTIONS]), what="the journal caught up")

    done = export(service.log_dir / "data", "trades", "--since", "1d", "--format", "csv")
    assert done.returncode == 0, done.stderr
    rows = {row["decision_id"]: row for row in csv.DictReader(io.StringIO(done.stdout))}
    fills = await ledger.trades(limit=1000)
    assert len(rows) == ROUND_TRIPS and len(fills) == 2 * ROUND_TRIPS
    for fill in fills:
        row = rows[fill.decision_id]
        fee = float(row["entry_fee"] if fill.kind == "open" else row["exit_fee"])
        assert fee == pytest.approx(fill.fee) and fee > 0
        if fill.kind == "close":
            assert float(row["realized_pnl"]) == pytest.approx(fill.realized_pnl)
            assert row["close_reason"] == fill.reason
    assert sum(row["close_reason"] == "stop-loss" for row in rows.values()) == ROUND_TRIPS // 3

    out = tmp_path / "orders.json"
    done = export(service.log_dir / "data", "orders", "--format", "json", "--symbol", "BTC/USDT:USDT", "-o", str(out))
    assert done.returncode == 0, done.stderr
    assert len(json.loads(out.read_text())) == 2 * ROUND_TRIPS


def test_bad_arguments_are_refused_clearly(tmp_path: Path) -> None:
    refused = export(tmp_path, "trades", "--since", "last tuesday")
    assert refused.returncode == 2 and "neither ISO 8601" in refused.stderr
    missing = export(tmp_path / "no" / "such" / "dir", "orders")
    assert missing.returncode == 1 and missing.stderr.startswith("export failed:")
    assert moment("2025-01-31") == 1_738_281_600.0
    assert moment("7d", now=1_000_000.0) == 1_000_000.0 - 7 * 86_400
