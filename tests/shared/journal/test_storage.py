"""The journal's storage on SQLite and on a real PostgreSQL: migrations, idempotent writes, trades from
their legs in any order, funding, paging and filters, exports, and PostgreSQL's monthly partitions."""

from __future__ import annotations

import csv
import io
import json

import pytest
from sqlalchemy import func, select, text
from sqlalchemy.ext.asyncio import AsyncEngine

from shared.journal import recorder
from shared.journal.database import migrate
from shared.journal.export import chunks
from shared.journal.models import AnalysisRow, EquityPointRow, EventRow, OrderRow, TradeRow
from shared.journal.partitions import drop_empty_before, ensure_month, ensure_partitions, month_bounds
from shared.journal.queries import Filters, page
from tests.helpers.journal import SYMBOL, analysis, decision, equity, fill, funding

JAN_2025 = month_bounds(2025, 1)


async def count(engine: AsyncEngine, table: type) -> int:
    async with engine.connect() as connection:
        return int(await connection.scalar(select(func.count()).select_from(table)) or 0)


async def write(engine: AsyncEngine, record: object, *messages: object) -> list[bool]:
    async with engine.begin() as connection:
        return [await record(connection, message) for message in messages]  # type: ignore[operator]


async def test_migrating_twice_changes_nothing(journal: AsyncEngine) -> None:
    await migrate(journal)
    async with journal.connect() as connection:
        assert await connection.scalar(text("SELECT version_num FROM alembic_version")) == "0001"
    assert await count(journal, OrderRow) == 0


async def test_a_message_written_twice_is_stored_once(journal: AsyncEngine) -> None:
    first = analysis()
    remade = first.model_copy(update={"created_at": first.created_at + 5})  # ia1 made it again on redelivery
    assert await write(journal, recorder.record_analysis, first, first, remade) == [True, False, False]
    assert await write(journal, recorder.record_decision, decision(), decision()) == [True, True]  # two ids
    same = decision()
    assert await write(journal, recorder.record_decision, same, same) == [True, False]
    event = funding("d1", -0.5)
    assert await write(journal, recorder.record_event, event, event) == [True, False]
    point = equity(10_000, 1_700_000_000)
    assert await write(journal, recorder.record_event, point, point) == [True, False]
    assert (await count(journal, AnalysisRow), await count(journal, EventRow)) == (1, 1)
    assert await count(journal, EquityPointRow) == 1


async def test_trade_legs_in_any_order_with_fees_and_funding(journal: AsyncEngine) -> None:
    close, open_ = fill("d1", "close"), fill("d1", "open")
    await write(journal, recorder.record_event, funding("d1", -0.25))  # funding may even come first
    assert await write(journal, recorder.record_execution, close, open_, close, open_) == [True, True, False, False]
    await write(journal, recorder.record_event, funding("d1", -0.25))
    [trade] = (await page(journal, "trades", Filters())).items
    assert (trade.entry_price, trade.exit_price, trade.close_reason) == (100.0, 90.0, "stop-loss")
    assert (trade.entry_fee, trade.exit_fee, trade.funding) == (0.1, 0.09, -0.5)
    assert trade.net_pnl == pytest.approx(-10 - 0.19 - 0.5)
    assert trade.status == "closed"
    assert await count(journal, OrderRow) == 2


async def test_refused_orders_are_orders_not_trades(journal: AsyncEngine) -> None:
    await write(journal, recorder.record_execution, fill("d2", status="rejected", price=0, fee=0, reason="cap"))
    assert (await count(journal, OrderRow), await count(journal, TradeRow)) == (1, 0)


async def test_pages_are_newest_first_and_filters_narrow_them(journal: AsyncEngine) -> None:
    other = "ETH/USDT:USDT"
    fills = [fill(f"d{i}", created_at=1_000.0 + i, symbol=SYMBOL if i % 2 else other) for i in range(10)]
    fills.append(fill("live1", created_at=2_000.0, mode="live"))
    await write(journal, recorder.record_execution, *fills)

    first = await page(journal, "orders", Filters(), limit=4)
    assert [o.at for o in first.items] == [2_000.0, 1_009.0, 1_008.0, 1_007.0] and first.next_offset == 4
    rest = await page(journal, "orders", Filters(), limit=100, offset=4)
    assert len(rest.items) == 7 and rest.next_offset is None
    assert {o.symbol for o in (await page(journal, "orders", Filters(symbol=other))).items} == {other}
    assert [o.decision_id for o in (await page(journal, "orders", Filters(mode="live"))).items] == ["live1"]
    window = await page(journal, "orders", Filters(since=1_002.0, until=1_005.0))
    assert sorted(o.at for o in window.items) == [1_002.0, 1_003.0, 1_004.0]
    assert len((await page(journal, "trades", Filters(symbol=SYMBOL, mode="paper"))).items) == 5


async def test_exports_list_every_row_oldest_first_with_iso_times(journal: AsyncEngine) -> None:
    legs = [
        fill(f"d{i}", kind, created_at=1_700_000_000.0 + 10 * i + (kind == "close"))
        for i in range(3)
        for kind in ("open", "close")
    ]
    await write(journal, recorder.record_execution, *legs)
    text_csv = "".join([c async for c in chunks(journal, "trades", Filters(), "csv")])
    rows = list(csv.DictReader(io.StringIO(text_csv)))
    assert [r["decision_id"] for r in rows] == ["d0", "d1", "d2"]
    assert rows[0]["opened_at"] == "2023-11-14T22:13:20.000Z"
    assert {(r["entry_fee"], r["exit_fee"], r["net_pnl"]) for r in rows} == {("0.1", "0.09", "-10.19")}
    orders = json.loads("".join([c async for c in chunks(journal, "orders", Filters(since=1_700_000_010), "json")]))
    assert [o["client_order_id"] for o in orders] == ["tpod1", "tpcd1", "tpod2", "tpcd2"]
    empty = "".join([c async for c in chunks(journal, "equity", Filters(), "json")])
    assert json.loads(empty) == []


async def partitions(engine: AsyncEngine, table: str) -> list[str]:
    async with engine.connect() as connection:
        rows = await connection.execute(
            text(
                "SELECT c.relname FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid "
                "WHERE i.inhparent = to_regclass(:t)"
            ),
            {"t": table},
        )
        return sorted(name for (name,) in rows)


@pytest.mark.parametrize("database_url", ["postgresql"], indirect=True)
async def test_monthly_partitions_are_made_ahead_and_take_stranded_rows(journal: AsyncEngine) -> None:
    async with journal.begin() as connection:
        created = await ensure_partitions(connection, JAN_2025[0] + 86_400 * 40)  # mid-February 2025
    assert "analyses_p202501" in created and "equity_points_p202504" in created
    assert await partitions(journal, "analyses") == [
        "analyses_default",
        "analyses_p202501",
        "analyses_p202502",
        "analyses_p202503",
        "analyses_p202504",
    ]
    # A row from a month with no partition lands in the default one; making that month moves it there.
    await write(journal, recorder.record_analysis, analysis(opportunity_created_at=month_bounds(2024, 6)[0] + 5))
    async with journal.begin() as connection:
        assert await ensure_month(connection, "analyses", 2024, 6)
    async with journal.connect() as connection:
        assert await connection.scalar(text("SELECT count(*) FROM analyses_p202406")) == 1
        assert await connection.scalar(text("SELECT count(*) FROM analyses_default")) == 0
    # Retention drops a month once it is wholly older than the cutoff and empty; never one holding rows.
    async with journal.begin() as connection:
        dropped = await drop_empty_before(connection, "analyses", month_bounds(2025, 3)[0])
    assert dropped == ["analyses_p202501", "analyses_p202502"]
    assert "analyses_p202406" in await partitions(journal, "analyses")
