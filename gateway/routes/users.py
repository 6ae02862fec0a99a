"""``/usuarios``: register, read, change and delete accounts."""

from typing import Annotated
from uuid import UUID

from fastapi import APIRouter, Path, Query, Response, status

from bus.commands import ChangeRole, DeleteUser, RegisterUser, UpdateProfile
from bus.replies import Done, UserView
from gateway.deps import Caller, Runtime
from gateway.errors import error_responses
from gateway.runtime import Gateway
from gateway.schemas import (
    USER_EXAMPLE,
    USER_ID_EXAMPLE,
    USER_PAGE_EXAMPLE,
    RegistrationBody,
    UserChangeBody,
    UserPage,
    example,
)
from gateway.tokens import Identity

router = APIRouter(prefix="/usuarios", tags=["usuarios"])

UserId = Annotated[UUID, Path(description="The user's id.", examples=[USER_ID_EXAMPLE])]


@router.post(
    "",
    status_code=status.HTTP_201_CREATED,
    response_model=UserView,
    summary="Register",
    responses={201: example(USER_EXAMPLE), **error_responses(409, 422, 502, 503, 504)},
)
async def register(
    body: RegistrationBody, gateway: Runtime, response: Response
) -> UserView:
    """Create an account with the free role. No token needed.

    409 when the email is already registered.
    """
    command = RegisterUser(
        email=body.email, password=body.password, full_name=body.full_name
    )
    user = await gateway.send(command, UserView)
    response.headers["Location"] = f"/usuarios/{user.id}"
    return user


@router.get(
    "",
    response_model=UserPage,
    summary="List users (admins)",
    responses={
        200: example(USER_PAGE_EXAMPLE),
        **error_responses(401, 403, 422, 502, 503, 504),
    },
)
async def list_users(
    caller: Caller,
    gateway: Runtime,
    page: Annotated[int, Query(ge=1, description="Page number, from 1.")] = 1,
    size: Annotated[int, Query(ge=1, le=100, description="Users per page.")] = 20,
    q: Annotated[
        str | None,
        Query(max_length=100, description="Only users whose email or name has this."),
    ] = None,
) -> Response:
    """One page of every account. Admins only."""
    params = {"page": str(page), "size": str(size)}
    if q:
        params["q"] = q
    return await gateway.users.get("/users", headers=caller.headers, params=params)


@router.get(
    "/{user_id}",
    response_model=UserView,
    summary="Read a user",
    responses={
        200: example(USER_EXAMPLE),
        **error_responses(401, 404, 422, 502, 503, 504),
    },
)
async def read_user(user_id: UserId, caller: Caller, gateway: Runtime) -> Response:
    """A user's account. Users see their own; admins see anyone's.

    Another user's account is a 404, as if it did not exist.
    """
    return await proxy_read_user(gateway, caller, user_id)


async def proxy_read_user(
    gateway: Gateway, caller: Identity, user_id: UUID
) -> Response:
    """The read itself, shared with the fast path (gateway.fastpath)."""
    return await gateway.users.get(f"/users/{user_id}", headers=caller.headers)


@router.patch(
    "/{user_id}",
    response_model=UserView,
    summary="Change a user",
    responses={
        200: example(USER_EXAMPLE),
        **error_responses(401, 403, 404, 409, 422, 502, 503, 504),
    },
)
async def change_user(
    user_id: UserId, body: UserChangeBody, caller: Caller, gateway: Runtime
) -> UserView:
    """Change a user's name, email or password (the user themself or an admin),
    or their role (admins only: anyone else gets 403).

    A new email or password needs `current_password`; a new password ends the
    user's sessions. 409 when the new email is taken.
    """
    if body.role is not None:
        role_change = ChangeRole(actor=caller.actor, user_id=user_id, role=body.role)
        return await gateway.send(role_change, UserView)
    change = UpdateProfile(
        actor=caller.actor,
        user_id=user_id,
        **body.model_dump(exclude_unset=True, exclude={"role"}),
    )
    return await gateway.send(change, UserView)


@router.delete(
    "/{user_id}",
    status_code=status.HTTP_204_NO_CONTENT,
    summary="Delete a user",
    responses=error_responses(401, 403, 404, 422, 502, 503, 504),
)
async def delete_user(user_id: UserId, caller: Caller, gateway: Runtime) -> Response:
    """Delete an account (the user themself or an admin) and end its sessions.

    Admins cannot delete their own account (403).
    """
    await gateway.send(DeleteUser(actor=caller.actor, user_id=user_id), Done)
    return Response(status_code=status.HTTP_204_NO_CONTENT)
