"""Retention, run hourly by the scheduler: what the journal stops keeping, and the streams it trims.

- Analyses and rejected decisions older than ``retention_analyses_days`` are counted per UTC day, symbol and
  signal (or setup) into ``daily_rollups``, then removed, one day per transaction: a job cut short leaves
  every row either counted and removed or untouched, and a late row is added to its day's counts later.
- Orders, trades, equity points, events and the decisions that opened trades are kept.
- On PostgreSQL, partitions are made ahead and months left empty by the removal are dropped.
- Journaled streams lose the entries that the journal (and the notifier) handled and that are older than
  ``retention_streams_hours`` (streams.py); an entry not yet stored is never trimmed.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from redis.asyncio import Redis
from sqlalchemy import ColumnElement, Table, delete, func, select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from services.journal.streams import trim_handled
from shared import keys
from shared.journal.models import AnalysisRow, DailyRollupRow, DecisionRow
from shared.journal.partitions import drop_empty_before, ensure_partitions

log = logging.getLogger(__name__)
DAY_S = 86_400


@dataclass(frozen=True)
class Rollup:
    """One kind of row retention counts then removes."""

    kind: str
    table: Table
    label: str  # the column the counts are kept by, beside day and symbol
    only: tuple[ColumnElement[bool], ...] = ()


ANALYSES: Table = AnalysisRow.__table__  # type: ignore[assignment]
DECISIONS: Table = DecisionRow.__table__  # type: ignore[assignment]
ROLLUPS = (
    Rollup("analysis", ANALYSES, "signal"),
    Rollup("rejection", DECISIONS, "signal_kind", (DECISIONS.c.action == "reject",)),
)


@dataclass
class RetentionReport:
    removed: dict[str, int] = field(default_factory=dict)
    trimmed: dict[str, int] = field(default_factory=dict)
    partitions_created: list[str] = field(default_factory=list)
    partitions_dropped: list[str] = field(default_factory=list)


def _day(at: float) -> tuple[str, float]:
    start = datetime.fromtimestamp(at, UTC).replace(hour=0, minute=0, second=0, microsecond=0)
    return start.strftime("%Y-%m-%d"), start.timestamp()


async def _add_to_rollups(connection: AsyncConnection, rollup: Rollup, day: str, removed: Sequence[Any]) -> None:
    counts: dict[tuple[str, str], tuple[int, float]] = {}
    for symbol, label, confidence in removed:
        count, total = counts.get((symbol, label or "-"), (0, 0.0))
        counts[(symbol, label or "-")] = (count + 1, total + confidence)
    dialect = postgresql if connection.dialect.name == "postgresql" else sqlite
    for (symbol, label), (count, confidence) in counts.items():
        statement = dialect.insert(DailyRollupRow.__table__).values(
            day=day, kind=rollup.kind, symbol=symbol, label=label[:64], count=count, confidence_sum=confidence
        )
        statement = statement.on_conflict_do_update(
            index_elements=["day", "kind", "symbol", "label"],
            set_={
                "count": DailyRollupRow.count + statement.excluded.count,
                "confidence_sum": DailyRollupRow.confidence_sum + statement.excluded.confidence_sum,
            },
        )
        await connection.execute(statement)


async def roll_up(engine: AsyncEngine, rollup: Rollup, cutoff: float) -> int:
    """Remove ``rollup``'s rows older than ``cutoff``, a day per transaction, and count what was removed.

    The counts come from the rows the DELETE itself returned: two runs at once (a manual one beside the
    cron's) cannot both count a row, since only one of them deletes it."""
    columns = rollup.table.c
    at = columns.at
    removed = 0
    while True:
        async with engine.begin() as connection:
            first = await connection.scalar(select(func.min(at)).where(at < cutoff, *rollup.only))
            if first is None:
                return removed
            day, start = _day(first)
            window = (at >= start) & (at < min(start + DAY_S, cutoff))
            deleted = await connection.execute(
                delete(rollup.table)
                .where(window, *rollup.only)
                .returning(columns.symbol, columns[rollup.label], columns.confidence)
            )
            rows = deleted.all()
            await _add_to_rollups(connection, rollup, day, rows)
            removed += len(rows)


async def run_retention(
    engine: AsyncEngine, redis: Redis, *, analyses_days: float, streams_hours: float, now: float | None = None
) -> RetentionReport:
    now = time.time() if now is None else now
    cutoff = now - analyses_days * DAY_S
    report = RetentionReport()
    for stream in sorted(keys.JOURNALED_STREAMS):
        report.trimmed[stream] = await trim_handled(redis, stream, older_than_s=streams_hours * 3600, now=now)
    for rollup in ROLLUPS:
        report.removed[rollup.table.name] = await roll_up(engine, rollup, cutoff)
    async with engine.begin() as connection:
        report.partitions_created = await ensure_partitions(connection, now)
        for rollup in ROLLUPS:
            report.partitions_dropped += await drop_empty_before(connection, rollup.table.name, cutoff)
    log.info(
        "retention done",
        extra={
            "removed": str(report.removed),
            "trimmed": str(report.trimmed),
            "dropped": len(report.partitions_dropped),
        },
    )
    return report
