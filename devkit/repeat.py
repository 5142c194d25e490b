"""Run the test suite several times in a row, optionally with one core kept busy, and report each run.

``python -m devkit.repeat --runs 5 [--busy] [-- <pytest arguments>]`` (``make test-repeat N=5 BUSY=1``).
A suite that passes on a quiet machine but fails when a core is taken by something else asserts on
timing luck; this flushes such tests out. After each run it also looks for processes the run left
behind (service processes, private Redis servers), which must never happen.
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import time
from pathlib import Path

from devkit import processes

BURNER = "while True: pass"
LEFTOVER_MARKERS = ("-m services.", "tp-redis-", "devkit.stampede", "tests.helpers.")


def _processes_matching(markers: tuple[str, ...]) -> dict[int, str]:
    found: dict[int, str] = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            command = (entry / "cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace").strip()
            state = (entry / "stat").read_text().split(") ", 1)[1][0]
        except (OSError, IndexError):
            continue
        if state != "Z" and any(marker in command for marker in markers):
            found[int(entry.name)] = command
    return found


def run(runs: int, busy: bool, pytest_args: list[str]) -> int:
    burner = processes.spawn([sys.executable, "-c", BURNER]) if busy else None
    before = _processes_matching(LEFTOVER_MARKERS)
    results: list[tuple[int, float, str]] = []
    try:
        for n in range(1, runs + 1):
            started = time.monotonic()
            print(f"[repeat] run {n}/{runs}{' with one core busy' if busy else ''}", flush=True)
            code = subprocess.call([sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", *pytest_args])
            left = {pid: cmd for pid, cmd in _processes_matching(LEFTOVER_MARKERS).items() if pid not in before}
            note = f"{len(left)} process(es) left behind: {list(left.values())[:3]}" if left else ""
            results.append((code, time.monotonic() - started, note))
            print(f"[repeat] run {n}: {'passed' if code == 0 else f'FAILED ({code})'} in {results[-1][1]:.0f} s {note}")
    finally:
        if burner is not None:
            processes.kill(burner)
    failed = [i + 1 for i, (code, _, note) in enumerate(results) if code != 0 or note]
    print(f"[repeat] {runs - len(failed)}/{runs} clean runs; failed: {failed or 'none'}")
    return 1 if failed else 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m devkit.repeat", description=__doc__)
    parser.add_argument("--runs", type=int, default=5, help="how many times to run the suite")
    parser.add_argument("--busy", action="store_true", help="keep one core busy with a spinning process")
    parser.add_argument("pytest_args", nargs="*", help="passed to pytest (after --)")
    args = parser.parse_args(argv)
    if args.runs < 1:
        parser.error("--runs must be at least 1")
    return run(args.runs, args.busy, args.pytest_args)


if __name__ == "__main__":
    sys.exit(main())
