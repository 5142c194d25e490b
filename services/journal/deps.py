"""What the journal service's routes depend on, as typed FastAPI dependencies (shared/deps.py)."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends

from services.journal.notifier import Notifier
from services.journal.store import JournalStore
from services.journal.streams import LagWatcher
from shared.deps import provided

StoreDep = Annotated[JournalStore, Depends(provided(JournalStore))]
NotifierDep = Annotated[Notifier, Depends(provided(Notifier))]
LagDep = Annotated[LagWatcher, Depends(provided(LagWatcher))]
