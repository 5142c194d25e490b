"""ia2's HTTP API: the risk manager's state, and the operator's halt reset."""

from __future__ import annotations

from dataclasses import asdict

from fastapi import APIRouter

from services.ia2.deps import StrategistDep
from services.ia2.schemas import HaltReset, RiskLimits, RiskStatus
from shared.auth import ADMIN
from shared.keys import book_keys
from shared.problems import problems
from shared.runtime import RuntimeDep
from shared.trading_state import active_book, clear_flag, read_snapshot

router = APIRouter(prefix="/risk", tags=["risk"])


@router.get("/status", responses=problems(503))
async def status(runtime: RuntimeDep, strategist: StrategistDep) -> RiskStatus:
    snapshot = await read_snapshot(runtime.redis)
    return RiskStatus(
        halt=snapshot.halt_reason,
        kill_switch=snapshot.kill_reason,
        equity=snapshot.equity,
        drawdown=snapshot.drawdown,
        daily_loss=snapshot.daily_loss,
        open_positions=len(snapshot.positions),
        limits=RiskLimits.model_validate(asdict(strategist.manager.config)),
    )


@router.post("/halt/reset", dependencies=ADMIN, responses=problems(401, 403, 503))
async def reset_halt(runtime: RuntimeDep) -> HaltReset:
    keys = book_keys(await active_book(runtime.redis))
    return HaltReset(halt=None, book=keys.book, was_set=await clear_flag(runtime.redis, keys.halt))
