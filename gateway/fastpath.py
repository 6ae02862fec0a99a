"""The hottest reads, served without FastAPI's routing and dependency injection.

``GET /usuarios/{id}`` and ``GET /auth/me`` are most of the gateway's
traffic, and on them FastAPI's route matching and dependency solving cost
more than the proxied request itself. This middleware recognises exactly
those requests (a canonical UUID in the path) and runs the same code as their
routes: ``Gateway.authenticate`` and the routes' proxy functions, with the
same error responses. Anything else, including every malformed variant of
those paths, goes on to FastAPI, which also documents both routes.
"""

import re
from collections.abc import Awaitable, Callable
from uuid import UUID

from fastapi.security.utils import get_authorization_scheme_param
from starlette.responses import Response
from starlette.types import ASGIApp, Receive, Scope, Send

from gateway.errors import ApiError, error_response
from gateway.routes.auth import proxy_me
from gateway.routes.users import proxy_read_user
from gateway.runtime import Gateway
from gateway.tokens import Identity

Read = Callable[[Gateway, Identity, re.Match[str]], Awaitable[Response]]

_AUTHORIZATION = b"authorization"


async def _read_user(
    gateway: Gateway, caller: Identity, match: re.Match[str]
) -> Response:
    return await proxy_read_user(gateway, caller, UUID(match[1]))


async def _me(gateway: Gateway, caller: Identity, _match: re.Match[str]) -> Response:
    return await proxy_me(gateway, caller)


_READS: tuple[tuple[re.Pattern[str], Read], ...] = (
    (
        re.compile(
            r"/usuarios/([0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-"
            r"[0-9a-fA-F]{4}-[0-9a-fA-F]{12})"
        ),
        _read_user,
    ),
    (re.compile(r"/auth/me"), _me),
)


def _bearer_token(scope: Scope) -> str | None:
    """The token of ``Authorization: Bearer <token>``, as FastAPI's HTTPBearer
    reads it."""
    for name, value in scope["headers"]:
        if name == _AUTHORIZATION:
            scheme, token = get_authorization_scheme_param(value.decode("latin-1"))
            return token if scheme.lower() == "bearer" and token else None
    return None


class FastPath:
    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and scope["method"] == "GET":
            for pattern, read in _READS:
                match = pattern.fullmatch(scope["path"])
                if match is not None:
                    response = await self._serve(scope, read, match)
                    await response(scope, receive, send)
                    return
        await self.app(scope, receive, send)

    async def _serve(self, scope: Scope, read: Read, match: re.Match[str]) -> Response:
        gateway: Gateway = scope["app"].state.gateway
        try:
            caller = await gateway.authenticate(_bearer_token(scope))
            return await read(gateway, caller, match)
        except ApiError as error:
            return error_response(error)
