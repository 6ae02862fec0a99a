"""Fixtures of the gateway integration tests."""

import pytest

from tests.support.services import Services


@pytest.fixture(scope="session")
def services(services: Services) -> Services:
    """The shared services, with a RabbitMQ virtual host of this suite's own."""
    return services.isolated("gateway")
