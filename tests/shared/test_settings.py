"""Settings: read from the environment, validated, errors name the variable."""

from __future__ import annotations

import subprocess
import sys

import pytest

from shared.settings import ServiceSettings, SettingsError, load_settings


def test_defaults_and_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("REDIS_URL", "redis://example:6380/2")
    monkeypatch.setenv("CACHE_TTL_PRICE_S", "12.5")
    monkeypatch.setenv("REDIS_PASSWORD", "hunter2-secret")
    settings = load_settings(ServiceSettings)
    assert settings.redis_url == "redis://example:6380/2"
    assert settings.cache_ttl_price_s == 12.5
    assert settings.cache_ttl_ohlcv_s == 300
    assert "hunter2-secret" not in repr(settings)
    assert settings.secret_values() == ["hunter2-secret"]


@pytest.mark.parametrize(
    ("variable", "value", "expected"),
    [
        ("PORT", "70000", "invalid setting PORT"),
        ("REDIS_URL", "http://nope", "invalid setting REDIS_URL: Value error, must start with redis://"),
        ("CACHE_TTL_OHLCV_S", "-1", "invalid setting CACHE_TTL_OHLCV_S"),
        ("LOG_LEVEL", "LOUD", "invalid setting LOG_LEVEL"),
        ("STREAM_BATCH_SIZE", "many", "invalid setting STREAM_BATCH_SIZE"),
    ],
)
def test_bad_value_names_the_variable(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], variable: str, value: str, expected: str
) -> None:
    monkeypatch.setenv(variable, value)
    with pytest.raises(SettingsError, match=expected):
        load_settings(ServiceSettings)
    assert expected in capsys.readouterr().err


def test_bad_setting_stops_a_process_with_the_message() -> None:
    code = "from shared.settings import load_settings, ServiceSettings; load_settings(ServiceSettings)"
    result = subprocess.run(
        [sys.executable, "-c", code], env={"PORT": "0", "PATH": ""}, capture_output=True, text=True, check=False
    )
    assert result.returncode != 0
    assert "invalid setting PORT" in result.stderr
    assert "Traceback" not in result.stderr
