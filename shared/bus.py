"""Publishing to streams and the one consumer loop every service uses.

Delivery is at-least-once through a Redis consumer group:

- the group is created idempotently (``MKSTREAM``) and created again when Redis comes back empty
  (a restart without persistence answers ``NOGROUP``);
- an entry is acked only after its handler returns; a handler error leaves it pending, and it is
  retried when reclaimed;
- entries pending longer than ``claim_idle_ms`` (their consumer died, or their handler failed) are
  taken over with ``XAUTOCLAIM``;
- an entry delivered more than ``max_deliveries`` times, one that cannot be decoded, or one whose
  handler raised a permanent error (bad request, unknown symbol: retrying cannot help) goes to the
  dead-letter stream with the reason, atomically with its ack;
- the loop survives any Redis error (down, out of memory, read-only...) with backoff, and says through
  ``alive()`` when it died or is stuck, so ``/livez`` lets an orchestrator restart the process;
- at most ``concurrency`` handlers run at once and never more entries are read than can start;
- on stop, in-flight handlers get ``shutdown_grace_s`` to finish; the ones cut short are handed back
  (their idle time is set past the reclaim threshold, so another consumer takes them at once).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import socket
import time
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Generic

import orjson
from prometheus_client import Counter, Gauge, Histogram
from redis.asyncio import Redis
from redis.exceptions import ResponseError

from shared import keys, metrics, outbox
from shared.errors import BadRequestError, MessageError, PermanentExchangeError
from shared.messages import M, StreamFields, StreamMessage, decode, encode
from shared.redis_client import RETRYABLE_ERRORS
from shared.settings import ServiceSettings

log = logging.getLogger(__name__)

MESSAGES = Counter(
    metrics.name("stream_messages_total"),
    "Stream entries handled, by outcome (ok, error, deadletter)",
    ["stream", "group", "outcome"],
)
HANDLER_SECONDS = Histogram(
    metrics.name("stream_handler_duration_seconds"),
    "Time spent in a stream handler",
    ["stream", "group"],
    buckets=metrics.LATENCY_BUCKETS,
)
PUBLISHED = Counter(metrics.name("stream_published_total"), "Entries published", ["stream"])
RECLAIMED = Counter(
    metrics.name("stream_reclaimed_total"), "Entries taken over from idle consumers", ["stream", "group"]
)
PENDING = Gauge(metrics.name("stream_pending_entries"), "Entries delivered but not acked", ["stream", "group"])
LAG = Gauge(metrics.name("stream_consumer_lag_entries"), "Entries not yet delivered to the group", ["stream", "group"])
REDIS_ERRORS = Counter(
    metrics.name("stream_redis_errors_total"), "Redis errors in the consumer loop", ["stream", "group"]
)

LAST_ERROR_TTL_S = 24 * 3600
MAX_BACKOFF_S = 5.0
STUCK_AFTER_S = 120.0  # no loop iteration for this long: the loop is stuck (each one is bounded by timeouts)
# Errors a retry cannot mend: the entry is dead-lettered at once, with the reason.
PERMANENT_ERRORS: tuple[type[Exception], ...] = (BadRequestError, PermanentExchangeError)


@dataclass(frozen=True)
class Delivery:
    """Where a message came from; handlers use ``entry_id`` and ``deliveries`` for logging and idempotency."""

    stream: str
    group: str
    entry_id: str
    deliveries: int


@dataclass(frozen=True)
class ConsumerConfig:
    batch_size: int = 32
    concurrency: int = 16
    block_ms: int = 1_000
    claim_idle_ms: int = 30_000
    claim_interval_s: float = 1.0
    max_deliveries: int = 5
    shutdown_grace_s: float = 10.0
    start_id: str = "0"
    deadletter_stream: str = keys.STREAM_DEADLETTER
    deadletter_maxlen: int = 100_000

    @classmethod
    def from_settings(cls, settings: ServiceSettings, **overrides: object) -> ConsumerConfig:
        values: dict[str, object] = {
            "batch_size": settings.stream_batch_size,
            "concurrency": settings.stream_concurrency,
            "block_ms": settings.stream_block_ms,
            "claim_idle_ms": settings.stream_claim_idle_ms,
            "claim_interval_s": min(5.0, max(0.05, settings.stream_claim_idle_ms / 4000)),
            "max_deliveries": settings.stream_max_deliveries,
            "shutdown_grace_s": settings.stream_shutdown_grace_s,
            "deadletter_maxlen": settings.stream_maxlen,
        }
        values.update(overrides)
        return cls(**values)  # type: ignore[arg-type]


_published_children: dict[str, Counter] = {}


def count_published(stream: str) -> None:
    child = _published_children.get(stream)
    if child is None:
        child = _published_children[stream] = PUBLISHED.labels(stream)
    child.inc()


class Publisher:
    """Adds messages to streams, trimming each to about ``maxlen`` entries, except the journaled ones: the
    journal service trims those below what it has stored, so a length cap never drops an unstored entry.

    Inside a consumer's handler, the entry is held and sent with the handler's ack (see
    :mod:`shared.outbox`); its id is not known yet then, and ``""`` is returned.
    """

    def __init__(self, redis: Redis, *, maxlen: int) -> None:
        self._redis = redis
        self._maxlen = maxlen

    async def publish(self, stream: str, message: StreamMessage) -> str:
        maxlen = None if stream in keys.JOURNALED_STREAMS else self._maxlen
        held = outbox.current()
        if held is not None:
            held.append(outbox.HeldEntry(stream, encode(message), maxlen))
            return ""
        entry_id = await self._redis.xadd(stream, encode(message), maxlen=maxlen, approximate=True)  # type: ignore[arg-type]
        count_published(stream)
        return entry_id.decode() if isinstance(entry_id, bytes) else str(entry_id)


Handler = Callable[[M, Delivery], Awaitable[None]]


def consumer_name(service: str) -> str:
    """Unique per process: a restarted process must not inherit a dead one's pending entries silently."""
    return f"{service}-{socket.gethostname()}-{os.getpid()}-{uuid.uuid4().hex[:6]}"


def _last_error_key(stream: str, group: str) -> str:
    return f"{stream}:{group}:last-error"


class StreamConsumer(Generic[M]):
    """Runs ``handler`` for every message of ``model`` on ``stream``, as part of consumer group ``group``."""

    def __init__(
        self,
        redis: Redis,
        *,
        stream: str,
        group: str,
        model: type[M],
        handler: Handler[M],
        config: ConsumerConfig | None = None,
        consumer: str | None = None,
    ) -> None:
        self._redis = redis
        self.stream = stream
        self.group = group
        self._model = model
        self._handler = handler
        self.config = config or ConsumerConfig()
        self.consumer = consumer or consumer_name(group)
        self.name = f"consumer[{stream}/{group}]"
        self._stopping = asyncio.Event()
        self._loop_task: asyncio.Task[None] | None = None
        self._inflight: dict[asyncio.Task[None], str] = {}
        self._next_claim = 0.0
        self._beat = time.monotonic()  # last loop iteration, for liveness
        self._labels = (stream, group)
        # Every series exists at zero from now, so dashboards and alerts see them before the first event;
        # the per-message ones are looked up once (a labels() lookup per message cost as much as the ack).
        self._outcomes = {outcome: MESSAGES.labels(stream, group, outcome) for outcome in ("ok", "error", "deadletter")}
        for metric in (RECLAIMED, PENDING, LAG, REDIS_ERRORS):
            metric.labels(stream, group)
        self._handler_seconds = HANDLER_SECONDS.labels(stream, group)
        self._acks = outbox.AckBatcher(redis, stream, group, count_published)

    # -- lifecycle -------------------------------------------------------------------------------

    async def start(self) -> None:
        await self._ensure_group_quietly()
        self._stopping.clear()
        self._loop_task = asyncio.create_task(self.run(), name=self.name)

    async def stop(self) -> None:
        self._stopping.set()
        if self._loop_task is not None:
            await self._loop_task
            self._loop_task = None

    def alive(self) -> str | None:
        """None while the loop runs; why not once it died, or when it has not come round for too long."""
        task = self._loop_task
        if task is not None and task.done() and not task.cancelled() and task.exception() is not None:
            return f"consumer loop died: {type(task.exception()).__name__}: {task.exception()}"
        if task is not None and not task.done() and time.monotonic() - self._beat > STUCK_AFTER_S:
            return f"consumer loop stuck for {time.monotonic() - self._beat:.0f} s"
        return None

    async def ready(self) -> str | None:
        if self._loop_task is None or self._loop_task.done():
            return "consumer loop not running"
        try:
            groups = await self._redis.xinfo_groups(self.stream)
        except ResponseError:
            return f"stream {self.stream} missing"
        names = {g["name"].decode() if isinstance(g["name"], bytes) else g["name"] for g in groups}
        return None if self.group in names else f"group {self.group} missing on {self.stream}"

    async def run(self) -> None:
        """The loop: reclaim idle entries now and then, read new ones, hand them to workers."""
        backoff = 0.05
        while not self._stopping.is_set():
            self._beat = time.monotonic()
            try:
                await self._step()
                backoff = 0.05
                continue
            except ResponseError as error:
                if "NOGROUP" in str(error):
                    log.warning("consumer group missing, creating it again", extra={"stream": self.stream})
                    with contextlib.suppress(Exception):  # if that fails too, the next round tries again
                        await self._ensure_group()
                        continue
                failure: Exception = error
            except Exception as error:  # Redis down, out of memory, read-only...: wait, then go on
                failure = error
            REDIS_ERRORS.labels(*self._labels).inc()
            log.warning(
                "consumer loop error, retrying: %s: %s",
                type(failure).__name__,
                str(failure)[:200],
                extra={"stream": self.stream},
            )
            await self._sleep_unless_stopping(backoff)
            backoff = min(MAX_BACKOFF_S, backoff * 2)
        await self._drain()

    # -- one iteration -----------------------------------------------------------------------------

    async def _step(self) -> None:
        free = self.config.concurrency - len(self._inflight)
        if free <= 0:
            await asyncio.wait(
                list(self._inflight), timeout=self.config.block_ms / 1000, return_when=asyncio.FIRST_COMPLETED
            )
            return
        if time.monotonic() >= self._next_claim:
            self._next_claim = time.monotonic() + self.config.claim_interval_s
            if await self._reclaim(free):
                return
        response = await self._redis.xreadgroup(
            self.group,
            self.consumer,
            {self.stream: ">"},
            count=min(free, self.config.batch_size),
            block=self.config.block_ms,
        )
        for _stream, entries in response or []:
            for entry_id, fields in entries:
                self._spawn(entry_id.decode(), fields, deliveries=1)

    async def _reclaim(self, free: int) -> int:
        """Take over entries idle past the threshold; dead-letter those delivered too often."""
        await self._keep_inflight_fresh()
        _next_id, entries, *_ = await self._redis.xautoclaim(
            self.stream, self.group, self.consumer, self.config.claim_idle_ms, start_id="0-0", count=free
        )
        await self._refresh_gauges()
        handling = set(self._inflight.values())
        live = [(eid.decode(), fields) for eid, fields in entries if fields is not None]
        live = [(eid, fields) for eid, fields in live if eid not in handling]  # never a second handler here
        if not live:
            return 0
        RECLAIMED.labels(*self._labels).inc(len(live))
        counts = await self._delivery_counts([eid for eid, _ in live])
        for entry_id, fields in live:
            deliveries = counts.get(entry_id, 1)
            if deliveries > self.config.max_deliveries:
                last_error: bytes | None = await self._redis.hget(  # type: ignore[misc]
                    _last_error_key(self.stream, self.group), entry_id
                )
                reason = f"delivered {deliveries} times; last error: {(last_error or b'unknown').decode()}"
                await self._dead_letter(entry_id, fields, reason, deliveries)
            else:
                self._spawn(entry_id, fields, deliveries)
        return len(live)

    async def _keep_inflight_fresh(self) -> None:
        """A handler that runs longer than the claim threshold (waiting out a lease, a slow exchange) is
        not a dead consumer's: reset its entries' idle time (XCLAIM JUSTID, which does not count a
        delivery), so no consumer takes them over while they are handled and none is dead-lettered for
        having been "delivered" many times."""
        if not self._inflight:
            return
        ids: list[int | bytes | str | memoryview] = list(set(self._inflight.values()))
        await self._redis.xclaim(self.stream, self.group, self.consumer, 0, ids, justid=True)

    async def _delivery_counts(self, entry_ids: list[str]) -> dict[str, int]:
        rows = await self._redis.xpending_range(
            self.stream,
            self.group,
            min=entry_ids[0],
            max=entry_ids[-1],
            count=len(entry_ids) * 4,
            consumername=self.consumer,
        )
        return {
            (row["message_id"].decode() if isinstance(row["message_id"], bytes) else row["message_id"]): int(
                row["times_delivered"]
            )
            for row in rows
        }

    async def _refresh_gauges(self) -> None:
        for group in await self._redis.xinfo_groups(self.stream):
            name = group["name"].decode() if isinstance(group["name"], bytes) else group["name"]
            if name == self.group:
                PENDING.labels(*self._labels).set(group.get("pending") or 0)
                LAG.labels(*self._labels).set(group.get("lag") or 0)

    # -- handling one entry ------------------------------------------------------------------------

    def _spawn(self, entry_id: str, fields: StreamFields, deliveries: int) -> None:
        task = asyncio.create_task(self._handle(entry_id, fields, deliveries))
        self._inflight[task] = entry_id
        task.add_done_callback(self._inflight.pop)

    async def _handle(self, entry_id: str, fields: StreamFields, deliveries: int) -> None:
        try:
            message = decode(fields, self._model)
        except MessageError as error:
            await self._dead_letter_quietly(entry_id, fields, f"malformed: {error}", deliveries)
            return
        started = time.perf_counter()
        try:
            with outbox.holding() as held:  # what the handler publishes is sent with its ack
                await self._handler(message, Delivery(self.stream, self.group, entry_id, deliveries))
        except PERMANENT_ERRORS as error:
            await self._dead_letter_quietly(entry_id, fields, f"permanent: {type(error).__name__}: {error}", deliveries)
            return
        except Exception as error:
            # Left pending on purpose (its publishes dropped): it is retried when reclaimed, and
            # dead-lettered past max_deliveries.
            self._outcomes["error"].inc()
            log.exception(
                "handler failed", extra={"stream": self.stream, "entry_id": entry_id, "deliveries": deliveries}
            )
            await self._remember_error(entry_id, error)
            return
        finally:
            self._handler_seconds.observe(time.perf_counter() - started)
        # An ack lost to a Redis blip only means a redelivery later; handlers are idempotent.
        if await self._acks.ack(entry_id, held):
            self._outcomes["ok"].inc()

    async def _remember_error(self, entry_id: str, error: Exception) -> None:
        key = _last_error_key(self.stream, self.group)
        try:
            async with self._redis.pipeline(transaction=False) as pipe:
                pipe.hset(key, entry_id, f"{type(error).__name__}: {error}"[:500])
                pipe.expire(key, LAST_ERROR_TTL_S)
                await pipe.execute()
        except RETRYABLE_ERRORS:
            pass

    async def _dead_letter_quietly(self, entry_id: str, fields: StreamFields, reason: str, deliveries: int) -> None:
        """Dead-letter from a handler task: when Redis refuses, the entry stays pending and comes back."""
        try:
            await self._dead_letter(entry_id, fields, reason, deliveries)
        except Exception as error:
            REDIS_ERRORS.labels(*self._labels).inc()
            log.warning("could not dead-letter, the entry stays pending: %s", type(error).__name__)

    async def _dead_letter(self, entry_id: str, fields: StreamFields, reason: str, deliveries: int) -> None:
        record: dict[str, bytes | str] = {
            "stream": self.stream,
            "group": self.group,
            "entry_id": entry_id,
            "reason": reason[:2000],
            "deliveries": str(deliveries),
            "failed_at": str(time.time()),
            "fields": orjson.dumps({k.decode(errors="replace"): v.decode(errors="replace") for k, v in fields.items()}),
        }
        # Dead-letter and ack in one transaction: the entry is never both lost and acked, nor copied twice.
        async with self._redis.pipeline(transaction=True) as pipe:
            pipe.xadd(self.config.deadletter_stream, record, maxlen=self.config.deadletter_maxlen, approximate=True)  # type: ignore[arg-type]
            pipe.xack(self.stream, self.group, entry_id)
            pipe.hdel(_last_error_key(self.stream, self.group), entry_id)
            await pipe.execute()
        self._outcomes["deadletter"].inc()
        log.warning("entry dead-lettered", extra={"stream": self.stream, "entry_id": entry_id, "reason": reason[:300]})

    # -- groups and shutdown -------------------------------------------------------------------------

    async def _ensure_group(self) -> None:
        try:
            await self._redis.xgroup_create(self.stream, self.group, id=self.config.start_id, mkstream=True)
        except ResponseError as error:
            if "BUSYGROUP" not in str(error):
                raise

    async def _ensure_group_quietly(self) -> None:
        # Start even when Redis is down or refuses writes; the loop keeps trying and readiness says why.
        try:
            await self._ensure_group()
        except Exception as error:
            log.warning("cannot create the group yet (%s); the consumer will retry", type(error).__name__)

    async def _sleep_unless_stopping(self, seconds: float) -> None:
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self._stopping.wait(), seconds)

    async def _drain(self) -> None:
        if not self._inflight:
            return
        _done, cut_short = await asyncio.wait(list(self._inflight), timeout=self.config.shutdown_grace_s)
        if not cut_short:
            return
        returned = [self._inflight[task] for task in cut_short]
        for task in cut_short:
            task.cancel()
        await asyncio.gather(*cut_short, return_exceptions=True)
        # Setting their idle time past the threshold lets any other consumer reclaim them right away.
        with contextlib.suppress(*RETRYABLE_ERRORS):
            idle_ms = self.config.claim_idle_ms + 1
            ids: list[int | bytes | str | memoryview] = list(returned)
            await self._redis.xclaim(self.stream, self.group, self.consumer, 0, ids, idle=idle_ms, justid=True)
        log.warning("handed back in-flight entries at shutdown", extra={"stream": self.stream, "count": len(returned)})
