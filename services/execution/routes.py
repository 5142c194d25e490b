"""execution's HTTP API: account, positions, orders, trades, equity curve, reconciliation findings, and
the kill switch.

Orders, trades (fills) and the equity curve are read from the journal (shared/journal/, docs/journal.md),
with paging and filters; account and positions are the live state in Redis.
"""

from __future__ import annotations

from fastapi import APIRouter

from services.execution.deps import LedgerDep, TraderDep
from services.execution.schemas import Account, Finding, KillSwitchOff, KillSwitchOn, KillSwitchRequest
from shared.auth import ADMIN
from shared.journal import queries
from shared.journal.web import UNAVAILABLE, FiltersDep, JournalDep, Limit, Offset, read
from shared.keys import KILL_SWITCH
from shared.problems import problems
from shared.trading_state import Order, Position, Trade, clear_flag, set_flag

router = APIRouter(tags=["execution"])


def _order(record: queries.OrderRecord) -> Order:
    return Order.model_validate(record.model_dump(exclude={"at", "realized_pnl"}) | {"created_at": record.at})


def _fill(record: queries.OrderRecord) -> Trade:
    return Trade.model_validate(record.model_dump(exclude={"status"}))


@router.get("/account", responses=problems(503))
async def account(ledger: LedgerDep, trader: TraderDep) -> Account:
    snapshot = await ledger.snapshot()
    return Account(
        mode=trader.venue.mode,
        book=ledger.keys.book,
        equity=snapshot.equity,
        cash=snapshot.account.cash,
        realized_pnl=snapshot.account.realized_pnl,
        fees=snapshot.account.fees,
        funding=snapshot.account.funding,
        peak_equity=snapshot.account.peak_equity,
        drawdown=snapshot.drawdown,
        daily_loss=snapshot.daily_loss,
        exposure=snapshot.exposure,
        open_positions=len(snapshot.positions),
        halt=snapshot.halt_reason,
        kill_switch=snapshot.kill_reason,
    )


@router.get("/positions", responses=problems(503))
async def positions(ledger: LedgerDep) -> list[Position]:
    return list((await ledger.snapshot()).positions.values())


@router.get("/orders", responses=UNAVAILABLE)
async def orders(journal: JournalDep, filters: FiltersDep, limit: Limit = 100, offset: Offset = 0) -> list[Order]:
    """Orders, newest first, filled and refused (from the journal)."""
    page = await read(queries.page(journal, "orders", filters, limit=limit, offset=offset))
    return [_order(record) for record in page.items]


@router.get("/trades", responses=UNAVAILABLE)
async def trades(journal: JournalDep, filters: FiltersDep, limit: Limit = 100, offset: Offset = 0) -> list[Trade]:
    """Fills (filled orders), newest first, from the journal; round trips with both fees and funding are
    the monitor's /api/history/trades."""
    page = await read(queries.page(journal, "orders", filters, limit=limit, offset=offset, status="filled"))
    return [_fill(record) for record in page.items]


@router.get("/equity", responses=UNAVAILABLE)
async def equity(journal: JournalDep, filters: FiltersDep, limit: Limit = 500, offset: Offset = 0) -> list[list[float]]:
    """The equity curve, oldest first, as ``[timestamp, equity]`` pairs: the latest ``limit`` points of the range."""
    page = await read(queries.page(journal, "equity", filters, limit=limit, offset=offset))
    # Declared as lists: FastAPI writes a tuple type as an OpenAPI 3.1 schema that is not valid.
    return [[point.at, point.equity] for point in reversed(page.items)]


@router.get("/reconciliation", responses=problems(422, 503))
async def reconciliation(ledger: LedgerDep, limit: Limit = 100) -> list[Finding]:
    """What reconciliation with the exchange found and fixed, newest first (live; empty on paper)."""
    return [Finding.model_validate(entry) for entry in await ledger.discrepancies(limit)]


@router.post("/kill-switch", dependencies=ADMIN, responses=problems(400, 401, 403, 422, 503))
async def kill_switch_on(ledger: LedgerDep, trader: TraderDep, body: KillSwitchRequest) -> KillSwitchOn:
    """No new orders at all; with ``flatten`` (the default) every position is closed and its orders cancelled."""
    newly = await set_flag(ledger.redis, KILL_SWITCH, body.reason)
    closed = await trader.flatten(f"kill switch: {body.reason}") if body.flatten else 0
    return KillSwitchOn(kill_switch="on", newly_set=newly, positions_closed=closed)


@router.delete("/kill-switch", dependencies=ADMIN, responses=problems(401, 403, 503))
async def kill_switch_off(ledger: LedgerDep) -> KillSwitchOff:
    return KillSwitchOff(kill_switch="off", was_set=await clear_flag(ledger.redis, KILL_SWITCH))
