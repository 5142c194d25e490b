# The project's verbs. Everything runs from the virtual environment in .venv.
PYTHON ?= python3
VENV   ?= .venv
BIN    := $(VENV)/bin

.PHONY: install lock audit test test-repeat lint fmt run sim bench bench-quick bench-peers chaos clean

# Dependencies come from two lock files, resolved by `make lock` for Python 3.11 on Linux with hashes:
# requirements.lock (runtime, what the Docker image installs) and requirements-dev.lock (runtime + the
# dev extra, with the same runtime pins). Both also pin the build backend from [build-system], so the
# project installs offline with --no-build-isolation. docs/deploy.md says more.
LOCK_FLAGS := --python-version 3.11 --python-platform linux --generate-hashes --quiet --custom-compile-command "make lock"
BUILD_REQUIRES := $(BIN)/python -c 'import tomllib; print(*tomllib.load(open("pyproject.toml", "rb"))["build-system"]["requires"], sep="\n")'
PIP_AUDIT := pip-audit==2.10.1

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)

# Exactly the locked versions, then the project itself (editable, so `tradepipe` and code changes need no
# reinstall); pip check fails if pyproject.toml asks for something the lock lacks (then: make lock).
# The stamp keeps a second `make install` instant until a lock file or pyproject.toml changes.
$(VENV)/.installed: requirements-dev.lock pyproject.toml | $(BIN)/python
	$(BIN)/pip install --quiet --require-hashes --no-deps -r requirements-dev.lock
	$(BIN)/pip install --quiet --no-deps --no-build-isolation -e .
	$(BIN)/pip check
	touch $@

install: $(VENV)/.installed  ## create .venv and install the locked dependencies and the project (editable)

lock: $(BIN)/python  ## re-resolve both lock files from pyproject.toml (keeps current pins where it can; add --upgrade via LOCK_FLAGS+=--upgrade)
	$(BUILD_REQUIRES) | $(BIN)/uv pip compile pyproject.toml - $(LOCK_FLAGS) -o requirements.lock
	$(BUILD_REQUIRES) | $(BIN)/uv pip compile pyproject.toml - --extra dev -c requirements.lock $(LOCK_FLAGS) -o requirements-dev.lock

audit: install  ## known vulnerabilities in the locked versions (asks the PyPI advisory database: needs the network)
	$(BIN)/uv tool run --from $(PIP_AUDIT) pip-audit --strict --disable-pip --require-hashes -r requirements.lock -r requirements-dev.lock

test: install  ## the whole test suite against a real Redis (private redis-server unless REDIS_URL is set)
	$(BIN)/pytest -q

N ?= 5
test-repeat: install  ## the suite N times in a row (N=5); BUSY=1 keeps one core busy meanwhile
	$(BIN)/python -m devkit.repeat --runs $(N) $(if $(BUSY),--busy)

lint: install  ## ruff (lint + format check) and mypy --strict
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy

fmt: install
	$(BIN)/ruff format .
	$(BIN)/ruff check --fix .

run: install  ## Redis + exchange simulator + the services (journal in .run/data); Ctrl-C stops all
	$(BIN)/tradepipe run

sim: install  ## the exchange simulator alone, on port 8020
	$(BIN)/tradepipe sim

bench: install  ## B1-B6 at full size (about 15 minutes): bench/results/latest.{json,md,png}
	$(BIN)/tradepipe bench

PEERS ?= $(HOME)/.cache/tradepipe/peers
bench-peers:  ## freqtrade in a scratch venv outside the project, for B6's comparison (needs PyPI)
	test -x $(PEERS)/freqtrade-venv/bin/python || $(PYTHON) -m venv $(PEERS)/freqtrade-venv
	$(PEERS)/freqtrade-venv/bin/pip install --quiet "freqtrade==2026.9"

bench-quick: install  ## the same scenarios, smaller (B1 still a simulated hour): about 5 minutes on 2 cores
	$(BIN)/tradepipe bench --quick

chaos: install  ## the fault-injection suite at full load (1,000 opportunities; `make test` runs 300)
	CHAOS_OPPORTUNITIES=1000 $(BIN)/pytest -q -s tests/chaos

clean:
	rm -rf $(VENV) .mypy_cache .ruff_cache .pytest_cache
