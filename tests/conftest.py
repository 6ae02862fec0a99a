"""Fixtures for every suite. Unit tests use none of the services below."""

from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest

from tests.support.rabbit import RabbitControl
from tests.support.services import Services, resolve_services

ROOT = Path(__file__).resolve().parent.parent


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        parts = Path(str(item.fspath)).relative_to(ROOT).parts
        if "integration" in parts:
            item.add_marker(pytest.mark.integration)
        elif "e2e" in parts:
            item.add_marker(pytest.mark.e2e)


@pytest.fixture(scope="session")
def services() -> Iterator[Services]:
    with resolve_services() as found:
        yield found


@pytest.fixture
async def rabbit(services: Services) -> AsyncIterator[RabbitControl]:
    """Control over RabbitMQ's application; it is always running again after."""
    control = RabbitControl(services.rabbitmq_control)
    yield control
    if control.stopped:
        await control.start()
