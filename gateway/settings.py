"""Settings of the public API gateway (environment variables prefixed ``GATEWAY_``)."""

from ipaddress import IPv4Network, IPv6Network
from typing import Literal

from pydantic import Field
from pydantic_settings import SettingsConfigDict

from bus.settings import ServiceSettings


class GatewaySettings(ServiceSettings):
    """Where the gateway listens, where the contexts are, how tokens are checked."""

    model_config = SettingsConfigDict(
        env_prefix="GATEWAY_", env_file=".env", extra="ignore"
    )

    http_port: int = Field(default=8000, description="Port of the public API.")
    users_url: str = Field(
        default="http://127.0.0.1:8001", description="Base URL of the users context."
    )
    auth_url: str = Field(
        default="http://127.0.0.1:8002", description="Base URL of the auth context."
    )
    # Asymmetric algorithms only: with an HMAC one, anyone holding the public
    # key from the JWKS could sign tokens.
    jwt_algorithm: Literal["EdDSA", "ES256", "RS256"] = Field(
        default="EdDSA",
        description="The only signature algorithm accepted on access tokens; "
        "auth signs with it.",
    )
    jwt_issuer: str = Field(
        default="streamflow-auth", description="Required `iss` of access tokens."
    )
    jwt_audience: str = Field(
        default="streamflow-api", description="Required `aud` of access tokens."
    )
    jwt_leeway: float = Field(
        default=5.0, ge=0, description="Seconds of clock skew tolerated on `exp`."
    )
    jwks_refresh_interval: float = Field(
        default=30.0,
        gt=0,
        description="Fewest seconds between two JWKS fetches, so tokens with "
        "unknown key ids cannot make the gateway hammer auth.",
    )
    upstream_connect_timeout: float = Field(
        default=1.0, gt=0, description="Seconds to open a connection to a context."
    )
    upstream_timeout: float = Field(
        default=5.0, gt=0, description="Seconds a proxied read may take in all."
    )
    upstream_connections: int = Field(
        default=100, ge=1, description="Pooled keep-alive connections per context."
    )
    trusted_proxies: list[IPv4Network | IPv6Network] = Field(
        default_factory=list,
        description="Networks of reverse proxies whose X-Forwarded-For is "
        'believed (JSON list, e.g. ["10.0.0.0/8"]). Empty: the client\'s address '
        "is the connection's peer, whatever headers say.",
    )
    graceful_timeout: int = Field(
        default=10, gt=0, description="Seconds in-flight requests get on shutdown."
    )
