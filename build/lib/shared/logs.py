"""JSON logs on stdout through the standard library, with secrets blanked out.

The redactor knows the plain values of the settings' secrets and also masks anything shaped like
``password=...``, ``apiKey: ...`` or ``signature=...``, so a secret in an exception message or a URL
never reaches the log.
"""

from __future__ import annotations

import logging
import re
import sys
from collections.abc import Iterable
from datetime import UTC, datetime
from typing import Any

import orjson

REDACTED = "***"
_SECRET_PAIRS = re.compile(
    r"(?i)\b(password|passwd|secret|api[_-]?key|apikey|token|signature|authorization)"
    r"(\"?\s*[:=]\s*\"?)([^\s\"'&,}]+)"
)
_URL_CREDENTIALS = re.compile(r"(\w+://)([^:/@\s]*):([^@/\s]+)@")
_STANDARD_ATTRS = set(logging.LogRecord("", 0, "", 0, "", (), None).__dict__) | {"message", "asctime"}


class Redactor:
    def __init__(self, secrets: Iterable[str] = ()) -> None:
        self._secrets = sorted({s for s in secrets if len(s) >= 4}, key=len, reverse=True)

    def __call__(self, text: str) -> str:
        for secret in self._secrets:
            text = text.replace(secret, REDACTED)
        text = _URL_CREDENTIALS.sub(rf"\1\2:{REDACTED}@", text)
        return _SECRET_PAIRS.sub(rf"\1\2{REDACTED}", text)


class JsonFormatter(logging.Formatter):
    def __init__(self, service: str, redact: Redactor) -> None:
        super().__init__()
        self._service = service
        self._redact = redact

    def format(self, record: logging.LogRecord) -> str:
        payload: dict[str, Any] = {
            "ts": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname,
            "service": self._service,
            "logger": record.name,
            "msg": record.getMessage(),
        }
        for key, value in record.__dict__.items():
            if key not in _STANDARD_ATTRS and not key.startswith("_"):
                payload[key] = value if isinstance(value, int | float | bool) or value is None else str(value)
        if record.exc_info:
            payload["exc"] = self.formatException(record.exc_info)
        # Redact each text before encoding, so a mask never breaks the JSON around it.
        for key, value in payload.items():
            if isinstance(value, str):
                payload[key] = self._redact(value)
        return orjson.dumps(payload).decode()


def configure_logging(service: str, level: str = "INFO", secrets: Iterable[str] = ()) -> None:
    """Send every logger's records to stdout as one JSON object per line."""
    handler = logging.StreamHandler(sys.stdout)
    handler.setFormatter(JsonFormatter(service, Redactor(secrets)))
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level)
    for noisy in ("uvicorn.access", "httpx", "ccxt"):
        logging.getLogger(noisy).setLevel(max(logging.WARNING, root.level))
