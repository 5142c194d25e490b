"""Exports of the journal for accounting and tax: trades, orders or equity points as CSV or JSON, oldest
first, streamed in chunks (the export endpoint and ``tradepipe export`` both use these).

Times (every ``*_at`` field) are written as ISO 8601 in UTC with milliseconds, e.g. ``2025-03-01T12:00:00.000Z``.
"""

from __future__ import annotations

import csv
import io
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from typing import Any, Literal

import orjson
from sqlalchemy.ext.asyncio import AsyncEngine

from shared.journal.queries import TABLES, Filters, stream

ExportKind = Literal["trades", "orders", "equity"]
ExportFormat = Literal["csv", "json"]
EXPORT_KINDS: tuple[ExportKind, ...] = ("trades", "orders", "equity")
MEDIA_TYPES: dict[ExportFormat, str] = {"csv": "text/csv", "json": "application/json"}
ROWS_PER_CHUNK = 200


def iso(at: float | None) -> str | None:
    if at is None:
        return None
    return datetime.fromtimestamp(at, UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def flat(record: dict[str, Any]) -> dict[str, Any]:
    return {k: iso(v) if k.endswith("_at") or k == "at" else v for k, v in record.items()}


def columns(kind: ExportKind) -> list[str]:
    record = TABLES[kind].record
    return [*record.model_fields, *record.model_computed_fields]


async def _records(engine: AsyncEngine, kind: ExportKind, filters: Filters) -> AsyncIterator[dict[str, Any]]:
    async for record in stream(engine, kind, filters):
        yield flat(record.model_dump())


async def csv_chunks(engine: AsyncEngine, kind: ExportKind, filters: Filters) -> AsyncIterator[str]:
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=columns(kind), extrasaction="ignore", lineterminator="\n")
    writer.writeheader()
    count = 0
    async for record in _records(engine, kind, filters):
        writer.writerow({k: orjson.dumps(v).decode() if isinstance(v, dict | list) else v for k, v in record.items()})
        count += 1
        if count % ROWS_PER_CHUNK == 0:
            yield buffer.getvalue()
            buffer.seek(0)
            buffer.truncate()
    yield buffer.getvalue()


async def json_chunks(engine: AsyncEngine, kind: ExportKind, filters: Filters) -> AsyncIterator[str]:
    """One JSON array, one object per line, written as the rows come."""
    separator = "[\n"
    async for record in _records(engine, kind, filters):
        yield separator + orjson.dumps(record).decode()
        separator = ",\n"
    yield "[]\n" if separator == "[\n" else "\n]\n"


def chunks(engine: AsyncEngine, kind: ExportKind, filters: Filters, fmt: ExportFormat) -> AsyncIterator[str]:
    return csv_chunks(engine, kind, filters) if fmt == "csv" else json_chunks(engine, kind, filters)
