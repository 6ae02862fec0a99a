"""Settings of the auth context (environment variables prefixed ``AUTH_``)."""

from pathlib import Path

from pydantic import Field, SecretStr
from pydantic_settings import SettingsConfigDict

from bus.settings import DatabaseSettings

ROOT = Path(__file__).resolve().parents[2]


class AuthSettings(DatabaseSettings):
    """Where auth listens, its database, its tokens' lifetimes, keys and limits."""

    model_config = SettingsConfigDict(
        env_prefix="AUTH_", env_file=".env", extra="ignore"
    )

    http_port: int = Field(default=8002, description="Port of the REST reads.")
    database_url: str = Field(
        default="postgresql+asyncpg://postgres@127.0.0.1:5432/streamflow_auth",
        description="SQLAlchemy async URL of the auth database (PostgreSQL).",
    )
    users_url: str = Field(
        default="http://127.0.0.1:8001",
        description="Base URL of the users context, whose credential check "
        "login calls.",
    )
    users_timeout: float = Field(
        default=3.0,
        gt=0,
        description="Seconds a credential check may take before login answers "
        "`unavailable`; below the gateway's command timeout.",
    )

    issuer: str = Field(
        default="streamflow-auth", description="`iss` claim of every access token."
    )
    audience: str = Field(
        default="streamflow-api", description="`aud` claim of every access token."
    )
    access_token_ttl: int = Field(
        default=900, ge=30, description="Seconds an access token stays valid."
    )
    refresh_token_ttl: int = Field(
        default=30 * 24 * 3600,
        ge=60,
        description="Seconds a refresh token stays valid after it is issued; "
        "each refresh issues a new one.",
    )

    signing_keys: SecretStr | None = Field(
        default=None,
        description="Ed25519 keys in PEM, one or more blocks. The first private "
        "key signs; every key (private or public) verifies, so a rotated-out "
        "key keeps its tokens valid until they expire.",
    )
    signing_keys_file: Path | None = Field(
        default=None,
        description="A file holding the same PEM blocks as `signing_keys`; "
        "read when `signing_keys` is not set.",
    )
    dev_keys_dir: Path = Field(
        default=ROOT / ".run" / "keys",
        description="Outside production, where a signing key is generated (once, "
        "then reused) when none is configured.",
    )

    throttle_window: int = Field(
        default=900,
        ge=1,
        description="Seconds of the window in which failed logins are counted.",
    )
    max_failures_per_account: int = Field(
        default=5,
        ge=1,
        description="Failed logins for one email within the window before "
        "further attempts are refused until the window ends.",
    )
    max_failures_per_address: int = Field(
        default=30,
        ge=1,
        description="Failed logins and refreshes from one client address (an "
        "IPv6 /64) within the window before it is refused until the window ends.",
    )
    purge_interval: float = Field(
        default=300.0,
        gt=0,
        description="Seconds between sweeps that delete expired revocations, "
        "refresh tokens and throttling windows.",
    )

    def secret_fields(self) -> dict[str, str]:
        """Configured signing keys must not be a documented placeholder."""
        if self.signing_keys is None:
            return {}
        return {"signing_keys": self.signing_keys.get_secret_value()}
