"""No process outlives a test run: a failing test, a test killed by its timeout, and a test run killed
outright (SIGKILL, no chance to clean up) each leave nothing behind.

Each case runs pytest in a child on a small test that starts a private Redis and a service process with
the devkit, writes their pids to a file, then fails, hangs, or waits to be killed.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from devkit import processes
from devkit.waits import wait_until

pytestmark = pytest.mark.slow

INNER = textwrap.dedent(
    """
    import json, os, time
    from pathlib import Path

    from devkit.redis_server import RedisServer, find_redis_binary
    from devkit.stack import Stack

    PIDS = Path(os.environ["REAPING_PIDS"])


    def test_inner(tmp_path: Path) -> None:  # its time limit comes from the outer test's --timeout
        redis = RedisServer(find_redis_binary()).start()
        stack = Stack(redis.url, "http://127.0.0.1:9/openApi", tmp_path, services=("ia1",))
        try:
            stack.start_all()
            PIDS.write_text(json.dumps([redis.process.pid, stack.processes["ia1"].pid]))
            if os.environ["REAPING_CASE"] == "fail":
                raise AssertionError("this test fails on purpose")
            time.sleep(600)  # "hang": ended by pytest-timeout, or by the parent's SIGKILL
        finally:
            stack.stop_all()
            redis.kill()
    """
)


def _alive(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().split(") ", 1)[1][0]
    except (FileNotFoundError, IndexError):
        return False
    return state != "Z"  # a zombie has exited; only its exit status is left to collect


def _run_inner(tmp_path: Path, case: str, timeout: str) -> tuple[subprocess.Popen[bytes], Path]:
    (tmp_path / "test_inner.py").write_text(INNER)
    pids = tmp_path / "pids.json"
    env = {**os.environ, "REAPING_PIDS": str(pids), "REAPING_CASE": case}
    args = [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", f"--timeout={timeout}", str(tmp_path)]
    child = processes.spawn(args, env=env, cwd=Path(__file__).resolve().parents[1], stdout=subprocess.DEVNULL)
    assert wait_until(lambda: pids.exists() or child.poll() is not None, 120), "the inner test never started"
    assert pids.exists(), f"the inner test exited with {child.poll()} before starting its processes"
    return child, pids


@pytest.mark.parametrize(("case", "timeout"), [("fail", "60"), ("hang", "5")])
def test_a_failed_or_timed_out_test_leaves_no_process(tmp_path: Path, case: str, timeout: str) -> None:
    child, pids = _run_inner(tmp_path, case, timeout)
    assert child.wait(120) == 1  # the inner run failed, as it was made to
    started = json.loads(pids.read_text())
    assert started and not [pid for pid in started if _alive(pid)], "processes outlived the failed test"


def test_a_killed_test_run_leaves_no_process(tmp_path: Path) -> None:
    child, pids = _run_inner(tmp_path, "hang", "600")
    os.kill(child.pid, signal.SIGKILL)  # no finally, no atexit: only the kernel can clean up now
    child.wait(30)
    started = json.loads(pids.read_text())
    assert wait_until(lambda: not any(_alive(pid) for pid in started), 20), "children outlived a killed test run"
