"""A run on a machine without a program its tests need stops first, in one line that says what to install.

Each case runs pytest in a child process whose PATH holds no program at all, as on a fresh machine.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def pytest_without_programs(tmp_path: Path, *args: str, **env: str) -> subprocess.CompletedProcess[str]:
    bare = {k: v for k, v in os.environ.items() if k not in ("REDIS_URL", "PYTEST_ADDOPTS")}
    bare |= {"PATH": str(tmp_path), **env}  # an empty directory: which() finds nothing
    return subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", *args],
        cwd=ROOT,
        env=bare,
        capture_output=True,
        text=True,
        check=False,
        timeout=120,
    )


def test_a_missing_program_stops_the_run_with_one_line(tmp_path: Path) -> None:
    result = pytest_without_programs(tmp_path, "tests/deploy/test_prometheus.py", "tests/deploy/test_compose.py")
    assert result.returncode == 4, result.stdout + result.stderr
    [line] = [line for line in result.stdout.splitlines() if "apt-get install" in line]
    assert "sudo apt-get install docker-compose prometheus" in line
    assert "passed" not in result.stdout and "failed" not in result.stdout  # stopped before the first test


def test_a_missing_redis_names_its_package(tmp_path: Path) -> None:
    result = pytest_without_programs(tmp_path, "tests/shared/test_cache.py")
    assert result.returncode == 4, result.stdout + result.stderr
    assert "the tests need redis-server, not found on this machine: sudo apt-get install redis-server" in result.stdout


def test_redis_url_stands_in_for_redis_server(tmp_path: Path) -> None:
    """Nothing is asked of a program the selected tests do not need (no Redis is reached: collect only)."""
    result = pytest_without_programs(
        tmp_path, "--collect-only", "tests/shared/test_cache.py", REDIS_URL="redis://127.0.0.1:1/0"
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "apt-get" not in result.stdout


def test_tests_that_need_no_program_run_without_them(tmp_path: Path) -> None:
    result = pytest_without_programs(tmp_path, "tests/deploy/test_lock.py")
    assert result.returncode == 0, result.stdout + result.stderr
    assert "passed" in result.stdout


def test_ci_is_told_every_missing_package(tmp_path: Path) -> None:
    result = subprocess.run(
        [sys.executable, "-m", "tests.system_packages"],
        cwd=ROOT,
        env=os.environ | {"PATH": str(tmp_path)},
        capture_output=True,
        text=True,
        check=True,
    )
    # postgresql is not looked up on PATH (Debian keeps initdb in /usr/lib/postgresql/<v>/bin)
    assert result.stdout.split() == ["redis-server", "docker-compose", "prometheus", "prometheus-alertmanager"]
