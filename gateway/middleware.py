"""Binds a correlation id to every request and returns it in the response.

A plain ASGI middleware: Starlette's ``BaseHTTPMiddleware`` would cost a task
and a stream per request on the hot proxy path.
"""

import re

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from bus.correlation import HEADER, bind_correlation_id

_HEADER_BYTES = HEADER.encode()
# An incoming id is honoured only if it cannot smuggle anything into logs or
# headers; anything else is replaced by a fresh one.
_SANE_ID = re.compile(rb"[A-Za-z0-9._:-]{1,64}")


def _incoming_id(scope: Scope) -> str | None:
    for name, value in scope["headers"]:
        if name == _HEADER_BYTES:
            return value.decode() if _SANE_ID.fullmatch(value) else None
    return None


class CorrelationMiddleware:
    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        raw_id = bind_correlation_id(_incoming_id(scope)).encode()

        async def send_with_id(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = list(message.get("headers", ()))
                # Error responses carry the header already.
                if all(name != _HEADER_BYTES for name, _ in headers):
                    headers.append((_HEADER_BYTES, raw_id))
                    message["headers"] = headers
            await send(message)

        await self.app(scope, receive, send_with_id)
