"""Alembic environment of the users context (async, MariaDB).

``bus.db.upgrade`` passes the database URL in; the alembic command line
without one uses ``UsersSettings().database_url``.
"""

from sqlmodel import SQLModel

from bus.inbox import InboxMessage
from bus.migrations import run_environment
from bus.outbox import OutboxMessage
from contexts.users.models import User
from contexts.users.settings import UsersSettings

# Every table of this database, imported so that autogenerate sees each one.
TABLES = (User, OutboxMessage, InboxMessage)

run_environment(SQLModel.metadata, lambda: UsersSettings().database_url)
