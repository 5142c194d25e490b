"""The journal's consumers: one group ("journal") on each journaled stream, writing every message through
the store. An entry is acked only after its transaction committed; the recorder's upserts make a second
delivery (after a kill -9 between commit and ack) write nothing new.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

from prometheus_client import Counter
from sqlalchemy.ext.asyncio import AsyncConnection

from services.journal.store import JournalStore
from shared import keys, metrics
from shared.bus import Delivery, Handler
from shared.contracts import AccountEvent, Analysis, Decision, Execution
from shared.journal import recorder
from shared.messages import StreamMessage
from shared.runtime import Runtime

GROUP = "journal"
WRITES = Counter(
    metrics.name("journal_writes_total"),
    "Messages written to the journal, by stream and outcome",
    ["stream", "outcome"],
)

Recorder = Callable[[AsyncConnection, Any], Awaitable[bool]]
STREAMS: dict[str, tuple[type[StreamMessage], Recorder]] = {
    keys.STREAM_ANALYSES: (Analysis, recorder.record_analysis),
    keys.STREAM_DECISIONS: (Decision, recorder.record_decision),
    keys.STREAM_EXECUTIONS: (Execution, recorder.record_execution),
    keys.STREAM_EVENTS: (AccountEvent, recorder.record_event),
}


def handler(store: JournalStore, stream: str, record: Recorder) -> Handler[Any]:
    for outcome in ("inserted", "duplicate"):
        WRITES.labels(stream, outcome)

    async def handle(message: StreamMessage, delivery: Delivery) -> None:
        inserted = await store.write(record, message)
        WRITES.labels(stream, "inserted" if inserted else "duplicate").inc()

    return handle


def add_journal_consumers(runtime: Runtime, store: JournalStore, *, max_deliveries: int) -> None:
    for stream, (model, record) in STREAMS.items():
        runtime.consume(stream, GROUP, model, handler(store, stream, record), max_deliveries=max_deliveries)
