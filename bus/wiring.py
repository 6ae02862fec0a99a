"""What every context's ``app.py`` and ``__main__.py`` would otherwise repeat.

A context describes itself once (``ContextInfo``) and gets from here its
FastAPI app around a ``ServiceRuntime``, the FastStream app whose AsyncAPI
document ``infra/scripts/asyncapi.py`` writes, the creation and migration of
its database, and the uvicorn run of ``python -m contexts.<name>``.
"""

from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

import uvicorn
from fastapi import APIRouter, FastAPI
from faststream import FastStream
from faststream.specification import AsyncAPI

from bus.broker import GRACEFUL_TIMEOUT
from bus.db import ensure_database, upgrade
from bus.logging import configure_logging
from bus.service import ServiceRuntime
from bus.settings import ServiceSettings

VERSION = "0.1.0"


@dataclass(frozen=True)
class ContextInfo:
    """How a context presents itself in its OpenAPI and AsyncAPI documents."""

    title: str
    description: str
    # The context's alembic.ini; None for a context without a database.
    alembic_ini: Path | None = None
    version: str = VERSION


def build_api(
    info: ContextInfo, runtime: ServiceRuntime, routers: Iterable[APIRouter]
) -> FastAPI:
    """The context's FastAPI app: its reads, health, and the runtime as lifespan."""
    api = FastAPI(
        title=info.title,
        description=info.description,
        version=info.version,
        lifespan=runtime.lifespan,
    )
    api.state.runtime = runtime
    for router in routers:
        api.include_router(router)
    api.include_router(runtime.health_router())
    return api


def build_asyncapi_app(info: ContextInfo, runtime: ServiceRuntime) -> FastStream:
    """A FastStream app over the runtime's broker, used only for its document."""
    specification = AsyncAPI(
        runtime.broker,
        title=info.title,
        version=info.version,
        description=info.description,
        schema_version="3.0.0",
    )
    return FastStream(runtime.broker, specification=specification)


async def prepare_database(info: ContextInfo, database_url: str) -> None:
    """Create the context's database if missing and migrate it to the latest."""
    if info.alembic_ini is None:
        raise ValueError(f"{info.title} has no database")
    await ensure_database(database_url)
    await upgrade(info.alembic_ini, database_url)


def serve(api: FastAPI, settings: ServiceSettings) -> None:
    """Run ``api`` until SIGTERM or SIGINT; the message in hand still finishes.

    uvicorn gives open requests ``GRACEFUL_TIMEOUT`` seconds, then the
    lifespan stops the runtime, whose broker gives each handler its own.
    """
    uvicorn.run(
        api,
        host=settings.http_host,
        port=settings.http_port,
        log_config=None,  # keep the structured logging configured by the caller
        access_log=False,
        timeout_graceful_shutdown=int(GRACEFUL_TIMEOUT),
    )


def configure_process_logging(settings: ServiceSettings) -> None:
    configure_logging(settings.log_level, settings.log_json)
