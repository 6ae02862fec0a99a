"""Who is calling: the identity the gateway passes to the contexts over HTTP.

The dependencies are ``async`` on purpose: FastAPI runs a plain function in
its thread pool, which costs more than the read it guards.

The gateway authenticates the access token, drops any identity headers the
client sent, and sets these two. A context trusts them because only the
gateway reaches it (the contexts listen on an internal network); a context
reachable from outside would have to verify the token itself.
"""

from typing import Annotated
from uuid import UUID

from fastapi import Depends, Header, HTTPException, status

from bus.messages import Actor, Role

USER_ID_HEADER = "x-user-id"
ROLE_HEADER = "x-user-role"
IDENTITY_HEADERS = (USER_ID_HEADER, ROLE_HEADER)


async def caller(
    # Not named user_id: FastAPI takes any dependency parameter named like a
    # path parameter (``/users/{user_id}``) for that path parameter.
    caller_id: Annotated[UUID | None, Header(alias=USER_ID_HEADER)] = None,
    caller_role: Annotated[Role | None, Header(alias=ROLE_HEADER)] = None,
) -> Actor:
    """The authenticated caller; 401 when the gateway passed no identity."""
    if caller_id is None or caller_role is None:
        raise HTTPException(status.HTTP_401_UNAUTHORIZED, "authentication required")
    return Actor(user_id=caller_id, role=caller_role)


Caller = Annotated[Actor, Depends(caller)]


async def require_admin(actor: Caller) -> Actor:
    if actor.role is not Role.ADMIN:
        raise HTTPException(status.HTTP_403_FORBIDDEN, "admins only")
    return actor


Admin = Annotated[Actor, Depends(require_admin)]
