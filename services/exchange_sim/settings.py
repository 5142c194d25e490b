"""The simulator's settings (environment variables, like every service)."""

from __future__ import annotations

from pydantic import Field, SecretStr

from shared.settings import ServiceSettings


class SimulatorSettings(ServiceSettings):
    service_name: str = "exchange_sim"
    port: int = Field(8020, ge=1, le=65535)

    sim_seed: int = Field(42, ge=0, le=2**31)
    sim_symbols: int = Field(200, ge=1, le=2_000)
    sim_api_key: str = Field("sim-key", min_length=1, max_length=128)
    sim_api_secret: SecretStr = SecretStr("sim-secret")
    sim_start_balance: float = Field(10_000.0, gt=0, allow_inf_nan=False)
    sim_taker_fee: float = Field(0.0005, ge=0, le=0.05)
    sim_maker_fee: float = Field(0.0002, ge=0, le=0.05)
    sim_leverage: int = Field(5, ge=1, le=125, description="leverage of every symbol and side until set")
    sim_listed_from_ms: int = Field(
        1_577_836_800_000, ge=0, description="symbol i is listed at this time (ms) plus i days; nothing before it"
    )
    sim_latency_ms: float = Field(0.0, ge=0, le=60_000)
    sim_latency_jitter_ms: float = Field(0.0, ge=0, le=60_000)
    # BingX-style budgets: public market data weighs 1 (10/s), account and order calls weigh 2 (5/s).
    sim_rate_limit_per_s: float = Field(10.0, gt=0, le=100_000)
    sim_rate_limit_burst: float = Field(20.0, gt=0, le=100_000)
    sim_rate_limit_enabled: bool = True
