"""Alembic environment of the auth context (async, PostgreSQL).

``bus.db.upgrade`` passes the database URL in; the alembic command line
without one uses ``AuthSettings().database_url``.
"""

from sqlmodel import SQLModel

from bus.inbox import InboxMessage
from bus.migrations import run_environment
from bus.outbox import OutboxMessage
from contexts.auth.models import BlacklistedToken, RefreshToken, ThrottleCounter
from contexts.auth.settings import AuthSettings

# Every table of this database, imported so that autogenerate sees each one.
TABLES = (BlacklistedToken, RefreshToken, ThrottleCounter, OutboxMessage, InboxMessage)

run_environment(SQLModel.metadata, lambda: AuthSettings().database_url)
