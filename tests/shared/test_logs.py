"""JSON logs with secrets redacted."""

from __future__ import annotations

import logging

import orjson
import pytest

from shared.logs import REDACTED, Redactor, configure_logging


def test_redactor_blanks_known_secrets_and_secret_shaped_text() -> None:
    redact = Redactor(["s3cr3t-value"])
    text = redact("key s3cr3t-value in redis://user:pa55word@host:6379 with apiKey=abc123 and signature=ff00")
    assert "s3cr3t-value" not in text
    assert "pa55word" not in text
    assert "abc123" not in text
    assert "ff00" not in text
    assert text.count(REDACTED) == 4


def test_logs_are_json_lines_without_secrets(capsys: pytest.CaptureFixture[str]) -> None:
    configure_logging("svc", "INFO", secrets=["top-secret-token"])
    log = logging.getLogger("test.logs")
    log.info("connecting with top-secret-token", extra={"symbol": "BTC"})
    try:
        raise RuntimeError("failed with password=top-secret-token")
    except RuntimeError:
        log.exception("boom")
    lines = [orjson.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert lines[0]["service"] == "svc"
    assert lines[0]["symbol"] == "BTC"
    assert lines[0]["msg"] == f"connecting with {REDACTED}"
    assert "top-secret-token" not in lines[1]["exc"]
    assert lines[1]["level"] == "ERROR"
    logging.getLogger().handlers.clear()
