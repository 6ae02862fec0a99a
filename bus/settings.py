"""Settings every StreamFlow process shares.

Each service subclasses ``ServiceSettings`` with an env prefix of its own
(``USERS_``, ``AUTH_`` …), so ``USERS_AMQP_URL`` and ``AUTH_AMQP_URL`` can
differ. Outside development, secrets still holding a documented development
default are refused at start.
"""

from typing import Literal, Self

from pydantic import Field, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

Environment = Literal["development", "test", "production"]

# Values that appear in .env.example and in the README. Any secret equal to one
# of them is a placeholder and must not reach production.
PLACEHOLDER_SECRETS = frozenset({"", "changeme", "change-me", "secret", "Admin123!"})


class ServiceSettings(BaseSettings):
    """What every process needs: where RabbitMQ is, how to log, where to listen."""

    model_config = SettingsConfigDict(env_file=".env", extra="ignore")

    environment: Environment = Field(
        default="development", description="development, test or production."
    )
    amqp_url: str = Field(
        default="amqp://guest:guest@127.0.0.1:5672/", description="RabbitMQ URL."
    )
    http_host: str = Field(default="127.0.0.1", description="Address to listen on.")
    http_port: int = Field(default=8000, description="Port to listen on.")
    log_level: str = Field(default="INFO", description="Lowest level logged.")
    log_json: bool | None = Field(
        default=None,
        description="JSON log lines; by default JSON unless stderr is a terminal.",
    )
    command_timeout: float = Field(
        default=5.0, gt=0, description="Seconds a command may wait for its reply."
    )
    max_attempts: int = Field(
        default=5,
        ge=1,
        description="Deliveries of an event before it is dead-lettered.",
    )
    retry_base_delay: float = Field(
        default=0.5, gt=0, description="First retry back-off in seconds; doubles."
    )
    prefetch: int = Field(default=32, ge=1, description="Unacked messages per queue.")

    def secret_fields(self) -> dict[str, str]:
        """Secrets this service must not run with as placeholders in production."""
        return {}

    @model_validator(mode="after")
    def _refuse_placeholders(self) -> Self:
        if self.environment != "production":
            return self
        weak = [
            name
            for name, value in self.secret_fields().items()
            if value in PLACEHOLDER_SECRETS
        ]
        if "guest:guest@" in self.amqp_url:
            weak.append("amqp_url")
        if weak:
            raise ValueError(
                "placeholder secrets are refused in production: " + ", ".join(weak)
            )
        return self


class DatabaseSettings(ServiceSettings):
    """A service that owns a database."""

    database_url: str = Field(description="SQLAlchemy async URL of the database.")
    database_pool_size: int = Field(default=10, ge=1, description="Pooled connections.")
    outbox_poll_interval: float = Field(
        default=2.0, gt=0, description="Seconds between outbox sweeps when idle."
    )
