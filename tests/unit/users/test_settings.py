"""UsersSettings: prefix, documented defaults, placeholder secrets refused."""

import pytest
from pydantic import ValidationError

from contexts.users.settings import UsersSettings


def test_defaults_are_the_documented_development_values(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    for name in ("HTTP_PORT", "DATABASE_URL", "ADMIN_EMAIL", "ADMIN_PASSWORD"):
        monkeypatch.delenv(f"USERS_{name}", raising=False)

    settings = UsersSettings(_env_file=None)

    assert settings.http_port == 8001
    assert settings.database_url == (
        "mysql+aiomysql://root@127.0.0.1:3306/streamflow_users"
    )
    assert settings.admin_email == "admin@streamflow.example"
    assert settings.admin_password == "Admin123!"
    assert settings.seed_password == "Password123!"


def test_settings_read_the_users_prefix(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("USERS_HTTP_PORT", "9101")
    monkeypatch.setenv("USERS_ADMIN_EMAIL", "root@example.com")

    settings = UsersSettings(_env_file=None)

    assert (settings.http_port, settings.admin_email) == (9101, "root@example.com")


def test_every_setting_is_described() -> None:
    undocumented = [
        name
        for name, field in UsersSettings.model_fields.items()
        if not field.description
    ]
    assert undocumented == []


def test_production_refuses_the_documented_admin_password() -> None:
    with pytest.raises(ValidationError, match="admin_password"):
        UsersSettings(
            environment="production",
            amqp_url="amqp://svc:s3cret@rabbit:5672/",
            admin_password="Admin123!",
        )


def test_production_accepts_a_real_admin_password() -> None:
    settings = UsersSettings(
        environment="production",
        amqp_url="amqp://svc:s3cret@rabbit:5672/",
        admin_password="a-long-unguessable-one",
    )
    assert "a-long-unguessable-one" not in repr(settings)
