"""Live trading never starts by accident: the execution process refuses a half-configured live setup."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

from devkit.net import free_port


@pytest.mark.parametrize(
    ("env", "message"),
    [
        ({"TRADING_MODE": "live"}, "LIVE_TRADING_ENABLED=true"),
        ({"TRADING_MODE": "live", "LIVE_TRADING_ENABLED": "true"}, "EXCHANGE_API_KEY and EXCHANGE_API_SECRET"),
        ({"TRADING_MODE": "live", "LIVE_TRADING_ENABLED": "true", "EXCHANGE_API_KEY": "k"}, "EXCHANGE_API_SECRET"),
    ],
)
def test_half_configured_live_refuses_to_start(redis_url: str, env: dict[str, str], message: str) -> None:
    base = {k: v for k, v in os.environ.items() if not k.startswith(("EXCHANGE_API", "TRADING_", "LIVE_"))}
    done = subprocess.run(
        [sys.executable, "-m", "services.execution"],
        env={**base, "REDIS_URL": redis_url, "PORT": str(free_port()), **env},
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert done.returncode == 2
    assert "refusing to start" in done.stderr and message in done.stderr
