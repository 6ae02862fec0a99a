"""Domain logic of the users context.

Every function takes the caller's session and never commits: the handler or
route that calls it owns the transaction, and the events staged here go out
through the outbox once that transaction commits.

Who may do what:

- A user reads, updates and deletes their own account; an admin any account.
  Anyone else is told the account does not exist (``not_found``), so ids
  cannot be probed.
- Changing one's own email or password needs the current password: a stolen
  session alone must not be enough to take the account over. An admin
  changing another user's email or password needs none (the admin cannot know
  it); the ``user.updated`` event ends that user's sessions.
- Only admins change roles, and never their own, nor delete their own
  account: the last admin cannot lock everyone out.
"""

import asyncio
import functools
import secrets
from collections.abc import Collection
from typing import Final, Literal
from uuid import UUID

import structlog
from argon2 import PasswordHasher, Type
from argon2.exceptions import InvalidHashError, VerificationError
from sqlalchemy import ColumnElement, func, or_
from sqlalchemy.exc import IntegrityError
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from bus.commands import ChangeRole, DeleteUser, RegisterUser, UpdateProfile
from bus.events import InvoicePaid, UserCreated, UserDeleted, UserUpdated
from bus.inbox import claim
from bus.messages import Actor, Role
from bus.outbox import stage
from bus.replies import CommandError, ErrorCode, UserView
from contexts.users.models import User
from contexts.users.schemas import UserPage, VerifiedCredentials

log = structlog.get_logger(__name__)

Attribute = Literal["email", "full_name", "password", "role"]
CREDENTIALS: Final = frozenset({"email", "password"})

# argon2id at OWASP's minimum: 19 MiB, two passes, one lane.
HASHER: Final = PasswordHasher(
    time_cost=2,
    memory_cost=19456,
    parallelism=1,
    hash_len=32,
    salt_len=16,
    type=Type.ID,
)

NOT_FOUND: Final = "user not found"
EMAIL_TAKEN: Final = "this email is already registered"
LIKE_ESCAPE: Final = "!"


# -- pure rules -----------------------------------------------------------


def normalise_email(email: str) -> str:
    """Emails are compared and stored trimmed and lower-cased."""
    return email.strip().lower()


def normalise_name(full_name: str) -> str | None:
    """A blank name clears it."""
    return full_name.strip() or None


def like_pattern(text: str) -> str:
    """A LIKE pattern matching ``text`` anywhere, its wildcards taken literally."""
    for char in (LIKE_ESCAPE, "%", "_"):
        text = text.replace(char, LIKE_ESCAPE + char)
    return f"%{text}%"


def may_access(actor: Actor, user_id: UUID) -> bool:
    """The user themself or an admin."""
    return actor.role is Role.ADMIN or actor.user_id == user_id


def needs_current_password(
    actor: Actor, user_id: UUID, changed: Collection[Attribute]
) -> bool:
    """A user changing their own email or password must prove they know it."""
    return actor.user_id == user_id and not CREDENTIALS.isdisjoint(changed)


def check_role_change(actor: Actor, user_id: UUID) -> None:
    """Refuse a role change by a non-admin, or by an admin on themself."""
    if actor.role is not Role.ADMIN:
        raise CommandError(ErrorCode.FORBIDDEN, "only admins may change roles")
    if actor.user_id == user_id:
        raise CommandError(ErrorCode.FORBIDDEN, "admins cannot change their own role")


def check_deletion(actor: Actor, user_id: UUID) -> None:
    """Refuse an admin deleting their own account; others must be allowed."""
    if not may_access(actor, user_id):
        raise CommandError(ErrorCode.NOT_FOUND, NOT_FOUND)
    if actor.role is Role.ADMIN and actor.user_id == user_id:
        raise CommandError(
            ErrorCode.FORBIDDEN, "admins cannot delete their own account"
        )


def view(user: User) -> UserView:
    """The user as everyone outside this context sees them: never the hash."""
    return UserView(
        id=user.id,
        email=user.email,
        full_name=user.full_name,
        role=user.role,
        created_at=user.created_at,
        updated_at=user.updated_at,
    )


# -- passwords ------------------------------------------------------------


async def hash_password(password: str) -> str:
    """Hash off the event loop: one hash takes tens of milliseconds."""
    return await asyncio.to_thread(HASHER.hash, password)


def _verify(password_hash: str, password: str) -> bool:
    try:
        return HASHER.verify(password_hash, password)
    except (VerificationError, InvalidHashError):
        return False


async def check_password(password_hash: str, password: str) -> bool:
    """True when ``password`` matches; verifies off the event loop."""
    return await asyncio.to_thread(_verify, password_hash, password)


@functools.cache
def dummy_hash() -> str:
    """A hash of a random password, verified when the email is unknown.

    Checking an unknown email then costs as much as checking a known one, so
    timing does not tell which emails are registered.
    """
    return HASHER.hash(secrets.token_urlsafe(16))


async def warm_up() -> None:
    """Compute the dummy hash before the first request needs it."""
    await asyncio.to_thread(dummy_hash)


async def _require_password(user: User, password: str | None) -> None:
    if password is None or not await check_password(user.password_hash, password):
        raise CommandError(ErrorCode.UNAUTHORIZED, "the current password is wrong")


# -- loading --------------------------------------------------------------


async def _load(session: AsyncSession, user_id: UUID) -> User:
    """The user, locked for the rest of the transaction; NOT_FOUND if none."""
    user = await session.get(User, user_id, with_for_update=True)
    if user is None:
        raise CommandError(ErrorCode.NOT_FOUND, NOT_FOUND)
    return user


async def _load_for(session: AsyncSession, actor: Actor, user_id: UUID) -> User:
    """The user if ``actor`` may act on them; NOT_FOUND otherwise."""
    if not may_access(actor, user_id):
        raise CommandError(ErrorCode.NOT_FOUND, NOT_FOUND)
    return await _load(session, user_id)


async def email_taken(session: AsyncSession, email: str) -> bool:
    found = await session.exec(select(User.id).where(User.email == email))
    return found.first() is not None


async def _flush(session: AsyncSession) -> None:
    """Write pending changes; a duplicate email (a race lost) is a CONFLICT."""
    try:
        await session.flush()
    except IntegrityError as exc:
        raise CommandError(ErrorCode.CONFLICT, EMAIL_TAKEN) from exc


# -- commands -------------------------------------------------------------


async def register(session: AsyncSession, command: RegisterUser) -> UserView:
    """Create a free account and stage ``user.created``."""
    email = normalise_email(command.email)
    if await email_taken(session, email):
        raise CommandError(ErrorCode.CONFLICT, EMAIL_TAKEN)

    full_name = normalise_name(command.full_name) if command.full_name else None
    user = await add_account(
        session, email, password=command.password, full_name=full_name, role=Role.FREE
    )
    log.info("user.registered", user_id=str(user.id))
    return view(user)


async def add_account(
    session: AsyncSession,
    email: str,
    *,
    password: str,
    full_name: str | None,
    role: Role,
) -> User:
    """Add an account with a normalised, free ``email`` and stage ``user.created``."""
    user = User(
        email=email,
        password_hash=await hash_password(password),
        full_name=full_name,
        role=role,
    )
    session.add(user)
    await _flush(session)

    stage(session, created_event(user))
    return user


def created_event(user: User) -> UserCreated:
    return UserCreated(
        user_id=user.id, email=user.email, full_name=user.full_name, role=user.role
    )


def _profile_changes(user: User, command: UpdateProfile) -> dict[Attribute, str | None]:
    """What the command would change: the new name and email as stored.

    A new password maps to None; it is hashed from the command when applied.
    """
    changes: dict[Attribute, str | None] = {}
    if command.full_name is not None:
        full_name = normalise_name(command.full_name)
        if full_name != user.full_name:
            changes["full_name"] = full_name
    if command.email is not None:
        email = normalise_email(command.email)
        if email != user.email:
            changes["email"] = email
    if command.password is not None:
        changes["password"] = None
    return changes


async def update_profile(session: AsyncSession, command: UpdateProfile) -> UserView:
    """Change name, email or password; stage ``user.updated`` if anything changed.

    See the module docstring for who needs the current password.
    """
    user = await _load_for(session, command.actor, command.user_id)
    changes = _profile_changes(user, command)
    if not changes:
        return view(user)

    if needs_current_password(command.actor, user.id, changes):
        await _require_password(user, command.current_password)
    email = changes.get("email")
    if email is not None and await email_taken(session, email):
        raise CommandError(ErrorCode.CONFLICT, EMAIL_TAKEN)

    if "full_name" in changes:
        user.full_name = changes["full_name"]
    if email is not None:
        user.email = email
    if command.password is not None:
        user.password_hash = await hash_password(command.password)
    session.add(user)
    await _flush(session)

    stage(session, updated_event(user, list(changes)))
    log.info("user.updated", user_id=str(user.id), changed=sorted(changes))
    return view(user)


def updated_event(user: User, changed: list[Attribute]) -> UserUpdated:
    return UserUpdated(
        user_id=user.id,
        email=user.email,
        full_name=user.full_name,
        role=user.role,
        changed=changed,
    )


async def change_role(session: AsyncSession, command: ChangeRole) -> UserView:
    """Give a user another role (admins only); stage ``user.updated``."""
    check_role_change(command.actor, command.user_id)
    user = await _load(session, command.user_id)
    if user.role is command.role:
        return view(user)

    user.role = command.role
    session.add(user)
    await _flush(session)

    stage(session, updated_event(user, ["role"]))
    log.info("user.role_changed", user_id=str(user.id), role=user.role.value)
    return view(user)


async def delete_user(session: AsyncSession, command: DeleteUser) -> None:
    """Delete an account and stage ``user.deleted``."""
    check_deletion(command.actor, command.user_id)
    user = await _load(session, command.user_id)

    await session.delete(user)
    await _flush(session)

    stage(session, UserDeleted(user_id=user.id))
    log.info("user.deleted", user_id=str(user.id))


async def apply_payment(
    session: AsyncSession, event: InvoicePaid, consumer: str
) -> None:
    """Upgrade a free user who paid to premium, once per event.

    The inbox row and the upgrade share the caller's transaction. A payment
    for an unknown user is recorded and logged, not retried: no retry can
    make that user appear.
    """
    if not await claim(session, consumer, str(event.event_id)):
        log.info("invoice.duplicate", event_id=str(event.event_id))
        return

    user = await session.get(User, event.user_id, with_for_update=True)
    if user is None:
        log.warning(
            "invoice.unknown_user",
            user_id=str(event.user_id),
            invoice_id=event.invoice_id,
        )
        return
    if user.role is not Role.FREE:
        return

    user.role = Role.PREMIUM
    session.add(user)
    await _flush(session)

    stage(session, updated_event(user, ["role"]))
    log.info("user.upgraded", user_id=str(user.id), invoice_id=event.invoice_id)


# -- reads ----------------------------------------------------------------


async def get_user(
    session: AsyncSession, actor: Actor, user_id: UUID
) -> UserView | None:
    """The user, if ``actor`` may see them; None otherwise or when missing."""
    if not may_access(actor, user_id):
        return None
    user = await session.get(User, user_id)
    return None if user is None else view(user)


def _search(q: str | None) -> ColumnElement[bool] | None:
    if not q:
        return None
    pattern = like_pattern(q.strip())
    return or_(
        col(User.email).like(pattern, escape=LIKE_ESCAPE),
        col(User.full_name).like(pattern, escape=LIKE_ESCAPE),
    )


async def list_users(
    session: AsyncSession, *, page: int, size: int, q: str | None
) -> UserPage:
    """One page of users in email order, optionally filtered by ``q``."""
    # Limitation: ``q`` matches substrings with LIKE '%q%', a full scan of the
    # table; fine for tens of thousands of users, slow for millions.
    where = _search(q)
    count = select(func.count()).select_from(User)
    rows = select(User).order_by(col(User.email)).offset((page - 1) * size).limit(size)
    if where is not None:
        count, rows = count.where(where), rows.where(where)

    total = (await session.exec(count)).one()
    users = (await session.exec(rows)).all()
    return UserPage(items=[view(u) for u in users], page=page, size=size, total=total)


async def verify_credentials(
    session: AsyncSession, email: str, password: str
) -> VerifiedCredentials | None:
    """The account if the password matches; None otherwise, in the same time.

    A hash made with older parameters is replaced by one with the current
    ones (no event: the password itself did not change).
    """
    found = await session.exec(select(User).where(User.email == normalise_email(email)))
    user = found.first()
    if user is not None:
        password_hash = user.password_hash
    else:
        password_hash = await asyncio.to_thread(dummy_hash)
    matches = await check_password(password_hash, password)
    if user is None or not matches:
        return None

    if HASHER.check_needs_rehash(user.password_hash):
        user.password_hash = await hash_password(password)
        session.add(user)
        log.info("user.password_rehashed", user_id=str(user.id))
    return VerifiedCredentials(user_id=user.id, email=user.email, role=user.role)
