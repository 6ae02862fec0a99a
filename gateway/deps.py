"""Dependencies of the routes: the running gateway and the authenticated caller."""

from typing import Annotated

from fastapi import Depends, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from gateway.client_ip import client_ip
from gateway.runtime import Gateway
from gateway.tokens import Identity

_bearer = HTTPBearer(
    auto_error=False,
    description="The access token from `POST /auth/login` or `POST /auth/refresh`.",
)

# Every dependency is a coroutine: FastAPI runs plain functions in a thread
# pool, which costs more than the proxied read itself.


async def get_gateway(request: Request) -> Gateway:
    gateway: Gateway = request.app.state.gateway
    return gateway


Runtime = Annotated[Gateway, Depends(get_gateway)]


async def authenticate(
    gateway: Runtime,
    credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)],
) -> Identity:
    """The caller of a route that needs an access token."""
    return await gateway.authenticate(credentials.credentials if credentials else None)


Caller = Annotated[Identity, Depends(authenticate)]


async def caller_ip(request: Request, gateway: Runtime) -> str:
    return client_ip(request, gateway.settings.trusted_proxies)


ClientIp = Annotated[str, Depends(caller_ip)]
