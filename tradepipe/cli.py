"""``tradepipe <command> ...``: the parser, built from one module per command."""

from __future__ import annotations

import argparse
from collections.abc import Sequence

from tradepipe.commands import COMMANDS


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="tradepipe", description="A crypto trading pipeline on Redis Streams.")
    subparsers = parser.add_subparsers(dest="command", metavar="<command>", required=True)
    for command in COMMANDS:
        command.register(subparsers)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    code: int = args.handler(args)
    return code
