"""scout's HTTP API: the last scan's report."""

from __future__ import annotations

from fastapi import APIRouter, HTTPException

from services.scout.scanner import LATEST_SCAN
from services.scout.schemas import ScanReport
from shared.problems import problems
from shared.runtime import RuntimeDep

router = APIRouter(tags=["scout"])


@router.get("/scans/latest", responses=problems(404, 503))
async def latest_scan(runtime: RuntimeDep) -> ScanReport:
    raw = await runtime.redis.get(LATEST_SCAN)
    if raw is None:
        raise HTTPException(404, "no scan has completed yet")
    return ScanReport.model_validate_json(raw)
