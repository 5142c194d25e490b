"""Child processes that cannot outlive whoever started them.

Three layers, so that no test, benchmark or ``make run`` leaves a process behind:

1. every child gets ``PR_SET_PDEATHSIG(SIGKILL)`` (Linux): when the process that spawned it dies, even by
   SIGKILL or a pytest timeout, the kernel kills the child;
2. every child leads its own process group, and :func:`stop` signals the group: SIGTERM, then SIGKILL
   when it has not exited within the grace period (a service whose Redis is gone may ignore SIGTERM);
3. children still running when the interpreter exits are killed by an ``atexit`` hook.

A child spawned from a thread dies with that thread (that is how PDEATHSIG works), so spawn from the main
thread or from one that lives as long as the child.
"""

from __future__ import annotations

import atexit
import contextlib
import ctypes
import ctypes.util
import os
import signal
import subprocess
import sys
import weakref
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import IO

PR_SET_PDEATHSIG = 1
_libc = ctypes.CDLL(ctypes.util.find_library("c") or None, use_errno=True) if sys.platform == "linux" else None
_running: weakref.WeakSet[subprocess.Popen[bytes]] = weakref.WeakSet()


def _die_with_parent() -> None:  # runs in the child, between fork and exec
    if _libc is not None:
        _libc.prctl(PR_SET_PDEATHSIG, signal.SIGKILL)


def spawn(
    args: Sequence[str],
    *,
    env: Mapping[str, str] | None = None,
    cwd: Path | str | None = None,
    stdout: int | IO[bytes] | None = subprocess.DEVNULL,
    stderr: int | IO[bytes] | None = subprocess.STDOUT,
    user: str | None = None,
) -> subprocess.Popen[bytes]:
    """Start ``args`` as a child that dies with this process and leads its own process group; ``user`` runs
    it as that system user (root only: PostgreSQL refuses to run as root). The parent-death signal is set
    after the switch of user, which would otherwise clear it."""
    process = subprocess.Popen(
        list(args),
        env=dict(env) if env is not None else None,
        cwd=cwd,
        stdout=stdout,
        stderr=stderr,
        user=user,
        start_new_session=True,
        preexec_fn=_die_with_parent,  # noqa: PLW1509  (only prctl: safe between fork and exec)
    )
    _running.add(process)
    return process


def _signal_group(process: subprocess.Popen[bytes], sig: signal.Signals) -> None:
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(process.pid, sig)


def stop(process: subprocess.Popen[bytes], grace_s: float = 10.0) -> int:
    """SIGTERM the child's group, SIGKILL it if still there after ``grace_s``; always reaped. Exit code."""
    if process.poll() is None:
        _signal_group(process, signal.SIGTERM)
        try:
            return process.wait(grace_s)
        except subprocess.TimeoutExpired:
            pass
    return kill(process)


def kill(process: subprocess.Popen[bytes]) -> int:
    """SIGKILL the child's group (no drain, no ack: the fault a crash is) and reap it."""
    if process.poll() is None:
        _signal_group(process, signal.SIGKILL)
    code = process.wait(30)
    _signal_group(process, signal.SIGKILL)  # anything it started that is still in its group
    _running.discard(process)
    return code


def running() -> list[subprocess.Popen[bytes]]:
    """Children spawned here that have not exited yet."""
    return [p for p in list(_running) if p.poll() is None]


@atexit.register
def _reap_all() -> None:
    for process in running():
        kill(process)


def run_many(args: Sequence[str], count: int, timeout_s: float = 120.0) -> list[bytes]:
    """Run ``count`` copies of ``args`` at once and return what each printed; none outlives the call."""
    children = [spawn(args, stdout=subprocess.PIPE, stderr=None) for _ in range(count)]
    try:
        return [child.communicate(timeout=timeout_s)[0] for child in children]
    finally:
        for child in children:
            kill(child)
