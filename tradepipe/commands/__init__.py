"""One module per command; each has ``register(subparsers)`` and sets ``handler`` on its parser.

Adding a command is adding a module here and naming it in ``COMMANDS``.
"""

from __future__ import annotations

import argparse
from types import ModuleType
from typing import Any, Protocol


class Command(Protocol):
    def register(self, subparsers: argparse._SubParsersAction[Any]) -> None: ...


def _commands() -> list[ModuleType]:
    from tradepipe.commands import backtest, bench, download, export, lookahead, run, sim, status  # noqa: PLC0415  (the registry imports its members)

    return [run, sim, status, bench, export, download, backtest, lookahead]


COMMANDS = _commands()
