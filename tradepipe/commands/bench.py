"""``tradepipe bench``: the benchmarks (B1-B6) against a private Redis and the simulator."""

from __future__ import annotations

import argparse
from typing import Any

import bench.__main__ as benchmarks


def register(subparsers: argparse._SubParsersAction[Any]) -> None:
    parser = subparsers.add_parser("bench", help="run the benchmarks; results in bench/results/latest.*")
    benchmarks.add_arguments(parser)
    parser.set_defaults(handler=lambda args: benchmarks.run_from_args(parser, args))
