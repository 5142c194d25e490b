"""``tradepipe run``: Redis, the exchange simulator and the five services on this machine; Ctrl-C stops all."""

from __future__ import annotations

import argparse
from typing import Any

from devkit import run


def register(subparsers: argparse._SubParsersAction[Any]) -> None:
    parser = subparsers.add_parser("run", help="the whole stack locally, without Docker (Ctrl-C stops it)")
    parser.set_defaults(handler=handle)


def handle(args: argparse.Namespace) -> int:
    run.main()
    return 0
