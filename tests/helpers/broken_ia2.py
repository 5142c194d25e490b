"""ia2 with a deliberately broken consumer loop: every redelivered entry is dead-lettered instead of
being handled. The chaos verdict must catch it (tests/chaos/test_verdict.py); nothing else runs this.

Usage: python -m tests.helpers.broken_ia2 (settings from the environment, like ``python -m services.ia2``)
"""

from __future__ import annotations

from services.ia2.app import build_app
from services.ia2.settings import Ia2Settings
from shared.app import run_service
from shared.bus import StreamConsumer
from shared.messages import StreamFields

_handle = StreamConsumer._handle


async def _dead_letter_redeliveries(self: StreamConsumer, entry_id: str, fields: StreamFields, deliveries: int) -> None:  # type: ignore[type-arg]
    if deliveries > 1:
        await self._dead_letter(entry_id, fields, "broken on purpose: redelivered", deliveries)
        return
    await _handle(self, entry_id, fields, deliveries)


StreamConsumer._handle = _dead_letter_redeliveries  # type: ignore[method-assign]
run_service(Ia2Settings, build_app)
