"""Keys and settings for the auth unit tests: nothing touches the disk or a service."""

import pytest
from pydantic import SecretStr

from contexts.auth.keys import Keyring, generate_private_pem, parse_keys
from contexts.auth.settings import AuthSettings


@pytest.fixture(scope="session")
def private_pem() -> str:
    return generate_private_pem().decode("ascii")


@pytest.fixture(scope="session")
def keyring(private_pem: str) -> Keyring:
    return parse_keys(private_pem)


@pytest.fixture
def settings(private_pem: str) -> AuthSettings:
    return AuthSettings(environment="test", signing_keys=SecretStr(private_pem))
