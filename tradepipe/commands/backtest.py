"""``tradepipe backtest``: the pipeline's own code on stored history; a report in JSON, Markdown, CSV and HTML.

Settings come from the environment or ``.env`` like the services' (``SCOUT_*``, ``IA1_*``, ``RISK_*``,
``PAPER_*``, ``TRADING_*``), plus ``BACKTEST_SPREAD_BPS``. History comes from ``tradepipe download``.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path
from typing import Any

from backtest import report
from backtest.history import Store
from backtest.run import run_backtest
from backtest.runtime import default_history_dir, exchange_name
from backtest.settings import BacktestSettings
from shared.errors import TradepipeError
from shared.settings import load_settings
from tradepipe.commands.export import moment


def add_data_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--symbols", help="comma-separated (default: every symbol downloaded for the timeframe)")
    parser.add_argument("--timeframe", default="1h", help="the candles to read (default 1h)")
    parser.add_argument("--since", type=moment, help="from (ISO 8601 or an age such as 90d); default: all")
    parser.add_argument("--until", type=moment, help="to (exclusive); default: all")
    parser.add_argument("--data-dir", type=Path, help="history directory (default DATA_DIR/history)")
    parser.add_argument("--exchange", help="the history folder of the exchange (default: from the settings)")
    parser.add_argument("--workers", type=int, help="processes computing the symbols' features (default: CPUs)")


def register(subparsers: argparse._SubParsersAction[Any]) -> None:
    parser = subparsers.add_parser("backtest", help="run the pipeline's rules over downloaded history")
    add_data_arguments(parser)
    parser.add_argument("--out", type=Path, default=Path("backtest-report"), help="where the report files go")
    parser.set_defaults(handler=handle)


def data_source(
    args: argparse.Namespace, settings: BacktestSettings
) -> tuple[Store, list[str], int | None, int | None]:
    store = Store(args.data_dir or default_history_dir(settings), args.exchange or exchange_name(settings))
    symbols = (
        [s.strip() for s in args.symbols.split(",") if s.strip()] if args.symbols else store.symbols(args.timeframe)
    )
    since = int(args.since * 1000) if args.since is not None else None
    until = int(args.until * 1000) if args.until is not None else None
    return store, symbols, since, until


def handle(args: argparse.Namespace) -> int:
    settings = load_settings(BacktestSettings)
    try:
        store, symbols, since, until = data_source(args, settings)
        started = time.perf_counter()
        result, timings = run_backtest(settings, store, symbols, args.timeframe, since, until, workers=args.workers)
        built = report.build(result)
        files = report.write(built, args.out, result.closes)
    except TradepipeError as error:
        print(f"backtest failed: {error}", file=sys.stderr)
        return 1
    s = built["summary"]
    print(
        f"{len(symbols)} symbols, {timings.candles:,} candles in {time.perf_counter() - started:.1f} s: "
        f"{s['trades']} trades, return {s['total_return_pct']:+.2f} %, max drawdown {s['max_drawdown_pct']:.2f} %, "
        f"fees {s['fees']:,.2f}, funding {s['funding']:,.2f}"
    )
    for kind, path in files.items():
        print(f"  {kind:<8} {path}")
    return 0
