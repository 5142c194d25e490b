"""Exports of the journal for accounting and tax: trades, orders or equity points as CSV or JSON, oldest
first, streamed in chunks (the export endpoint and ``tradepipe export`` both use these).

Times (every ``*_at`` field) are written as ISO 8601 in UTC with milliseconds, e.g. ``2025-03-01T12:00:00.000Z``.
"""

from __future__ import annotations

import csv
import io
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from typing import Any, Literal, Union

import orjson
from pydantic import BaseModel, Field, create_model
from sqlalchemy.ext.asyncio import AsyncEngine

from shared.journal.queries import TABLES, Filters, Record, stream

ExportKind = Literal["trades", "orders", "equity"]
ExportFormat = Literal["csv", "json"]
EXPORT_KINDS: tuple[ExportKind, ...] = ("trades", "orders", "equity")
MEDIA_TYPES: dict[ExportFormat, str] = {"csv": "text/csv", "json": "application/json"}
ROWS_PER_CHUNK = 200


def _is_time(name: str) -> bool:
    return name == "at" or name.endswith("_at")


def _export_model(record: type[Record]) -> type[BaseModel]:
    """The shape of one exported row: the record's fields, times as ISO 8601 text (for the OpenAPI document)."""
    fields: dict[str, Any] = {}
    for name, info in record.model_fields.items():
        if _is_time(name):
            fields[name] = (str | None, Field(description=f"{name} as ISO 8601 in UTC, e.g. 2025-03-01T12:00:00.000Z"))
        else:
            fields[name] = (info.annotation, Field(description=info.description))
    for name, computed in record.model_computed_fields.items():
        fields[name] = (computed.return_type, Field(description=computed.description))
    name = record.__name__.removesuffix("Record") + "Export"
    return create_model(name, __doc__=f"One exported row of {record.__name__}.", **fields)


# What the JSON export answers: an array of rows of the kind asked (the CSV export has the same columns).
EXPORT_ROWS: Any = list[Union[tuple(_export_model(TABLES[kind].record) for kind in EXPORT_KINDS)]]  # type: ignore[misc]  # noqa: UP007


def iso(at: float | None) -> str | None:
    if at is None:
        return None
    return datetime.fromtimestamp(at, UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def flat(record: dict[str, Any]) -> dict[str, Any]:
    return {k: iso(v) if _is_time(k) else v for k, v in record.items()}


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
