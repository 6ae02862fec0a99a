"""The runtime every context process shares: broker, publisher, outbox relay, health.

A context's ``app.py`` builds one ``ServiceRuntime``, registers its handlers
on ``runtime.broker``, and serves ``runtime.lifespan`` with its FastAPI app.
Start order: publisher, broker connection, topology, subscribers, relay.
Stop order is the reverse, and the broker's graceful stop lets each handler
finish the message in hand.
"""

import asyncio
from collections.abc import AsyncIterator, Awaitable, Callable, Mapping
from contextlib import asynccontextmanager
from typing import Any

import structlog
from fastapi import APIRouter, FastAPI
from fastapi.responses import JSONResponse
from sqlalchemy.ext.asyncio import AsyncEngine, async_sessionmaker
from sqlmodel.ext.asyncio.session import AsyncSession

from bus.broker import create_broker, declare_topology
from bus.db import create_engine, create_session_factory, ping
from bus.outbox import OutboxRelay
from bus.publisher import ReliablePublisher
from bus.settings import DatabaseSettings, ServiceSettings

log = structlog.get_logger(__name__)

READINESS_TIMEOUT = 2.0

Check = Callable[[], Awaitable[None]]


class ServiceRuntime:
    def __init__(self, settings: ServiceSettings, *, service: str) -> None:
        self.settings = settings
        self.service = service
        self.publisher = ReliablePublisher(settings.amqp_url)
        self.broker = create_broker(settings, service=service, publisher=self.publisher)
        self.engine: AsyncEngine | None = None
        self._sessions: async_sessionmaker[AsyncSession] | None = None
        self.relay: OutboxRelay | None = None
        if isinstance(settings, DatabaseSettings):
            self.engine = create_engine(
                settings.database_url, pool_size=settings.database_pool_size
            )
            self._sessions = create_session_factory(self.engine)
            self.relay = OutboxRelay(
                self._sessions,
                self.publisher,
                poll_interval=settings.outbox_poll_interval,
            )
        self.checks: dict[str, Check] = {"rabbitmq": self._check_rabbitmq}
        if self.engine is not None:
            self.checks["database"] = self._check_database
        self._on_start: list[Callable[[], Awaitable[None]]] = []
        self._on_stop: list[Callable[[], Awaitable[None]]] = []

    @property
    def sessions(self) -> async_sessionmaker[AsyncSession]:
        if self._sessions is None:
            raise RuntimeError(f"{self.service} has no database")
        return self._sessions

    def on_start(self, hook: Callable[[], Awaitable[None]]) -> None:
        """Run ``hook`` once the broker is up (after subscribers started)."""
        self._on_start.append(hook)

    def on_stop(self, hook: Callable[[], Awaitable[None]]) -> None:
        """Run ``hook`` first when stopping."""
        self._on_stop.append(hook)

    async def start(self) -> None:
        await self.publisher.connect()
        await self.broker.connect()
        await declare_topology(self.broker)
        await self.broker.start()
        if self.relay is not None:
            self.relay.start()
        for hook in self._on_start:
            await hook()
        log.info("service.started", service=self.service)

    async def stop(self) -> None:
        for hook in self._on_stop:
            await hook()
        # Subscribers first, so no new message starts while the rest closes.
        await self.broker.stop()
        if self.relay is not None:
            await self.relay.stop()
        await self.publisher.close()
        if self.engine is not None:
            await self.engine.dispose()
        log.info("service.stopped", service=self.service)

    @asynccontextmanager
    async def lifespan(self, _app: FastAPI) -> AsyncIterator[None]:
        await self.start()
        try:
            yield
        finally:
            await self.stop()

    async def readiness(self) -> dict[str, str]:
        """Each dependency's state: "ok", or why it is not."""
        return await run_checks(self.checks)

    async def _check_rabbitmq(self) -> None:
        if not await self.broker.ping(timeout=READINESS_TIMEOUT):
            raise ConnectionError("broker connection is down")
        if not self.publisher.connected:
            raise ConnectionError("publisher connection is down")

    async def _check_database(self) -> None:
        assert self.engine is not None
        await ping(self.engine)

    def health_router(self) -> APIRouter:
        return health_router(self.readiness)


async def run_checks(checks: Mapping[str, Check]) -> dict[str, str]:
    """Run readiness checks at once: "ok", or why a dependency is not ready."""

    async def run(check: Check) -> str:
        try:
            await asyncio.wait_for(check(), READINESS_TIMEOUT)
        except Exception as exc:
            return f"unavailable: {type(exc).__name__}"
        return "ok"

    names = list(checks)
    results = await asyncio.gather(*(run(checks[name]) for name in names))
    return dict(zip(names, results, strict=True))


def health_router(readiness: Callable[[], Awaitable[dict[str, str]]]) -> APIRouter:
    """``/healthz`` (the process answers) and ``/readyz`` (its dependencies do)."""
    router = APIRouter(tags=["health"])

    @router.get("/healthz", summary="Liveness")
    async def healthz() -> dict[str, str]:
        """The process is alive and serving HTTP."""
        return {"status": "ok"}

    @router.get(
        "/readyz",
        summary="Readiness",
        responses={503: {"description": "A dependency is unreachable."}},
    )
    async def readyz() -> JSONResponse:
        """Every dependency (database, RabbitMQ) answers; 503 names the one that
        does not."""
        checks = await readiness()
        ready = all(state == "ok" for state in checks.values())
        body: dict[str, Any] = {
            "status": "ready" if ready else "unavailable",
            "checks": checks,
        }
        return JSONResponse(body, status_code=200 if ready else 503)

    return router
