"""One settings object for every service, read from the environment and validated at start.

Every service subclasses :class:`ServiceSettings` and adds its own fields; :func:`load_settings`
turns a validation error into a message that names the environment variable at fault.
"""

from __future__ import annotations

import sys
from typing import Literal, TypeVar

from pydantic import Field, SecretStr, ValidationError, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

LogLevel = Literal["DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL"]


class ServiceSettings(BaseSettings):
    """Settings shared by every service. Environment variable = field name in upper case."""

    model_config = SettingsConfigDict(
        env_file=".env", env_file_encoding="utf-8", extra="ignore", frozen=True, validate_default=True
    )

    service_name: str = Field("service", min_length=1, max_length=64, pattern=r"^[a-z0-9_-]+$")
    host: str = "127.0.0.1"
    port: int = Field(8000, ge=1, le=65535)
    log_level: LogLevel = "INFO"

    redis_url: str = "redis://127.0.0.1:6379/0"
    redis_password: SecretStr | None = None
    redis_socket_timeout_s: float = Field(5.0, gt=0, le=60)
    redis_connect_timeout_s: float = Field(2.0, gt=0, le=60)
    redis_max_connections: int = Field(64, ge=2, le=10_000)
    redis_pool_timeout_s: float = Field(10.0, gt=0, le=300)  # wait for a free pooled connection

    # Cache tiers: fresh TTL in seconds, and how long a stale copy is kept after it (multiple of fresh TTL).
    # The gateway's candle series are fresh until their candle closes; their tier's TTL sets the stale window.
    cache_ttl_price_s: float = Field(30, gt=0, le=86_400)
    cache_ttl_ohlcv_s: float = Field(300, gt=0, le=86_400)
    cache_ttl_market_s: float = Field(120, gt=0, le=86_400)
    cache_ttl_technical_s: float = Field(600, gt=0, le=86_400)
    cache_ttl_global_s: float = Field(900, gt=0, le=86_400)
    cache_stale_factor: float = Field(10.0, ge=0, le=1_000)
    cache_l1_max_entries: int = Field(10_000, ge=0, le=10_000_000)
    cache_l1_ttl_s: float = Field(10.0, ge=0, le=3_600)
    cache_lock_ttl_s: float = Field(
        2.0, ge=0.1, le=600, description="the fill lock's lease, renewed while the fetch runs: what a dead holder costs"
    )
    cache_fill_wait_s: float = Field(30.0, gt=0, le=600, description="longest a caller waits for another's fill")
    cache_key_prefix: str = Field("tp", pattern=r"^[A-Za-z0-9_.-]+$")
    cache_candle_grace_s: float = Field(
        2.0, ge=0, le=3_600, description="a candle series is fresh until its candle closes, plus this"
    )

    # Streams: batch, concurrency, reclaim and dead-letter thresholds, approximate trimming.
    stream_batch_size: int = Field(32, ge=1, le=10_000)
    stream_concurrency: int = Field(16, ge=1, le=10_000)
    stream_block_ms: int = Field(1_000, ge=1, le=60_000)
    stream_claim_idle_ms: int = Field(30_000, ge=1, le=3_600_000)
    stream_max_deliveries: int = Field(5, ge=1, le=1_000)
    stream_maxlen: int = Field(100_000, ge=100, le=100_000_000)
    stream_shutdown_grace_s: float = Field(10.0, ge=0, le=600)
    idempotency_ttl_s: int = Field(86_400, ge=1, le=30 * 86_400)

    admin_token: SecretStr | None = None

    # The journal (shared/journal/): execution, monitor and the export command read it, the journal service
    # writes it. Without DATABASE_URL it is a SQLite file under DATA_DIR. A URL may hold a password: secret.
    database_url: SecretStr | None = Field(None, description="e.g. postgresql+asyncpg://user:pw@host:5432/tradepipe")
    data_dir: str = Field("data", min_length=1, description="where embedded data (the SQLite journal) lives")

    # Exchange / market-data gateway. Without EXCHANGE_BASE_URL the real exchange is used.
    exchange_id: str = Field("bingx", pattern=r"^[a-z0-9]+$")
    exchange_base_url: str | None = Field(None, description="e.g. http://127.0.0.1:8020/openApi for the simulator")
    exchange_api_key: SecretStr | None = None
    exchange_api_secret: SecretStr | None = None
    exchange_timeout_ms: int = Field(10_000, ge=100, le=120_000)
    exchange_rate_per_s: float = Field(10.0, gt=0, le=10_000)  # BingX: 10 weight units per second
    exchange_rate_burst: float = Field(10.0, gt=0, le=10_000)
    exchange_max_wait_s: float = Field(30.0, ge=0, le=600)  # longest a call waits for rate-limit budget
    exchange_max_concurrency: int = Field(8, ge=1, le=256)
    exchange_retries: int = Field(3, ge=0, le=10)
    # The longest a caller waits for the exchange on a read: then it gets the stale copy, or a clear
    # error, while the call goes on in the background and its answer is cached for the next reader.
    exchange_read_deadline_s: float = Field(3.0, gt=0, le=120)
    breaker_failure_threshold: int = Field(5, ge=1, le=1_000)
    breaker_reset_s: float = Field(
        0.5, gt=0, le=3_600, description="an open breaker tries one call this often: recovery takes about this"
    )
    gateway_mode: Literal["optimized", "baseline"] = "optimized"

    # LLM analysts (ia1, ia2): any OpenAI-compatible chat-completions API. Used only when the service's
    # IA1_PROVIDER / IA2_PROVIDER is "llm"; without LLM_BASE_URL nothing calls a model.
    llm_base_url: str | None = Field(None, description="e.g. https://api.openai.com/v1 or http://localhost:11434/v1")
    llm_api_key: SecretStr | None = None
    llm_timeout_s: float = Field(20.0, gt=0, le=300)
    llm_max_tokens: int = Field(600, ge=16, le=32_000)  # per answer
    llm_max_requests_per_hour: int = Field(600, ge=0, le=1_000_000)  # per service, over all its replicas
    llm_max_tokens_per_hour: int = Field(600_000, ge=0, le=1_000_000_000)

    @field_validator("redis_url")
    @classmethod
    def _redis_scheme(cls, value: str) -> str:
        if not value.startswith(("redis://", "rediss://", "unix://")):
            raise ValueError("must start with redis://, rediss:// or unix://")
        return value

    @field_validator("database_url")
    @classmethod
    def _database_scheme(cls, value: SecretStr | None) -> SecretStr | None:
        if value is not None and not value.get_secret_value().startswith(
            ("sqlite+aiosqlite://", "postgresql+asyncpg://")
        ):
            raise ValueError("must start with sqlite+aiosqlite:// or postgresql+asyncpg://")
        return value

    def secret_values(self) -> list[str]:
        """Every secret's plain value, so the log redactor can blank them out wherever they appear."""
        values: list[str] = []
        for name in type(self).model_fields:
            value = getattr(self, name)
            if isinstance(value, SecretStr) and value.get_secret_value():
                values.append(value.get_secret_value())
        return values


class RiskSettings(ServiceSettings):
    """Risk limits (RISK_*): ia2 decides with them, execution enforces the hard caps again at order time."""

    paper_start_balance: float = Field(10_000.0, gt=0, allow_inf_nan=False)
    risk_per_trade: float = Field(0.01, gt=0, le=0.1)
    risk_atr_stop_multiple: float = Field(2.0, gt=0, le=20)
    risk_reward_ratio: float = Field(2.0, gt=0, le=20)
    risk_min_confidence: float = Field(0.55, ge=0, le=1)
    risk_max_open_positions: int = Field(5, ge=1, le=1_000)
    risk_max_symbol_exposure: float = Field(0.25, gt=0, le=10)
    risk_max_total_exposure: float = Field(1.0, gt=0, le=50)
    risk_max_correlation: float = Field(0.8, gt=0, le=1)
    risk_max_daily_loss: float = Field(0.05, gt=0, le=1)
    risk_max_drawdown: float = Field(0.15, gt=0, le=1)
    risk_min_notional: float = Field(5.0, ge=0)


class SettingsError(SystemExit):
    """Raised instead of a traceback when the environment holds an invalid setting."""


SettingsT = TypeVar("SettingsT", bound=ServiceSettings)


def describe_validation_error(error: ValidationError) -> str:
    lines = []
    for problem in error.errors():
        variable = "_".join(str(part) for part in problem["loc"]).upper() or "?"
        lines.append(f"invalid setting {variable}: {problem['msg']}")
    return "; ".join(lines)


def load_settings(cls: type[SettingsT], **overrides: object) -> SettingsT:
    """Build ``cls`` from the environment; exit with a message naming the bad variable(s)."""
    try:
        return cls(**overrides)  # type: ignore[arg-type]
    except ValidationError as error:
        message = describe_validation_error(error)
        print(message, file=sys.stderr)
        raise SettingsError(message) from None
