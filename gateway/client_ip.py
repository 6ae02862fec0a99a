"""The caller's address, which auth uses to throttle logins and refreshes.

By default it is the peer of the TCP connection, and ``X-Forwarded-For`` is
ignored: anyone can send that header, so believing it would let a client pick
a fresh address for every guess. Uvicorn's own proxy-header handling is off
(``gateway.__main__``) for the same reason.

Behind a reverse proxy (nginx, a load balancer), list the proxy's networks in
``GATEWAY_TRUSTED_PROXIES``. When the peer is one of them, the header is read
from the right: each hop a trusted proxy appended is skipped, and the first
address that is not a trusted proxy is the client (garbage there falls back
to the peer). Entries further left were
written by the client itself and are never believed.
"""

from collections.abc import Sequence
from ipaddress import IPv4Network, IPv6Network, ip_address

from fastapi import Request

UNKNOWN = "unknown"

Networks = Sequence[IPv4Network | IPv6Network]


def _trusted(address: str, proxies: Networks) -> bool:
    try:
        parsed = ip_address(address)
    except ValueError:
        return False
    return any(parsed in network for network in proxies)


def client_ip(request: Request, trusted_proxies: Networks) -> str:
    peer = request.client.host if request.client else UNKNOWN
    if not trusted_proxies or not _trusted(peer, trusted_proxies):
        return peer

    hops = [
        hop.strip()
        for header in request.headers.getlist("x-forwarded-for")
        for hop in header.split(",")
    ]
    for hop in reversed(hops):
        if not _trusted(hop, trusted_proxies):
            return _valid(hop) or peer
    # Every hop is a trusted proxy: the left-most one is where the request began.
    return (_valid(hops[0]) if hops else None) or peer


def _valid(address: str) -> str | None:
    try:
        return str(ip_address(address))
    except ValueError:
        return None
