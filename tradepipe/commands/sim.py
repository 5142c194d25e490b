"""``tradepipe sim``: the BingX-compatible exchange simulator alone (port 8020 unless PORT is set)."""

from __future__ import annotations

import argparse
from typing import Any

from services.exchange_sim.app import build_app
from services.exchange_sim.settings import SimulatorSettings
from shared.app import run_service


def register(subparsers: argparse._SubParsersAction[Any]) -> None:
    parser = subparsers.add_parser("sim", help="the exchange simulator alone (settings: SIM_* variables)")
    parser.set_defaults(handler=handle)


def handle(args: argparse.Namespace) -> int:
    run_service(SimulatorSettings, build_app)
    return 0
