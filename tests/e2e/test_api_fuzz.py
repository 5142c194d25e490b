"""Schemathesis against every service's OpenAPI schema, on the running services and the exchange simulator:
no 5xx, and every response has a documented status and media type and matches its schema (the typed models,
and problem details for errors), for valid inputs and for invalid ones (bad types, out-of-range numbers, odd
strings, malformed bodies). Admin endpoints get the right token, so their validation is exercised beyond the
auth gate.
"""

from __future__ import annotations

import itertools
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import schemathesis
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis.errors import Unsatisfiable
from schemathesis import GenerationMode
from schemathesis.checks import not_a_server_error
from schemathesis.core.result import Err
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from devkit.redis_server import RedisServer
from devkit.sim_server import ADMIN_TOKEN as SIM_ADMIN_TOKEN
from devkit.sim_server import SimServer
from devkit.stack import SERVICES, Stack

pytestmark = pytest.mark.slow

TOKEN = "fuzz-admin-token"
EXAMPLES = 15


@pytest.fixture(scope="module")
def fuzz_stack(redis_binary: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    redis = RedisServer(redis_binary).start()
    sim = SimServer(sim_symbols=40, sim_rate_limit_enabled=False).start()
    log_dir: Path = tmp_path_factory.mktemp("fuzz-logs")
    stack = Stack(redis.url, sim.api_url, log_dir, ADMIN_TOKEN=TOKEN)
    try:
        stack.start_all()
        yield stack
    finally:
        stack.stop_all()
        sim.stop()
        redis.kill()


@pytest.mark.parametrize("service", SERVICES)
def test_no_server_errors_and_responses_match_the_schema(fuzz_stack: Stack, service: str) -> None:
    fuzz(fuzz_stack.url(service), TOKEN)
    assert fuzz_stack.processes[service].poll() is None  # still running


def test_the_simulators_admin_api_too() -> None:
    sim = SimServer(sim_symbols=5).start()  # its own: the fuzzed faults and clock moves reach nobody else
    try:
        fuzz(sim.url, SIM_ADMIN_TOKEN)
    finally:
        sim.stop()


def fuzz(url: str, token: str) -> None:
    schema = schemathesis.openapi.from_url(f"{url}/openapi.json")
    operations = []
    for result in schema.get_all_operations():
        if isinstance(result, Err):
            raise result.err()  # an invalid schema is a failure of its own
        operations.append(result.ok())
    assert operations, f"{url} documents no operation"
    for operation, mode in itertools.product(operations, (GenerationMode.POSITIVE, GenerationMode.NEGATIVE)):

        @given(case=operation.as_strategy(generation_mode=mode))
        @settings(
            max_examples=EXAMPLES,
            deadline=None,
            database=None,
            phases=[Phase.explicit, Phase.generate],
            suppress_health_check=list(HealthCheck),
        )
        def exercise(case: schemathesis.Case[Any]) -> None:
            case.call_and_validate(
                base_url=url,
                headers={"Authorization": f"Bearer {token}"},
                checks=[
                    not_a_server_error,
                    status_code_conformance,
                    content_type_conformance,
                    response_schema_conformance,
                ],
                timeout=30,
            )

        try:
            exercise()
        except Unsatisfiable:
            if mode is GenerationMode.POSITIVE:
                raise
            # No parameter and no body: there is no invalid input to make for this operation.
