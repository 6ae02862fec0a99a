"""Wiring of the auth context: runtime, FastAPI app, AsyncAPI app.

Importing this module reads no settings. ``python -m contexts.auth`` (or
``uvicorn --factory contexts.auth.app:create_app``) serves the REST reads and
runs the bus handlers in one process; ``faststream docs gen --factory
contexts.auth.app:create_asyncapi_app`` writes the AsyncAPI document.
"""

import asyncio
import contextlib
from datetime import timedelta
from pathlib import Path

import structlog
from fastapi import FastAPI
from faststream import FastStream

from bus import wiring
from bus.messages import utcnow
from bus.service import ServiceRuntime
from contexts.auth import service
from contexts.auth.handlers import register_handlers
from contexts.auth.keys import load_keyring
from contexts.auth.routes import create_router
from contexts.auth.service import CredentialClient
from contexts.auth.settings import AuthSettings

log = structlog.get_logger(__name__)

INFO = wiring.ContextInfo(
    title="StreamFlow auth",
    description=(
        "Tokens and sessions of StreamFlow: login, refresh and logout arrive as "
        "commands on RabbitMQ. Access tokens are EdDSA-signed JWTs that gateways "
        "verify with the keys this API publishes; revoked tokens are announced "
        "with `token.revoked` and listed here for gateways that start."
    ),
    alembic_ini=Path(__file__).resolve().parent / "alembic.ini",
)


class AuthRuntime(ServiceRuntime):
    """The shared runtime plus auth's signing keys, its users client, and the
    periodic purge of expired rows.

    Loads the keys when built, so a process without usable keys stops before
    it serves anything.
    """

    settings: AuthSettings

    def __init__(self, settings: AuthSettings) -> None:
        super().__init__(settings, service="auth")
        self.keyring = load_keyring(settings)
        self.users = CredentialClient(
            settings.users_url, timeout=settings.users_timeout
        )
        self._purger: asyncio.Task[None] | None = None
        register_handlers(self, settings, self.keyring, self.users)
        self.on_start(self._start_purging)
        self.on_stop(self._stop_purging)

    async def stop(self) -> None:
        await super().stop()
        # After the broker: a login in hand still needs the users client.
        await self.users.close()

    async def purge_once(self) -> dict[str, int]:
        """Delete expired revocations, refresh tokens and throttling windows."""
        window = timedelta(seconds=self.settings.throttle_window)
        async with self.sessions.begin() as session:
            return await service.purge_expired(session, utcnow(), window)

    async def _purge_periodically(self) -> None:
        while True:
            try:
                deleted = await self.purge_once()
            except Exception:
                # The database may be briefly away; the next sweep catches up.
                log.exception("auth.purge_failed")
            else:
                if any(deleted.values()):
                    log.info("auth.expired_rows_purged", **deleted)
            await asyncio.sleep(self.settings.purge_interval)

    async def _start_purging(self) -> None:
        self._purger = asyncio.create_task(
            self._purge_periodically(), name="auth-purge"
        )

    async def _stop_purging(self) -> None:
        task, self._purger = self._purger, None
        if task is not None:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task


def create_runtime(settings: AuthSettings) -> AuthRuntime:
    """A runtime with every auth handler registered on its broker."""
    return AuthRuntime(settings)


def create_app(settings: AuthSettings | None = None) -> FastAPI:
    """The auth process: REST reads, with the bus runtime as its lifespan."""
    runtime = create_runtime(settings or AuthSettings())
    return wiring.build_api(INFO, runtime, [create_router(runtime, runtime.keyring)])


def create_asyncapi_app(settings: AuthSettings | None = None) -> FastStream:
    """A FastStream app whose only use is its AsyncAPI document."""
    return wiring.build_asyncapi_app(INFO, create_runtime(settings or AuthSettings()))


async def prepare_database(settings: AuthSettings) -> None:
    """Create the auth database if missing and migrate it to the latest revision."""
    await wiring.prepare_database(INFO, settings.database_url)
