"""Auth's bus entry points: login, refresh and logout, and the user events.

Each handler is the transaction boundary. A refusal that must leave a trace
(a failed attempt counted, a reused refresh token's session ended) commits
first and answers the error afterwards.
"""

from typing import Final

import structlog

from bus.broker import consumer_channel
from bus.commands import Login, Logout, RefreshTokens
from bus.events import TokenRevoked, UserDeleted, UserUpdated
from bus.inbox import claim
from bus.messages import utcnow
from bus.replies import CommandError, Done, ErrorCode, Reply, TokenPair
from bus.service import ServiceRuntime
from bus.topology import command_queue, event_exchange, event_queue
from contexts.auth import service
from contexts.auth.keys import Keyring
from contexts.auth.models import EndReason
from contexts.auth.service import CredentialClient, Throttle
from contexts.auth.settings import AuthSettings

log = structlog.get_logger(__name__)

# Changes after which a session must be opened again with the new credentials
# (or must carry the new role).
SESSION_ENDING_CHANGES: Final = frozenset({"email", "password", "role"})


def register_handlers(
    runtime: ServiceRuntime,
    settings: AuthSettings,
    keyring: Keyring,
    users: CredentialClient,
) -> None:
    """Subscribe auth's handlers on ``runtime.broker``."""
    broker = runtime.broker
    sessions = runtime.sessions
    channel = consumer_channel(settings)
    updated_queue = event_queue("auth", UserUpdated)
    deleted_queue = event_queue("auth", UserDeleted)

    @broker.subscriber(command_queue(Login), channel=channel)
    async def login(command: Login) -> Reply[TokenPair]:
        """Exchange an email and password for an access and a refresh token.

        The users context checks the password. Any failure is answered with
        `unauthorized` and the message "invalid email or password". After
        repeated failures for the account or from the client's address the
        answer is `too_many_requests` with `retry_after` seconds; when the
        users context does not answer, `unavailable`.
        """
        throttle = Throttle.for_login(settings, command.email, command.client_ip)
        # Limitation: attempts that pass this check before any of them has
        # failed are all let through, so a limit can be exceeded by as many
        # attempts as run at once; holding a lock across the password check
        # would serialise every login of an address instead.
        async with sessions.begin() as session:
            await throttle.check(session, utcnow())

        account = await users.verify(command.email, command.password)

        if account is None:
            async with sessions.begin() as session:
                await throttle.record_failure(session, utcnow())
            log.info("auth.login_failed", client_ip=command.client_ip)
            raise CommandError(ErrorCode.UNAUTHORIZED, service.LOGIN_FAILED)

        async with sessions.begin() as session:
            await Throttle.forgive(session, service.account_key(command.email))
            pair = service.open_session(session, keyring, settings, account, utcnow())
        return Reply(result=pair)

    @broker.subscriber(command_queue(RefreshTokens), channel=channel)
    async def refresh(command: RefreshTokens) -> Reply[TokenPair]:
        """Spend a refresh token for a new access and refresh token.

        Each refresh token works once. Presenting one that was already spent
        ends its whole session: the newer tokens stop working too. An unknown,
        expired or spent token is answered `unauthorized`.
        """
        throttle = Throttle.for_refresh(settings, command.client_ip)
        async with sessions.begin() as session:
            now = utcnow()
            await throttle.check(session, now)
            pair = await service.rotate(
                session, keyring, settings, command.refresh_token, now
            )
            if pair is None:
                await throttle.record_failure(session, now)
        if pair is None:
            raise CommandError(ErrorCode.UNAUTHORIZED, service.REFRESH_FAILED)
        return Reply(result=pair)

    @broker.subscriber(command_queue(Logout), channel=channel)
    async def logout(command: Logout) -> Reply[Done]:
        """Revoke the actor's access token and end its session.

        The token stays refused until it expires, at every gateway
        (`token.revoked`). `unauthorized` for a token auth did not sign,
        `forbidden` for another user's token.
        """
        async with sessions.begin() as session:
            await service.logout(
                session,
                keyring,
                settings,
                command.actor,
                command.access_token,
                utcnow(),
            )
        return Reply(result=Done())

    @broker.subscriber(updated_queue, event_exchange(UserUpdated), channel=channel)
    async def user_updated(event: UserUpdated) -> None:
        """End the user's sessions when their email, password or role changed.

        Their access tokens are revoked at once (`token.revoked`), so the next
        login carries the new credentials and role.
        """
        if not SESSION_ENDING_CHANGES.intersection(event.changed):
            return
        async with sessions.begin() as session:
            if await claim(session, updated_queue.name, str(event.event_id)):
                await service.end_user_sessions(
                    session, event.user_id, EndReason.USER_UPDATED, utcnow()
                )

    @broker.subscriber(deleted_queue, event_exchange(UserDeleted), channel=channel)
    async def user_deleted(event: UserDeleted) -> None:
        """End every session of a deleted user and revoke their access tokens."""
        async with sessions.begin() as session:
            if await claim(session, deleted_queue.name, str(event.event_id)):
                await service.end_user_sessions(
                    session, event.user_id, EndReason.USER_DELETED, utcnow()
                )

    # Published through the outbox (bus.outbox); declared here so that the
    # AsyncAPI document shows the event and its payload.
    broker.publisher(
        exchange=event_exchange(TokenRevoked),
        persist=True,
        title=TokenRevoked.name,
        description="An access token was revoked before its expiry: logout, a "
        "reused refresh token, or its user's credentials, role or account "
        "changed. Gateways add its `jti` to their denylist.",
        schema=TokenRevoked,
    )
