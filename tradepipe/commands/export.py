"""``tradepipe export trades|orders|equity --since ... --format csv|json``: the journal, for accounting and tax.

Reads the journal database the services use (``DATABASE_URL``, else the SQLite file under ``DATA_DIR``; both
from the environment or ``.env``, or ``--database-url``), oldest row first, to stdout or ``--output``.
``--since``/``--until`` take a date or time in ISO 8601 (UTC unless it says otherwise) or an age such as
``7d`` or ``12h``.
"""

from __future__ import annotations

import argparse
import asyncio
import re
import sys
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, TextIO

from shared.journal.database import create_engine, database_url
from shared.journal.export import EXPORT_KINDS, ExportFormat, ExportKind, chunks
from shared.journal.queries import Filters
from shared.settings import ServiceSettings, load_settings

_AGE = re.compile(r"^(\d+(?:\.\d+)?)([smhdw])$")
_UNITS = {"s": 1, "m": 60, "h": 3600, "d": 86_400, "w": 7 * 86_400}


def register(subparsers: argparse._SubParsersAction[Any]) -> None:
    parser = subparsers.add_parser("export", help="trades, orders or equity from the journal, as CSV or JSON")
    parser.add_argument("kind", choices=EXPORT_KINDS)
    parser.add_argument("--since", type=moment, help="from (inclusive): 2025-01-31, 2025-01-31T08:00, 7d, 12h")
    parser.add_argument("--until", type=moment, help="to (exclusive), same forms")
    parser.add_argument("--symbol", help="one symbol, e.g. BTC/USDT:USDT")
    parser.add_argument("--mode", choices=("paper", "live"))
    parser.add_argument("--format", choices=("csv", "json"), default="csv")
    parser.add_argument("--output", "-o", type=Path, help="write here instead of stdout")
    parser.add_argument("--database-url", help="instead of DATABASE_URL / DATA_DIR")
    parser.set_defaults(handler=handle)


def moment(text: str, *, now: float | None = None) -> float:
    """Seconds since the epoch for an ISO 8601 date or time (UTC unless zoned) or an age before now."""
    age = _AGE.match(text.strip())
    if age:
        return (time.time() if now is None else now) - float(age.group(1)) * _UNITS[age.group(2)]
    try:
        parsed = datetime.fromisoformat(text.strip().replace("Z", "+00:00"))
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is neither ISO 8601 (2025-01-31T08:00) nor an age (7d)") from None
    return (parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)).timestamp()


async def export(url: str, kind: ExportKind, filters: Filters, fmt: ExportFormat, out: TextIO) -> None:
    engine = create_engine(url)
    try:
        async for chunk in chunks(engine, kind, filters, fmt):
            out.write(chunk)
    finally:
        await engine.dispose()


def handle(args: argparse.Namespace) -> int:
    url = args.database_url or database_url(load_settings(ServiceSettings))
    filters = Filters(symbol=args.symbol, mode=args.mode, since=args.since, until=args.until)
    try:
        if args.output is None:
            asyncio.run(export(url, args.kind, filters, args.format, sys.stdout))
        else:
            with args.output.open("w", encoding="utf-8", newline="") as out:
                asyncio.run(export(url, args.kind, filters, args.format, out))
    except Exception as error:  # a missing file, a database that is down: say so, without a traceback
        print(f"export failed: {type(error).__name__}: {str(error).splitlines()[0][:300]}", file=sys.stderr)
        return 1
    return 0
