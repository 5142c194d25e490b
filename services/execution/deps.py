"""What execution's routes depend on, as typed FastAPI dependencies (shared/deps.py)."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends

from services.execution.ledger import Ledger
from services.execution.trader import Trader
from shared.deps import provided

LedgerDep = Annotated[Ledger, Depends(provided(Ledger))]
TraderDep = Annotated[Trader, Depends(provided(Trader))]
