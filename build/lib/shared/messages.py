"""Typed, versioned, immutable messages and their stream-entry encoding.

A stream entry has three fields: ``type`` (the message kind), ``v`` (its schema version) and ``data``
(the model as JSON). Decoding checks all three and raises :class:`~shared.errors.MessageError` with a
reason a human can act on; the consumer dead-letters such entries instead of retrying them.
"""

from __future__ import annotations

import hashlib
import time
import uuid
from typing import Any, ClassVar, TypeVar

import orjson
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from shared.errors import MessageError, UnknownMessageVersion

MAX_ENTRY_BYTES = 256 * 1024

StreamFields = dict[bytes, bytes]


def new_message_id() -> str:
    return uuid.uuid4().hex


def derived_message_id(parent_id: str, stage: str) -> str:
    """The id a stage gives the message it derives from ``parent_id``: the same parent always yields the
    same child id, so a redelivered opportunity leads to the same analysis, decision and client order
    id, and is never traded twice."""
    return hashlib.sha256(f"{stage}:{parent_id}".encode()).hexdigest()[:32]


class StreamMessage(BaseModel):
    """Base of every message that travels on a stream. Subclasses set ``TYPE`` and ``VERSION``."""

    model_config = ConfigDict(frozen=True, extra="forbid", allow_inf_nan=False)

    TYPE: ClassVar[str] = "message"
    VERSION: ClassVar[int] = 1

    message_id: str = Field(default_factory=new_message_id, min_length=1, max_length=64)
    created_at: float = Field(default_factory=time.time, ge=0)


M = TypeVar("M", bound=StreamMessage)


def encode(message: StreamMessage) -> dict[str, bytes | str]:
    return {
        "type": message.TYPE,
        "v": str(message.VERSION),
        "data": orjson.dumps(message.model_dump(mode="json")),
    }


def _field(fields: StreamFields, name: str) -> bytes:
    value = fields.get(name.encode())
    if value is None:
        raise MessageError(f"missing field {name!r}")
    return value


def decode(fields: StreamFields, model: type[M]) -> M:
    """Turn a raw entry into ``model``; raise MessageError saying what is wrong with it."""
    size = sum(len(k) + len(v) for k, v in fields.items())
    if size > MAX_ENTRY_BYTES:
        raise MessageError(f"entry of {size} bytes is over the {MAX_ENTRY_BYTES} byte limit")
    kind = _field(fields, "type").decode(errors="replace")
    if kind != model.TYPE:
        raise MessageError(f"unexpected message type {kind!r}, expected {model.TYPE!r}")
    version_text = _field(fields, "v").decode(errors="replace")
    if not version_text.isdigit():
        raise MessageError(f"bad version {version_text!r}")
    if int(version_text) != model.VERSION:
        raise UnknownMessageVersion(f"{kind} version {version_text} is not supported (expected {model.VERSION})")
    try:
        payload: Any = orjson.loads(_field(fields, "data"))
    except orjson.JSONDecodeError as error:
        raise MessageError(f"data is not valid JSON: {error}") from None
    try:
        return model.model_validate(payload)
    except ValidationError as error:
        problems = "; ".join(f"{'.'.join(str(p) for p in e['loc']) or 'data'}: {e['msg']}" for e in error.errors()[:5])
        raise MessageError(f"invalid {kind}: {problems}") from None
