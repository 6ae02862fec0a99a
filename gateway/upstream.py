"""Reads proxied to the context that owns the data, over pooled keep-alive HTTP.

A context that is down makes the gateway answer 503, at once (connection
refused) or after the connect timeout; one that hangs, 504 after
``upstream_timeout``; one that fails or answers garbage, 502. No request waits
longer than ``upstream_timeout``.
"""

import json
from collections.abc import Mapping
from typing import Any

import aiohttp
import structlog
from fastapi import Response

from bus.correlation import HEADER as CORRELATION_HEADER
from bus.correlation import current_correlation_id
from gateway.errors import ApiError, field_errors
from gateway.settings import GatewaySettings

log = structlog.get_logger(__name__)

JSON = "application/json"


def create_session(settings: GatewaySettings) -> aiohttp.ClientSession:
    """One pooled session for every context the gateway talks to."""
    connector = aiohttp.TCPConnector(
        limit=0,
        limit_per_host=settings.upstream_connections,
        keepalive_timeout=30,
        # Contexts are addressed by IP or by names that rarely move.
        ttl_dns_cache=60,
    )
    timeout = aiohttp.ClientTimeout(
        total=settings.upstream_timeout,
        sock_connect=settings.upstream_connect_timeout,
    )
    # Responses are passed through as bytes: no cookie jar, no decompression.
    return aiohttp.ClientSession(
        connector=connector,
        timeout=timeout,
        cookie_jar=aiohttp.DummyCookieJar(),
        auto_decompress=False,
        raise_for_status=False,
    )


class Upstream:
    """One context's REST reads."""

    def __init__(self, name: str, base_url: str, session: aiohttp.ClientSession):
        self.name = name
        self._base = base_url.rstrip("/")
        self._session = session

    async def get(
        self,
        path: str,
        *,
        headers: Mapping[str, str] | None = None,
        params: Mapping[str, str] | None = None,
    ) -> Response:
        """GET ``path`` and return the context's JSON, or raise an ``ApiError``."""
        status, body = await self.fetch(path, headers=headers, params=params)
        if not 200 <= status < 300:
            raise self._error(status, body)
        return Response(content=body, status_code=status, media_type=JSON)

    async def get_json(self, path: str) -> Any:
        """GET ``path`` for the gateway's own use (keys, revocations)."""
        status, body = await self.fetch(path)
        if status != 200:
            raise self._error(status, body)
        return json.loads(body)

    async def fetch(
        self,
        path: str,
        *,
        headers: Mapping[str, str] | None = None,
        params: Mapping[str, str] | None = None,
    ) -> tuple[int, bytes]:
        sent = {CORRELATION_HEADER: current_correlation_id(), "accept": JSON}
        if headers:
            sent.update(headers)
        url = self._base + path
        try:
            try:
                return await self._send(url, sent, params)
            except aiohttp.ServerDisconnectedError:
                # A pooled connection the context closed (a restart, say): a GET
                # is safe to send once more, on a fresh connection.
                return await self._send(url, sent, params)
        except aiohttp.ServerDisconnectedError:
            raise self._failure(502, "closed the connection") from None
        except aiohttp.ConnectionTimeoutError:
            raise self._failure(503, "could not be reached in time") from None
        except TimeoutError:
            raise self._failure(504, "did not answer in time") from None
        except aiohttp.ClientConnectorError:
            raise self._failure(503, "is unreachable") from None
        except aiohttp.ClientError:
            raise self._failure(502, "failed to answer") from None

    async def _send(
        self, url: str, headers: Mapping[str, str], params: Mapping[str, str] | None
    ) -> tuple[int, bytes]:
        async with self._session.get(
            url, headers=headers, params=params, allow_redirects=False
        ) as response:
            return response.status, await response.read()

    def _failure(self, status: int, what: str) -> ApiError:
        log.warning("gateway.upstream.failed", upstream=self.name, status=status)
        return ApiError(status, f"The {self.name} service {what}.")

    def _error(self, status: int, body: bytes) -> ApiError:
        """The gateway's error for a context's error answer."""
        if status == 503:
            return self._failure(503, "is unavailable")
        if status == 504:
            return self._failure(504, "did not answer in time")
        if not 400 <= status < 500:
            return self._failure(502, "failed")
        detail = _detail(body)
        if status == 422 and isinstance(detail, list):
            return ApiError(
                422,
                "The request is invalid.",
                details=field_errors(item for item in detail if isinstance(item, dict)),
            )
        message = detail if isinstance(detail, str) else "The request failed."
        return ApiError(status, message)


def _detail(body: bytes) -> Any:
    """FastAPI's ``detail`` of an error body, if there is one."""
    try:
        parsed = json.loads(body)
    except ValueError:
        return None
    return parsed.get("detail") if isinstance(parsed, dict) else None
