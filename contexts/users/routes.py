"""REST reads of the users context.

The caller's identity comes from the gateway's headers (``bus.identity``).
``POST /internal/credentials/verify`` is for the auth context only; the
gateway never routes it.
"""

from collections.abc import AsyncIterator
from typing import Annotated, Any
from uuid import UUID

from fastapi import APIRouter, Depends, HTTPException, Query, status
from sqlmodel.ext.asyncio.session import AsyncSession

from bus.identity import Admin, Caller
from bus.replies import UserView
from bus.service import ServiceRuntime
from contexts.users import service
from contexts.users.schemas import (
    MAX_PAGE_SIZE,
    CredentialCheck,
    Problem,
    UserPage,
    VerifiedCredentials,
)

INVALID_CREDENTIALS = "invalid email or password"

UNAUTHENTICATED: dict[int | str, dict[str, Any]] = {
    401: {"model": Problem, "description": "No caller identity."}
}


def build_router(runtime: ServiceRuntime) -> APIRouter:
    """The users routes, reading through ``runtime``'s database."""

    async def session() -> AsyncIterator[AsyncSession]:
        async with runtime.sessions() as opened:
            yield opened

    Db = Annotated[AsyncSession, Depends(session)]  # noqa: N806
    router = APIRouter()

    @router.get(
        "/users/{user_id}",
        tags=["users"],
        summary="Get a user",
        response_model=UserView,
        responses={
            **UNAUTHENTICATED,
            404: {"model": Problem, "description": "No such user visible to you."},
        },
    )
    async def get_user(user_id: UUID, caller: Caller, db: Db) -> UserView:
        """The user with this id: the caller themself, or anyone for an admin.

        Another user's id answers 404 whether or not it exists.
        """
        user = await service.get_user(db, caller, user_id)
        if user is None:
            raise HTTPException(status.HTTP_404_NOT_FOUND, service.NOT_FOUND)
        return user

    @router.get(
        "/users",
        tags=["users"],
        summary="List users",
        response_model=UserPage,
        responses={
            **UNAUTHENTICATED,
            403: {"model": Problem, "description": "The caller is not an admin."},
        },
    )
    async def list_users(
        _admin: Admin,
        db: Db,
        page: Annotated[int, Query(ge=1, description="Page number, from 1.")] = 1,
        size: Annotated[
            int,
            Query(
                ge=1,
                le=MAX_PAGE_SIZE,
                description=f"Users per page, 1 to {MAX_PAGE_SIZE}; more is a 422.",
            ),
        ] = 20,
        q: Annotated[
            str | None,
            Query(
                max_length=100,
                description="Only users whose email or full name contains this "
                "text (case-insensitive; `%` and `_` match themselves).",
            ),
        ] = None,
    ) -> UserPage:
        """Users in email order, a page at a time. Admins only.

        A `size` over the cap is refused with 422 rather than silently
        shortened, so a client never mistakes a short page for the end.
        """
        return await service.list_users(db, page=page, size=size, q=q)

    @router.post(
        "/internal/credentials/verify",
        tags=["internal"],
        summary="Check a password",
        response_model=VerifiedCredentials,
        responses={401: {"model": Problem, "description": INVALID_CREDENTIALS}},
    )
    async def verify_credentials(body: CredentialCheck, db: Db) -> VerifiedCredentials:
        """Who owns this email and password, for the auth context's login.

        Any mismatch, including an unknown email, is the same 401 and takes
        the same time. Never routed by the gateway.
        """
        async with db.begin():
            found = await service.verify_credentials(db, body.email, body.password)
        if found is None:
            raise HTTPException(status.HTTP_401_UNAUTHORIZED, INVALID_CREDENTIALS)
        return found

    return router
