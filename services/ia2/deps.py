"""What ia2's routes depend on, as typed FastAPI dependencies (shared/deps.py)."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends

from services.ia2.strategist import Strategist
from shared.deps import provided

StrategistDep = Annotated[Strategist, Depends(provided(Strategist))]
