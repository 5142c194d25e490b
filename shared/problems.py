"""Errors at the HTTP edge as problem details (RFC 9457): every error a service answers, whoever raised it
(a handler's ``HTTPException``, the admin guard, request validation, an unknown path, Redis unreachable,
an unexpected exception), has one typed shape, ``Problem``, sent as ``application/problem+json``.

``install(app)`` is called by the app factory (shared/app.py), so every service answers so. A route
documents the problems it may answer with ``responses=problems(404, 503)``; a route that takes input
lists 422 too (FastAPI would otherwise document its own validation error shape, which we never send), and
one with a body lists 400 (a body that is not text at all).
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from http import HTTPStatus
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, Response
from pydantic import BaseModel, Field
from starlette.exceptions import HTTPException

from shared.redis_client import RETRYABLE_ERRORS

log = logging.getLogger(__name__)

MEDIA_TYPE = "application/problem+json"
MAX_DETAIL = 1_000  # a validation detail lists every field; a request with many bad ones stays readable

# What each status means here, for the routes' documentation.
MEANINGS: dict[int, str] = {
    400: "the body cannot be read (not UTF-8 JSON text)",
    401: "the admin token is missing",
    403: "the admin token is wrong, or admin endpoints are disabled (no ADMIN_TOKEN)",
    404: "nothing of that name",
    409: "the request conflicts with the current state",
    422: "the request's parameters or body are invalid: ``errors`` says which and why",
    429: "too many requests: wait as the Retry-After header says",
    503: "a dependency (Redis, the journal's database, the exchange) is unavailable; try again later",
}


class InvalidField(BaseModel):
    """One reason a request was refused as invalid."""

    field: str = Field(description="where, dotted: query.limit, body.scope, header.x-admin-token, or body itself")
    message: str = Field(description="what is wrong with it")


class Problem(BaseModel):
    """An error, as RFC 9457 problem details."""

    type: str = Field(
        "about:blank", description="a URI naming the kind of problem; about:blank when the status says it all"
    )
    title: str = Field(description="short summary of the kind of problem (the status phrase for about:blank)")
    status: int = Field(ge=400, le=599, description="the HTTP status code of this response")
    detail: str = Field(description="what went wrong this time, for a human")
    errors: list[InvalidField] | None = Field(
        None, description="for 422 only: every invalid field of the request and why"
    )


def problems(*statuses: int) -> dict[int | str, dict[str, Any]]:
    """The ``responses`` entries of a route that may answer these statuses, each as a Problem."""
    return {
        status: {
            "model": Problem,
            "description": MEANINGS.get(status, HTTPStatus(status).phrase),
            "content": {MEDIA_TYPE: {"schema": {"$ref": "#/components/schemas/Problem"}}},
        }
        for status in statuses
    }


def problem_response(
    status: int, detail: str, *, headers: Mapping[str, str] | None = None, errors: list[InvalidField] | None = None
) -> Response:
    problem = Problem(title=HTTPStatus(status).phrase, status=status, detail=detail, errors=errors)
    return JSONResponse(
        problem.model_dump(mode="json", exclude_none=True), status, headers=headers, media_type=MEDIA_TYPE
    )


async def _http_error(request: Request, error: Exception) -> Response:
    assert isinstance(error, HTTPException)
    if error.status_code < 400 or error.status_code in (204, 304):  # no body allowed
        return Response(status_code=error.status_code, headers=error.headers)
    return problem_response(error.status_code, str(error.detail), headers=error.headers)


def _where(location: tuple[str | int, ...]) -> str:
    return ".".join(str(part) for part in location) or "request"


async def _invalid_request(request: Request, error: Exception) -> Response:
    assert isinstance(error, RequestValidationError)
    # The input itself is never echoed: it may be anything a client sent, secrets included.
    errors = [
        InvalidField(field=_where(tuple(e.get("loc", ()))), message=str(e.get("msg", ""))) for e in error.errors()
    ]
    detail = "; ".join(f"{e.field}: {e.message}" for e in errors) or "invalid request"
    if len(detail) > MAX_DETAIL:
        detail = detail[: MAX_DETAIL - 3] + "..."
    return problem_response(422, detail, errors=errors)


async def _redis_unavailable(request: Request, error: Exception) -> Response:
    # Only the error's type is logged: its text may name the Redis host.
    log.warning("redis unavailable during %s: %s", request.url.path, type(error).__name__)
    return problem_response(503, "Redis is unavailable; try again later", headers={"Retry-After": "5"})


async def _unexpected(request: Request, error: Exception) -> Response:
    # The error is logged by the server as the exception propagates; its text never reaches the client.
    return problem_response(500, "an unexpected error; the service's log says more")


def install(app: FastAPI) -> None:
    """Answer every error of ``app`` as a Problem."""
    app.add_exception_handler(HTTPException, _http_error)
    app.add_exception_handler(RequestValidationError, _invalid_request)
    for error in RETRYABLE_ERRORS:  # Redis down or too slow: the client may retry, it is not our bug
        app.add_exception_handler(error, _redis_unavailable)
    app.add_exception_handler(Exception, _unexpected)
