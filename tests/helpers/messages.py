"""Message types used only by the tests."""

from __future__ import annotations

from typing import ClassVar

from shared.messages import StreamMessage


class Ping(StreamMessage):
    TYPE: ClassVar[str] = "test.ping"
    VERSION: ClassVar[int] = 1

    body: str
