"""Auth's settings and its AsyncAPI document."""

import json

import pytest
from pydantic import SecretStr

from contexts.auth.app import create_asyncapi_app
from contexts.auth.settings import AuthSettings


def test_defaults_match_the_documented_ports_and_names() -> None:
    settings = AuthSettings()

    assert settings.http_port == 8002
    assert settings.database_url.endswith("@127.0.0.1:5432/streamflow_auth")
    assert settings.users_url == "http://127.0.0.1:8001"
    assert (settings.issuer, settings.audience) == ("streamflow-auth", "streamflow-api")
    assert settings.access_token_ttl == 900
    assert settings.refresh_token_ttl == 30 * 24 * 3600


def test_every_setting_is_described() -> None:
    undescribed = [
        name
        for name, field in AuthSettings.model_fields.items()
        if not field.description
    ]

    assert undescribed == []


def test_settings_come_from_auth_prefixed_variables(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("AUTH_ACCESS_TOKEN_TTL", "120")
    monkeypatch.setenv("AUTH_MAX_FAILURES_PER_ACCOUNT", "9")
    monkeypatch.setenv("USERS_ACCESS_TOKEN_TTL", "5")

    settings = AuthSettings()

    assert (settings.access_token_ttl, settings.max_failures_per_account) == (120, 9)


def test_signing_keys_stay_out_of_reprs(private_pem: str) -> None:
    settings = AuthSettings(signing_keys=SecretStr(private_pem))

    assert "PRIVATE KEY" not in repr(settings)


def test_asyncapi_documents_the_commands_events_and_token_revoked(
    settings: AuthSettings,
) -> None:
    document = json.loads(
        create_asyncapi_app(settings).schema.to_specification().to_json()
    )

    assert document["asyncapi"] == "3.0.0"
    channels = set(document["channels"])
    for queue in ("auth.login", "auth.refresh", "auth.logout"):
        assert any(channel.startswith(f"{queue}:") for channel in channels)
    for queue in ("auth.user.updated", "auth.user.deleted"):
        assert any(channel.startswith(f"{queue}:") for channel in channels)
    assert document["operations"]["token.revoked"]["action"] == "send"
    revoked = document["components"]["schemas"]["TokenRevoked"]
    assert {"jti", "user_id", "expires_at"} <= set(revoked["properties"])
