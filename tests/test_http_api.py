"""The typed HTTP edge, read from every service's OpenAPI document: each operation answers a declared model
whose every field is typed and described, each error it documents is a problem (RFC 9457), admin operations
document 401 and 403, and FastAPI's own validation error shape (which we never send) appears nowhere.

Building an app touches no server, so these run without Redis.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from fastapi import FastAPI

from services.exchange_sim.app import build_app as build_sim
from services.exchange_sim.settings import SimulatorSettings
from services.execution.app import build_app as build_execution
from services.execution.settings import ExecutionSettings
from services.ia1.app import build_app as build_ia1
from services.ia1.settings import Ia1Settings
from services.ia2.app import build_app as build_ia2
from services.ia2.settings import Ia2Settings
from services.journal.app import build_app as build_journal
from services.journal.settings import JournalSettings
from services.monitor.app import build_app as build_monitor
from services.monitor.settings import MonitorSettings
from services.scout.app import build_app as build_scout
from services.scout.settings import ScoutSettings

BUILDERS: dict[str, Callable[[Path], FastAPI]] = {
    "scout": lambda _: build_scout(ScoutSettings()),
    "ia1": lambda _: build_ia1(Ia1Settings()),
    "ia2": lambda _: build_ia2(Ia2Settings()),
    "execution": lambda data: build_execution(ExecutionSettings(data_dir=str(data))),
    "monitor": lambda data: build_monitor(MonitorSettings(data_dir=str(data))),
    "journal": lambda data: build_journal(JournalSettings(data_dir=str(data))),
    "exchange_sim": lambda _: build_sim(SimulatorSettings()),
}
HEALTH_PATHS = ("/livez", "/readyz")  # their 503 is a Health body with the reasons, not a problem
REF = "#/components/schemas/"


@pytest.fixture(params=sorted(BUILDERS), scope="module")
def document(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    app = BUILDERS[request.param](tmp_path_factory.mktemp("data"))
    schema: dict[str, Any] = app.openapi()
    return schema


def operations(document: dict[str, Any]) -> Iterator[tuple[str, str, dict[str, Any]]]:
    for path, item in document["paths"].items():
        for method, operation in item.items():
            yield path, method, operation


def resolve(document: dict[str, Any], schema: dict[str, Any]) -> dict[str, Any]:
    if "$ref" in schema:
        resolved: dict[str, Any] = document["components"]["schemas"][schema["$ref"].removeprefix(REF)]
        return resolved
    return schema


def untyped(document: dict[str, Any], schema: Any, where: str, seen: set[str]) -> Iterator[str]:
    """Every place under ``schema`` that accepts anything: an empty schema, or an object without a shape."""
    if schema is True or schema == {}:
        yield where
        return
    if not isinstance(schema, dict):
        return
    if "$ref" in schema:
        if schema["$ref"] not in seen:
            seen.add(schema["$ref"])
            yield from untyped(document, resolve(document, schema), schema["$ref"].removeprefix(REF), seen)
        return
    for combinator in ("anyOf", "oneOf", "allOf"):
        for i, part in enumerate(schema.get(combinator, [])):
            yield from untyped(document, part, f"{where}[{i}]", seen)
    if schema.get("type") == "object":
        extra = schema.get("additionalProperties")
        if extra is True or (not schema.get("properties") and not isinstance(extra, dict)):
            yield where
    for name, field in schema.get("properties", {}).items():
        yield from untyped(document, field, f"{where}.{name}", seen)
    if isinstance(schema.get("additionalProperties"), dict):
        yield from untyped(document, schema["additionalProperties"], f"{where}.*", seen)
    if "items" in schema:
        yield from untyped(document, schema["items"], f"{where}[]", seen)


def test_every_operation_answers_a_typed_model(document: dict[str, Any]) -> None:
    loose: list[str] = []
    for path, method, operation in operations(document):
        [(status, success)] = [(s, r) for s, r in operation["responses"].items() if s.startswith("2")]
        content = success.get("content", {})
        assert "application/json" in content, f"{method} {path} documents no JSON body"
        for media_type, body in content.items():
            if media_type == "application/json":
                loose += untyped(document, body.get("schema", {}), f"{method} {path} {status}", set())
    assert not loose, f"untyped response schemas: {loose}"


def test_every_field_and_parameter_is_described(document: dict[str, Any]) -> None:
    bare = [
        f"{name}.{field}"
        for name, schema in document["components"]["schemas"].items()
        for field, spec in schema.get("properties", {}).items()
        if not spec.get("description")
    ]
    bare += [
        f"{method} {path} {parameter['name']}"
        for path, method, operation in operations(document)
        for parameter in operation.get("parameters", [])
        if not parameter.get("description")
    ]
    assert not bare, f"undescribed: {bare}"


def test_every_error_is_a_documented_problem(document: dict[str, Any]) -> None:
    assert "HTTPValidationError" not in document["components"]["schemas"]
    wrong = []
    for path, method, operation in operations(document):
        responses = operation["responses"]
        takes_input = operation.get("parameters") or operation.get("requestBody")
        if takes_input and "422" not in responses:
            wrong.append(f"{method} {path}: takes input but documents no 422")
        if operation.get("requestBody") and "400" not in responses:
            wrong.append(f"{method} {path}: takes a body but documents no 400 (a body that is not text)")
        if operation.get("security") and not {"401", "403"} <= set(responses):
            wrong.append(f"{method} {path}: admin-only but documents no 401 and 403")
        for status, response in responses.items():
            if status.startswith("2") or path in HEALTH_PATHS:
                continue
            schema = response.get("content", {}).get("application/problem+json", {}).get("schema")
            if schema != {"$ref": REF + "Problem"}:
                wrong.append(f"{method} {path} {status}: not a problem")
    assert not wrong, wrong


def test_admin_operations_are_exactly_those_that_change_state(document: dict[str, Any]) -> None:
    """Every POST, PUT and DELETE needs the admin token, every GET is open; OpenAPI says which is which."""
    for path, method, operation in operations(document):
        assert bool(operation.get("security")) == (method != "get"), f"{method} {path}"
