"""Retry back-off, command deadlines and correlation-id binding."""

import asyncio
import contextvars
from uuid import uuid4

import pytest
import structlog

from bus.consumer import (
    DEADLINE_HEADER,
    MAX_BACKOFF_SECONDS,
    RetryPolicy,
    deadline_passed,
)
from bus.correlation import bind_correlation_id, current_correlation_id
from bus.events import UserDeleted


@pytest.mark.parametrize(
    ("attempt", "expected"), [(1, 0.5), (2, 1.0), (3, 2.0), (4, 4.0), (5, 8.0)]
)
def test_back_off_doubles_from_the_base_delay(attempt: int, expected: float) -> None:
    assert RetryPolicy(base_delay=0.5).delay(attempt) == expected


def test_back_off_is_capped() -> None:
    policy = RetryPolicy(max_attempts=50, base_delay=1.0)

    assert policy.delay(30) == MAX_BACKOFF_SECONDS
    assert max(policy.delay(n) for n in range(1, 50)) == MAX_BACKOFF_SECONDS


def test_a_message_without_a_deadline_never_expires() -> None:
    assert not deadline_passed({}, now_ms=10**15)


@pytest.mark.parametrize(
    ("deadline", "now_ms", "passed"),
    [
        (1_000, 999.0, False),
        (1_000, 1_000.0, False),
        (1_000, 1_001.0, True),
        ("1000", 1_001.0, True),
    ],
)
def test_deadline_passed_compares_with_now(
    deadline: int | str, now_ms: float, passed: bool
) -> None:
    assert deadline_passed({DEADLINE_HEADER: deadline}, now_ms=now_ms) is passed


def test_deadline_passed_defaults_to_the_clock() -> None:
    assert deadline_passed({DEADLINE_HEADER: 1})
    assert not deadline_passed({DEADLINE_HEADER: 2**62})


def test_bound_correlation_id_is_current_and_on_log_lines() -> None:
    def run() -> None:
        bound = bind_correlation_id("req-42")

        assert bound == "req-42"
        assert current_correlation_id() == "req-42"
        assert structlog.contextvars.get_contextvars()["correlation_id"] == "req-42"
        assert UserDeleted(user_id=uuid4()).correlation_id == "req-42"

    contextvars.Context().run(run)


def test_binding_nothing_makes_a_new_id() -> None:
    def run() -> None:
        bound = bind_correlation_id(None)

        assert len(bound) == 32
        assert current_correlation_id() == bound

    contextvars.Context().run(run)


def test_without_a_binding_every_read_is_a_new_id() -> None:
    ids = contextvars.Context().run(
        lambda: {current_correlation_id() for _ in range(3)}
    )

    assert len(ids) == 3


async def test_a_binding_in_a_task_does_not_leak_to_its_caller() -> None:
    async def inner() -> str:
        return bind_correlation_id("inner")

    async def outer() -> tuple[str, str]:
        bind_correlation_id("outer")
        seen_inside = await asyncio.create_task(inner())
        return seen_inside, current_correlation_id()

    assert await asyncio.create_task(outer()) == ("inner", "outer")
