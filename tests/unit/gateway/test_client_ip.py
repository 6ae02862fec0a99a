"""The client's address: the peer, unless a trusted proxy vouches for another."""

from ipaddress import IPv4Network, IPv6Network, ip_network

import pytest
from fastapi import Request

from gateway.client_ip import client_ip

PROXIES: list[IPv4Network | IPv6Network] = [ip_network("10.0.0.0/8")]


def request(peer: str, *forwarded: str) -> Request:
    headers = [(b"x-forwarded-for", value.encode()) for value in forwarded]
    return Request(
        {"type": "http", "client": (peer, 40_000), "headers": headers, "method": "GET"}
    )


def test_without_trusted_proxies_the_header_is_ignored() -> None:
    assert client_ip(request("203.0.113.7", "198.51.100.1"), []) == "203.0.113.7"


def test_an_untrusted_peer_cannot_name_another_address() -> None:
    found = client_ip(request("203.0.113.7", "198.51.100.1"), PROXIES)

    assert found == "203.0.113.7"


@pytest.mark.parametrize(
    ("forwarded", "expected"),
    [
        (("198.51.100.1",), "198.51.100.1"),
        # The client wrote the left-most entry itself: only what the proxy
        # appended counts.
        (("6.6.6.6, 198.51.100.1",), "198.51.100.1"),
        (("6.6.6.6", "198.51.100.1, 10.0.0.3"), "198.51.100.1"),
        (("10.0.0.9, 10.0.0.3",), "10.0.0.9"),
        (("not-an-address",), "10.0.0.2"),
        ((), "10.0.0.2"),
    ],
)
def test_a_trusted_proxy_is_read_from_the_right(
    forwarded: tuple[str, ...], expected: str
) -> None:
    assert client_ip(request("10.0.0.2", *forwarded), PROXIES) == expected
