"""A stream consumer's publishes and acks, sent by batch: one pipeline of publishes, then one XACK.

Inside a consumer's handler, :class:`~shared.bus.Publisher` does not send at once: it holds the entry in
the handler's outbox (a context variable the consumer sets). When the handler returns, its outbox and
its entry join the batch of handlers that finished in the same moment (those of one read, when they do
not wait on I/O), and :class:`AckBatcher` sends the batch: one pipeline with every ``XADD``, in order,
then one ``XACK`` of the entries whose publishes were all written. So, as before, a handler's publishes
are written before its entry is acked; a failed handler is never acked (its outbox is dropped, and its
retry publishes again); an entry whose publish Redis refused stays pending alone; and a batch lost to a
Redis blip only means redeliveries, which handlers already expect (at-least-once, derived message ids).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable, Iterator
from contextvars import ContextVar
from dataclasses import dataclass, field

from redis.asyncio import Redis

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class HeldEntry:
    stream: str
    fields: dict[str, bytes | str]  # as shared.messages.encode makes them
    maxlen: int | None  # None: not trimmed (the journaled streams)


_OUTBOX: ContextVar[list[HeldEntry] | None] = ContextVar("outbox", default=None)


def current() -> list[HeldEntry] | None:
    """The running handler's outbox, or None outside a consumer's handler."""
    return _OUTBOX.get()


@contextlib.contextmanager
def holding() -> Iterator[list[HeldEntry]]:
    """Hold what the code inside publishes, instead of sending it."""
    outbox: list[HeldEntry] = []
    token = _OUTBOX.set(outbox)
    try:
        yield outbox
    finally:
        _OUTBOX.reset(token)


@dataclass(eq=False)
class _Done:
    entry_id: str
    outbox: list[HeldEntry]
    acked: asyncio.Future[bool] = field(default_factory=lambda: asyncio.get_running_loop().create_future())


class AckBatcher:
    """Collects finished handlers and sends their publishes and acks together."""

    def __init__(self, redis: Redis, stream: str, group: str, on_published: Callable[[str], None]) -> None:
        self._redis = redis
        self._stream = stream
        self._group = group
        self._on_published = on_published
        self._ready: list[_Done] = []
        self._flushing: asyncio.Task[None] | None = None

    async def ack(self, entry_id: str, outbox: list[HeldEntry]) -> bool:
        """Publish ``outbox``, then ack ``entry_id``, with the others ready; False when Redis failed."""
        done = _Done(entry_id, outbox)
        self._ready.append(done)
        if self._flushing is None:
            self._flushing = asyncio.create_task(self._flush_all(), name=f"acks:{self._stream}/{self._group}")
        return await asyncio.shield(done.acked)

    async def _flush_all(self) -> None:
        try:
            while self._ready:
                batch, self._ready = self._ready, []
                try:
                    written = await self._send(batch)
                except Exception as error:  # Redis away or refusing: nothing acked, all will come back
                    log.warning("publish or ack failed (%s); the entries will be redelivered", type(error).__name__)
                    written = []
                acked = {id(done) for done in written}
                for done in batch:
                    if not done.acked.done():
                        done.acked.set_result(id(done) in acked)
        finally:
            self._flushing = None

    async def _send(self, batch: list[_Done]) -> list[_Done]:
        """Publish every held entry, then ack the entries whose publishes were all written; those."""
        held = [(done, entry) for done in batch for entry in done.outbox]
        refused: set[int] = set()
        if held:
            async with self._redis.pipeline(transaction=False) as pipe:
                for _, entry in held:
                    pipe.xadd(entry.stream, entry.fields, maxlen=entry.maxlen, approximate=True)  # type: ignore[arg-type]
                results = await pipe.execute(raise_on_error=False)
            for (done, entry), result in zip(held, results, strict=True):
                if isinstance(result, Exception):
                    refused.add(id(done))
                    log.warning("publish refused (%s); the entry stays pending", str(result)[:200])
                else:
                    self._on_published(entry.stream)
        written = [done for done in batch if id(done) not in refused]
        if written:
            await self._redis.xack(self._stream, self._group, *(done.entry_id for done in written))
        return written
