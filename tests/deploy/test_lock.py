"""The lock files pin everything pyproject.toml asks for, with hashes, and this environment is the lock.

requirements.lock is what the image installs (runtime); requirements-dev.lock is what `make install` and CI
install (runtime + dev extra). A dependency added to pyproject.toml without `make lock` fails here, offline.
"""

from __future__ import annotations

import re
import tomllib
from importlib import metadata
from pathlib import Path

import pytest
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

ROOT = Path(__file__).resolve().parents[2]
PYPROJECT = tomllib.loads((ROOT / "pyproject.toml").read_text())
# The environment the lock is resolved for: CPython 3.11 on Linux (make lock's --python-version/--python-platform).
TARGET = {"python_version": "3.11", "sys_platform": "linux", "platform_system": "Linux", "os_name": "posix"}
PIN = re.compile(r"^([A-Za-z0-9][A-Za-z0-9._-]*)==(\S+)")


def pins(name: str) -> dict[str, tuple[str, int]]:
    """package -> (version, number of hashes), read from a lock file written by `make lock`."""
    found: dict[str, tuple[str, int]] = {}
    current = ""
    for line in (ROOT / name).read_text().splitlines():
        if match := PIN.match(line):
            current = canonicalize_name(match[1])
            assert current not in found, f"{name} pins {current} twice"
            found[current] = (match[2], 0)
        elif "--hash=sha256:" in line and current:
            version, hashes = found[current]
            found[current] = (version, hashes + 1)
    return found


def wanted(extras: tuple[str, ...]) -> list[Requirement]:
    project = PYPROJECT["project"]
    texts = [*project["dependencies"], *PYPROJECT["build-system"]["requires"]]
    texts += [text for extra in extras for text in project["optional-dependencies"][extra]]
    return [r for r in map(Requirement, texts) if r.marker is None or r.marker.evaluate(TARGET)]


@pytest.mark.parametrize(("lock", "extras"), [("requirements.lock", ()), ("requirements-dev.lock", ("dev",))])
def test_the_lock_satisfies_pyproject(lock: str, extras: tuple[str, ...]) -> None:
    pinned = pins(lock)
    for requirement in wanted(extras):
        name = canonicalize_name(requirement.name)
        assert name in pinned, f"{lock} lacks {requirement}: run `make lock`"
        version = pinned[name][0]
        assert requirement.specifier.contains(version, prereleases=True), f"{lock}: {name}=={version} vs {requirement}"


@pytest.mark.parametrize("lock", ["requirements.lock", "requirements-dev.lock"])
def test_every_pin_is_exact_and_hashed(lock: str) -> None:
    pinned = pins(lock)
    assert len(pinned) > 10
    assert not [name for name, (_, hashes) in pinned.items() if hashes == 0]


def test_dev_lock_keeps_the_runtime_pins() -> None:
    """Tests run against the versions the image ships: the dev lock is resolved under the runtime one."""
    dev = pins("requirements-dev.lock")
    for name, (version, _) in pins("requirements.lock").items():
        assert dev.get(name, ("missing",))[0] == version, name


def test_this_environment_is_the_dev_lock() -> None:
    drifted = []
    for name, (version, _) in pins("requirements-dev.lock").items():
        try:
            installed = metadata.version(name)
        except metadata.PackageNotFoundError:
            installed = "not installed"
        if installed != version:
            drifted.append(f"{name}: {installed} installed, {version} locked")
    assert not drifted, f"run `make install`: {drifted}"
