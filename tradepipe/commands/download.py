"""``tradepipe download``: candles (and funding rates) from the exchange into Parquet files for backtests.

Reads the exchange named by the settings (``EXCHANGE_ID``, ``EXCHANGE_BASE_URL``: BingX, or the simulator)
through the gateway, which needs the Redis of ``REDIS_URL`` for its rate-limit budget. Only what the store
lacks is fetched; Ctrl-C keeps what was written, and the next run goes on from there.
"""

from __future__ import annotations

import argparse
import asyncio
import sys
import time
from pathlib import Path
from typing import Any

from backtest.download import Downloader, Progress, SeriesReport, top_symbols
from backtest.history import Store
from backtest.runtime import default_history_dir, exchange_name, gateway_for
from shared.errors import TradepipeError
from shared.settings import ServiceSettings, load_settings
from tradepipe.commands.export import moment

DAY_MS = 86_400_000


def register(subparsers: argparse._SubParsersAction[Any]) -> None:
    parser = subparsers.add_parser("download", help="download candles and funding rates for backtests")
    which = parser.add_mutually_exclusive_group(required=True)
    which.add_argument("--symbols", help="comma-separated, unified form: BTC/USDT:USDT,ETH/USDT:USDT")
    which.add_argument("--top", type=int, metavar="N", help="the N symbols with the largest 24 h volume now")
    parser.add_argument("--timeframes", default="1h", help="comma-separated, e.g. 1h,5m (default 1h)")
    parser.add_argument("--since", type=moment, help="from (ISO 8601 or an age such as 90d); default 30 days ago")
    parser.add_argument("--until", type=moment, help="to (exclusive); default now")
    parser.add_argument("--data-dir", type=Path, help="history directory (default DATA_DIR/history)")
    parser.add_argument("--exchange", help="the folder name of this exchange's history (default: from the settings)")
    parser.add_argument("--no-funding", action="store_true", help="candles only")
    parser.set_defaults(handler=handle)


def _bar(progress: Progress) -> None:
    width = 30
    filled = int(progress.fraction * width)
    line = (
        f"\r[{progress.series_index + 1}/{progress.series_total}] {progress.symbol} {progress.timeframe} "
        f"[{'#' * filled}{'.' * (width - filled)}] {progress.fraction:4.0%}"
    )
    print(line, end="", file=sys.stderr, flush=True)


def _summary(reports: list[SeriesReport], step_ms: dict[str, int]) -> list[str]:
    lines = []
    for r in reports:
        line = f"{r.symbol} {r.timeframe}: {r.stored:,} candles stored, {r.fetched:,} new in {r.pages} requests"
        if r.funding:
            line += f", {r.funding} funding rates"
        if r.duplicates:
            line += f"; {r.duplicates} duplicate candle times dropped"
        if r.missing_start:
            line += f"; nothing before {_iso(r.missing_start[1])} (listing)"
        for start, end in r.gaps:
            line += f"; GAP {_iso(start)} .. {_iso(end)} ({(end - start) // step_ms[r.timeframe]} candles)"
        lines.append(line)
    return lines


def _iso(ms: int) -> str:
    return time.strftime("%Y-%m-%dT%H:%MZ", time.gmtime(ms / 1000))


async def _download(args: argparse.Namespace, settings: ServiceSettings) -> list[SeriesReport]:
    timeframes = [t.strip() for t in args.timeframes.split(",") if t.strip()]
    until_ms = int((args.until if args.until is not None else time.time()) * 1000)
    since_ms = int(args.since * 1000) if args.since is not None else until_ms - 30 * DAY_MS
    store = Store(args.data_dir or default_history_dir(settings), args.exchange or exchange_name(settings))
    async with gateway_for(settings) as gateway:
        symbols = (
            await top_symbols(gateway, args.top)
            if args.top
            else [s.strip() for s in args.symbols.split(",") if s.strip()]
        )
        downloader = Downloader(gateway, store, progress=_bar)
        reports = await downloader.run(symbols, timeframes, since_ms, until_ms, funding=not args.no_funding)
    print(file=sys.stderr)
    print(f"history in {store.root / store.exchange}")
    return reports


def handle(args: argparse.Namespace) -> int:
    from backtest.history import timeframe_ms  # noqa: PLC0415

    settings = load_settings(ServiceSettings)
    try:
        reports = asyncio.run(_download(args, settings))
    except KeyboardInterrupt:
        print("\ninterrupted: what was written is kept; run the same command again to go on", file=sys.stderr)
        return 130
    except TradepipeError as error:
        print(f"\ndownload failed: {error}", file=sys.stderr)
        return 1
    for line in _summary(reports, {r.timeframe: timeframe_ms(r.timeframe) for r in reports}):
        print(line)
    return 0
