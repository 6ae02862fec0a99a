"""``/auth``: log in, refresh, log out, and who am I."""

from fastapi import APIRouter, Response, status

from bus.commands import Login, Logout, RefreshTokens
from bus.replies import Done, TokenPair, UserView
from gateway.deps import Caller, ClientIp, Runtime
from gateway.errors import error_responses
from gateway.runtime import Gateway
from gateway.schemas import (
    TOKEN_PAIR_EXAMPLE,
    USER_EXAMPLE,
    CredentialsBody,
    RefreshBody,
    example,
)
from gateway.tokens import Identity

router = APIRouter(prefix="/auth", tags=["auth"])


@router.post(
    "/login",
    response_model=TokenPair,
    summary="Log in",
    responses={
        200: example(TOKEN_PAIR_EXAMPLE),
        **error_responses(401, 422, 429, 502, 503, 504),
    },
)
async def login(body: CredentialsBody, gateway: Runtime, ip: ClientIp) -> TokenPair:
    """Exchange an email and password for an access token and a refresh token.

    Repeated failures from one address or for one account are throttled: 429
    with `Retry-After`.
    """
    command = Login(email=body.email, password=body.password, client_ip=ip)
    return await gateway.send(command, TokenPair)


@router.post(
    "/refresh",
    response_model=TokenPair,
    summary="Refresh the tokens",
    responses={
        200: example(TOKEN_PAIR_EXAMPLE),
        **error_responses(401, 422, 429, 502, 503, 504),
    },
)
async def refresh(body: RefreshBody, gateway: Runtime, ip: ClientIp) -> TokenPair:
    """Exchange a refresh token for a new pair; the refresh token is spent.

    Presenting a spent refresh token again ends its whole session: every
    refresh token issued from it stops working.
    """
    command = RefreshTokens(refresh_token=body.refresh_token, client_ip=ip)
    return await gateway.send(command, TokenPair)


@router.post(
    "/logout",
    status_code=status.HTTP_204_NO_CONTENT,
    summary="Log out",
    responses=error_responses(401, 502, 503, 504),
)
async def logout(caller: Caller, gateway: Runtime) -> Response:
    """Revoke the access token used for this call and end its session.

    Within a second the token is refused everywhere, and the session's refresh
    token no longer works.
    """
    command = Logout(actor=caller.actor, access_token=caller.token)
    await gateway.send(command, Done)
    return Response(status_code=status.HTTP_204_NO_CONTENT)


@router.get(
    "/me",
    response_model=UserView,
    summary="The caller's account",
    responses={
        200: example(USER_EXAMPLE),
        **error_responses(401, 404, 502, 503, 504),
    },
)
async def me(caller: Caller, gateway: Runtime) -> Response:
    """The account of the access token's owner."""
    return await proxy_me(gateway, caller)


async def proxy_me(gateway: Gateway, caller: Identity) -> Response:
    """The read itself, shared with the fast path (gateway.fastpath)."""
    return await gateway.users.get(f"/users/{caller.user_id}", headers=caller.headers)
