"""The one supervisor: named child processes with a log file each, stopped in reverse order.

Used by ``make run`` (devkit/run.py), the e2e and chaos tests and benchmark B3 (devkit/stack.py). As a
context manager it stops every child on the way out, whatever happened inside, so a failed test leaves
nothing behind.
"""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from pathlib import Path
from types import TracebackType

from devkit import processes
from devkit.net import http_ok
from devkit.waits import wait_until

SERVICE_STOP_GRACE_S = 15.0  # services stop within 10 s of SIGTERM; past this they are killed


class ChildFailed(RuntimeError):
    """A child exited, or never became ready; the message ends with its log."""


class Supervisor:
    def __init__(self, log_dir: Path) -> None:
        self.log_dir = log_dir
        self.log_dir.mkdir(parents=True, exist_ok=True)
        self.children: dict[str, subprocess.Popen[bytes]] = {}

    def __enter__(self) -> Supervisor:
        return self

    def __exit__(self, kind: type[BaseException] | None, error: BaseException | None, tb: TracebackType | None) -> None:
        self.stop_all()

    def log_path(self, name: str) -> Path:
        return self.log_dir / f"{name}.log"

    def log_tail(self, name: str, chars: int = 3000) -> str:
        path = self.log_path(name)
        return path.read_text(errors="replace")[-chars:] if path.exists() else ""

    def spawn(
        self, name: str, args: Sequence[str], env: Mapping[str, str], cwd: Path | None = None
    ) -> subprocess.Popen[bytes]:
        if name in self.children and self.children[name].poll() is None:
            raise ChildFailed(f"{name} is already running")
        with self.log_path(name).open("ab") as log:
            process = processes.spawn(args, env=env, cwd=cwd, stdout=log)
        self.children[name] = process
        return process

    def spawn_module(self, name: str, module: str, env: Mapping[str, str], cwd: Path | None = None) -> None:
        self.spawn(name, [sys.executable, "-m", module], env, cwd)

    def wait_ready(self, name: str, url: str, timeout_s: float = 60.0) -> None:
        """Until ``url`` answers 200; raises with the log's end if the child exits or never gets there."""
        process = self.children[name]

        def ready() -> bool:
            if process.poll() is not None:
                raise ChildFailed(f"{name} exited with {process.returncode}:\n{self.log_tail(name)}")
            return http_ok(url)

        if not wait_until(ready, timeout_s, interval_s=0.1):
            raise ChildFailed(f"{name} not ready after {timeout_s:.0f} s:\n{self.log_tail(name)}")

    def stop(self, name: str, *, kill: bool = False, grace_s: float = SERVICE_STOP_GRACE_S) -> int:
        process = self.children.pop(name)
        return processes.kill(process) if kill else processes.stop(process, grace_s)

    def stop_all(self) -> None:
        for name in reversed(list(self.children)):
            self.stop(name)

    def exited(self) -> Iterator[tuple[str, int]]:
        """Children that stopped by themselves, with their exit code."""
        for name, process in self.children.items():
            code = process.poll()
            if code is not None:
                yield name, code


@contextmanager
def supervised(log_dir: Path) -> Iterator[Supervisor]:
    with Supervisor(log_dir) as supervisor:
        yield supervisor
