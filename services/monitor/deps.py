"""What monitor's routes depend on, as typed FastAPI dependencies (shared/deps.py)."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends

from services.monitor.feed import FeedHub
from services.monitor.figures import HistorySampler, Sources
from services.monitor.history import History
from services.monitor.performance import PerfGuard
from services.monitor.settings import MonitorSettings
from shared.deps import provided

SettingsDep = Annotated[MonitorSettings, Depends(provided(MonitorSettings))]
SourcesDep = Annotated[Sources, Depends(provided(Sources))]
HistoryDep = Annotated[History, Depends(provided(History))]
SamplerDep = Annotated[HistorySampler, Depends(provided(HistorySampler))]
HubDep = Annotated[FeedHub, Depends(provided(FeedHub))]
PerfGuardDep = Annotated[PerfGuard, Depends(provided(PerfGuard))]
