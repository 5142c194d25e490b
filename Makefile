# The project's verbs. Everything runs from the virtual environment in .venv.
PYTHON ?= python3
VENV   ?= .venv
BIN    := $(VENV)/bin

.PHONY: install test test-repeat lint fmt run sim bench bench-quick chaos clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip

install: $(BIN)/python  ## create .venv and install the project with its dev tools
	$(BIN)/pip install --quiet -e '.[dev]'

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

run: install  ## Redis + exchange simulator + the five services; Ctrl-C stops all
	$(BIN)/tradepipe run

sim: install  ## the exchange simulator alone, on port 8020
	$(BIN)/tradepipe sim

bench: install  ## B1-B5 at full size (a few minutes): bench/results/latest.{json,md,png}
	$(BIN)/tradepipe bench

bench-quick: install  ## the same scenarios, small: under 3 minutes on 2 cores
	$(BIN)/tradepipe bench --quick

chaos: install  ## the fault-injection suite at full load (1,000 opportunities; `make test` runs 300)
	CHAOS_OPPORTUNITIES=1000 $(BIN)/pytest -q -s tests/chaos

clean:
	rm -rf $(VENV) .mypy_cache .ruff_cache .pytest_cache
