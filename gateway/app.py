"""The public API: one FastAPI app in front of every context.

``create_app`` wires the routes, the error handlers and the correlation
middleware; the lifespan starts the ``Gateway`` runtime (command client,
revocation feed, keys, pooled HTTP session) and stops it on shutdown.
"""

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI

from bus.service import health_router
from gateway.errors import install_error_handlers
from gateway.fastpath import FastPath
from gateway.middleware import CorrelationMiddleware
from gateway.routes import auth, users
from gateway.runtime import Gateway
from gateway.settings import GatewaySettings

DESCRIPTION = """\
The public entry of StreamFlow. Writes are sent as commands to the owning
context over RabbitMQ; reads are proxied to it.

Every route except registration, login, refresh, health and these docs needs
an access token: `Authorization: Bearer <access_token>`.

Every error has one shape: `{"error": {"code", "message", "details",
"retry_after"}, "correlation_id"}`. Send `X-Correlation-ID` to choose the id
(up to 64 letters, digits, `.`, `_`, `:` or `-`); it is returned in the header
of the same name either way.
"""


def create_app(settings: GatewaySettings | None = None) -> FastAPI:
    settings = settings or GatewaySettings()

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        gateway = await Gateway.create(settings)
        try:
            await gateway.start()
            app.state.gateway = gateway
            yield
        finally:
            await gateway.stop()

    app = FastAPI(
        title="StreamFlow API",
        version="1.0.0",
        description=DESCRIPTION,
        lifespan=lifespan,
        # No OpenTelemetry provider is set up; looking for one costs every request.
        telemetry={"tracing": False, "metrics": False, "logs": False},
    )

    async def readiness() -> dict[str, str]:
        gateway: Gateway = app.state.gateway
        return await gateway.readiness()

    app.include_router(health_router(readiness))
    app.include_router(auth.router)
    app.include_router(users.router)
    install_error_handlers(app)
    # Added last, so outermost: the correlation id is bound before anything.
    app.add_middleware(FastPath)
    app.add_middleware(CorrelationMiddleware)
    return app
