"""The correlation id that ties a request to every message and log line it causes.

It lives in a context variable, bound at the edge (an HTTP request, a consumed
message) and read wherever a message is sent or a line is logged.
"""

from contextvars import ContextVar
from uuid import uuid4

import structlog

HEADER = "x-correlation-id"

_correlation_id: ContextVar[str | None] = ContextVar("correlation_id", default=None)


def new_correlation_id() -> str:
    return uuid4().hex


def current_correlation_id() -> str:
    """The bound correlation id, or a fresh one when nothing bound one."""
    value = _correlation_id.get()
    return value if value is not None else new_correlation_id()


def bind_correlation_id(value: str | None) -> str:
    """Bind ``value`` (or a new id) for this task and its log lines."""
    bound = value or new_correlation_id()
    _correlation_id.set(bound)
    structlog.contextvars.bind_contextvars(correlation_id=bound)
    return bound
