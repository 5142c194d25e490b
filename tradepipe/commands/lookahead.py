"""``tradepipe lookahead``: re-run the backtest on data cut at several times and prove that nothing decided
before a cut changes; name any indicator or rule that reads ahead. Exit status 1 when one does."""

from __future__ import annotations

import argparse
import sys
from typing import Any

from backtest.lookahead import check
from backtest.settings import BacktestSettings
from shared.errors import TradepipeError
from shared.settings import load_settings
from tradepipe.commands.backtest import add_data_arguments, data_source


def register(subparsers: argparse._SubParsersAction[Any]) -> None:
    parser = subparsers.add_parser("lookahead", help="prove that no indicator or rule reads candles ahead")
    add_data_arguments(parser)
    parser.add_argument("--cuts", type=int, default=5, help="how many cut points (default 5)")
    parser.set_defaults(handler=handle)


def handle(args: argparse.Namespace) -> int:
    settings = load_settings(BacktestSettings)
    try:
        store, symbols, since, until = data_source(args, settings)
        findings = check(settings, store, symbols, args.timeframe, since, until, cuts=args.cuts, workers=args.workers)
    except TradepipeError as error:
        print(f"lookahead failed: {error}", file=sys.stderr)
        return 1
    for line in findings.lines():
        print(line)
    return 0 if findings.passed else 1
