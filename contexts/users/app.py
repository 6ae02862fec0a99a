"""Wiring of the users context: runtime, FastAPI app, AsyncAPI app.

Nothing here reads settings at import time. ``uvicorn --factory
contexts.users.app:create_app`` serves the REST reads and runs the bus
handlers in the same process (``python -m contexts.users`` does the same),
and ``faststream docs gen --factory contexts.users.app:create_asyncapi_app``
writes the AsyncAPI document.
"""

from pathlib import Path

from fastapi import FastAPI
from faststream import FastStream

from bus import wiring
from bus.service import ServiceRuntime
from contexts.users import service
from contexts.users.handlers import register_handlers
from contexts.users.routes import build_router
from contexts.users.settings import UsersSettings

INFO = wiring.ContextInfo(
    title="StreamFlow users",
    description=(
        "Accounts of StreamFlow: registration, profiles, roles (free, premium, "
        "admin) and password hashes (argon2id). State changes arrive as commands "
        "on RabbitMQ; this API serves reads only."
    ),
    alembic_ini=Path(__file__).resolve().parent / "alembic.ini",
)


def create_runtime(settings: UsersSettings) -> ServiceRuntime:
    """A runtime with every users handler registered on its broker."""
    runtime = ServiceRuntime(settings, service="users")
    register_handlers(runtime, settings)
    runtime.on_start(service.warm_up)
    return runtime


def create_app(settings: UsersSettings | None = None) -> FastAPI:
    """The users process: REST reads, with the bus runtime as its lifespan."""
    return build_api(create_runtime(settings or UsersSettings()))


def build_api(runtime: ServiceRuntime) -> FastAPI:
    """The FastAPI app around ``runtime``; its lifespan starts and stops it."""
    return wiring.build_api(INFO, runtime, [build_router(runtime)])


def create_asyncapi_app(settings: UsersSettings | None = None) -> FastStream:
    """A FastStream app whose only use is its AsyncAPI document."""
    return wiring.build_asyncapi_app(INFO, create_runtime(settings or UsersSettings()))


async def prepare_database(settings: UsersSettings) -> None:
    """Create the users database if missing and migrate it to the latest revision."""
    await wiring.prepare_database(INFO, settings.database_url)
