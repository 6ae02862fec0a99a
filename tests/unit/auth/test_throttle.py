"""Throttling: window arithmetic and the counters an attempt is charged to."""

from datetime import UTC, datetime, timedelta

import pytest

from bus.replies import CommandError, ErrorCode
from contexts.auth.service import Throttle, Window, account_key, address_key
from contexts.auth.settings import AuthSettings

START = datetime(2026, 1, 1, 12, 0, tzinfo=UTC)
LENGTH = timedelta(minutes=15)


def test_a_window_blocks_from_its_limit_until_it_ends() -> None:
    window = Window(started_at=START, failures=5)

    assert not Window(START, 4).blocks(5, LENGTH, START + timedelta(seconds=1))
    assert window.blocks(5, LENGTH, START + timedelta(seconds=1))
    assert window.blocks(5, LENGTH, START + LENGTH - timedelta(microseconds=1))
    assert not window.blocks(5, LENGTH, START + LENGTH)


@pytest.mark.parametrize(
    ("elapsed", "expected"),
    [
        (timedelta(0), 900),
        (timedelta(seconds=899), 1),
        (timedelta(seconds=899, milliseconds=500), 1),
        (timedelta(seconds=600, milliseconds=1), 300),
        (LENGTH, 1),
    ],
)
def test_retry_after_rounds_up_to_whole_seconds(
    elapsed: timedelta, expected: int
) -> None:
    assert Window(START, 9).retry_after(LENGTH, START + elapsed) == expected


def test_an_account_is_keyed_by_its_normalised_email_hash() -> None:
    key = account_key("  Alice@Example.COM ")

    assert key == account_key("alice@example.com")
    assert key.startswith("account:")
    assert "alice" not in key
    assert len(key) <= 100


def test_ipv4_addresses_are_counted_one_by_one() -> None:
    assert address_key("203.0.113.7") == "address:203.0.113.7"
    assert address_key("203.0.113.7") != address_key("203.0.113.8")


def test_ipv6_addresses_are_counted_per_64_network() -> None:
    first = address_key("2001:db8:1:2:aaaa::1")

    assert first == address_key("2001:0db8:0001:0002:ffff:ffff:ffff:ffff")
    assert first == "address:2001:db8:1:2::/64"
    assert first != address_key("2001:db8:1:3::1")


def test_a_client_address_that_is_not_an_ip_is_invalid() -> None:
    with pytest.raises(CommandError) as refused:
        address_key("somewhere; DROP TABLE")

    assert refused.value.info.code is ErrorCode.INVALID


def test_login_counts_account_and_address_with_their_limits() -> None:
    settings = AuthSettings(max_failures_per_account=4, max_failures_per_address=40)

    throttle = Throttle.for_login(settings, "bob@example.com", "198.51.100.1")

    assert dict(throttle.limits) == {
        account_key("bob@example.com"): 4,
        "address:198.51.100.1": 40,
    }
    assert throttle.window == timedelta(seconds=settings.throttle_window)


def test_refresh_counts_the_address_only() -> None:
    throttle = Throttle.for_refresh(AuthSettings(), "198.51.100.1")

    assert list(throttle.limits) == ["address:198.51.100.1"]
