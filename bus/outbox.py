"""Transactional outbox: events commit with the state change that caused them.

Domain code calls ``stage(session, event)`` inside its transaction. When that
transaction commits, the process's ``OutboxRelay`` wakes at once, publishes the
staged rows (persistent, with publisher confirms; an unroutable message is an
error), and marks them published. While RabbitMQ is down the rows wait, retried
with a capped back-off, and go out when it is back.

Several relays may share one table: each batch is claimed with
``SELECT … FOR UPDATE SKIP LOCKED`` (PostgreSQL, and MariaDB 10.6+), so no two
relays ever hold, and publish, the same row.
"""

import asyncio
import contextlib
from datetime import UTC, datetime, timedelta
from uuid import UUID

import sqlalchemy as sa
import structlog
from sqlalchemy import event as sa_event
from sqlalchemy.ext.asyncio import async_sessionmaker
from sqlalchemy.orm import Session
from sqlmodel import Field, SQLModel, col, select, update
from sqlmodel.ext.asyncio.session import AsyncSession

from bus.db import UTCDateTime
from bus.messages import Event
from bus.publisher import ReliablePublisher

log = structlog.get_logger(__name__)

_STAGED = "outbox.staged"
MAX_BACKOFF = timedelta(seconds=5)


def _now() -> datetime:
    return datetime.now(UTC)


class OutboxMessage(SQLModel, table=True):
    """An event waiting to be published, or already published."""

    __tablename__ = "outbox"
    __table_args__ = (
        sa.Index("ix_outbox_pending", "published_at", "next_attempt_at"),
        sa.Index("ix_outbox_type_created", "event_type", "created_at"),
    )

    id: UUID = Field(primary_key=True, description="The event's id.")
    event_type: str = Field(max_length=100, description="The event's name.")
    payload: str = Field(sa_type=sa.Text, description="The event as JSON.")
    correlation_id: str = Field(max_length=64)
    created_at: datetime = Field(sa_type=UTCDateTime, default_factory=_now)
    next_attempt_at: datetime = Field(sa_type=UTCDateTime, default_factory=_now)
    published_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    attempts: int = Field(default=0)
    last_error: str | None = Field(default=None, max_length=500)


def stage(session: AsyncSession, event: Event) -> None:
    """Add ``event`` to the outbox as part of the session's transaction."""
    session.add(
        OutboxMessage(
            id=event.event_id,
            event_type=event.name,
            payload=event.model_dump_json(),
            correlation_id=event.correlation_id,
            created_at=event.occurred_at,
            next_attempt_at=event.occurred_at,
        )
    )
    session.info[_STAGED] = True


class OutboxRelay:
    """Publishes committed outbox rows of one database."""

    def __init__(
        self,
        sessions: async_sessionmaker[AsyncSession],
        publisher: ReliablePublisher,
        *,
        batch_size: int = 100,
        poll_interval: float = 2.0,
    ) -> None:
        self._sessions = sessions
        self._publisher = publisher
        self._batch_size = batch_size
        self._poll_interval = poll_interval
        self._wake = asyncio.Event()
        self._task: asyncio.Task[None] | None = None
        self._stopping = False
        # When the earliest row that failed to publish is due again.
        self._retry_due: datetime | None = None
        session_class = sessions.kw["sync_session_class"]
        sa_event.listen(session_class, "after_commit", self._after_commit)

    def _after_commit(self, session: Session) -> None:
        if session.info.pop(_STAGED, False):
            self._wake.set()

    def notify(self) -> None:
        """Wake the relay now instead of at its next sweep."""
        self._wake.set()

    def start(self) -> None:
        if self._task is None:
            self._stopping = False
            self._task = asyncio.create_task(self._run(), name="outbox-relay")

    async def stop(self, timeout: float = 10.0) -> None:
        """Stop after the batch in hand is published and marked.

        A batch cut short would leave published rows unmarked, to be published
        again (consumers' inboxes absorb that, but it is avoidable).
        """
        task, self._task = self._task, None
        if task is None:
            return
        self._stopping = True
        self._wake.set()
        try:
            await asyncio.wait_for(task, timeout)
        except TimeoutError:
            log.warning("outbox.stop_timed_out")

    async def _run(self) -> None:
        while not self._stopping:
            self._retry_due = None
            try:
                while (
                    not self._stopping and await self.relay_once() == self._batch_size
                ):
                    pass
            except Exception:
                # Database unreachable: keep the process alive and sweep later.
                log.exception("outbox.sweep_failed")
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._wake.wait(), self._idle_timeout())
            self._wake.clear()

    def _idle_timeout(self) -> float:
        """Seconds until the next sweep: a commit wakes the relay sooner.

        Rows that failed to publish (RabbitMQ down) are retried when their
        back-off ends, however long the poll interval is.
        """
        if self._retry_due is None:
            return self._poll_interval
        due_in = (self._retry_due - _now()).total_seconds()
        return min(self._poll_interval, max(due_in, 0.0))

    async def relay_once(self) -> int:
        """Claim one batch of due rows, publish them, and record the outcome.

        Returns how many rows were claimed.
        """
        async with self._sessions() as session, session.begin():
            # MariaDB's default REPEATABLE READ would add gap locks to the
            # claim, and every transaction staging an event would wait for
            # this batch to be published. (PostgreSQL's default is this one.)
            await session.connection(
                execution_options={"isolation_level": "READ COMMITTED"}
            )
            now = _now()
            rows = (
                await session.exec(
                    select(OutboxMessage)
                    .where(col(OutboxMessage.published_at).is_(None))
                    .where(col(OutboxMessage.next_attempt_at) <= now)
                    # The order of ix_outbox_pending: the scan stops after one
                    # batch, so only that batch is locked and other relays
                    # claim the next. A row's first attempt is due when it was
                    # staged, so events still go out in the order they happened.
                    .order_by(col(OutboxMessage.next_attempt_at), col(OutboxMessage.id))
                    .limit(self._batch_size)
                    .with_for_update(skip_locked=True)
                )
            ).all()
            if not rows:
                return 0

            outcomes = await asyncio.gather(
                *(self._publish(row) for row in rows), return_exceptions=True
            )

            settled_at = _now()
            published: list[UUID] = []
            for row, outcome in zip(rows, outcomes, strict=True):
                if isinstance(outcome, BaseException):
                    self._schedule_retry(row, outcome, settled_at)
                else:
                    published.append(row.id)
            if published:
                # One statement for the batch: an UPDATE per row took about
                # half of the relay's time.
                await session.exec(
                    update(OutboxMessage)
                    .where(col(OutboxMessage.id).in_(published))
                    .values(published_at=settled_at, last_error=None)
                    .execution_options(synchronize_session=False)
                )
            return len(rows)

    def _schedule_retry(
        self, row: OutboxMessage, error: BaseException, now: datetime
    ) -> None:
        """Record a failed publish and when to try the row again."""
        # Limitation: a row that failed waits out its back-off (at most
        # MAX_BACKOFF) while later rows may go out, so after a failure events
        # can arrive out of order. Events carry ids and consumers reload
        # state; none relies on order.
        row.attempts += 1
        delay = min(timedelta(seconds=0.2 * 2**row.attempts), MAX_BACKOFF)
        row.next_attempt_at = now + delay
        if self._retry_due is None or row.next_attempt_at < self._retry_due:
            self._retry_due = row.next_attempt_at
        row.last_error = repr(error)[:500]
        log.warning(
            "outbox.publish_failed",
            event_id=str(row.id),
            event_type=row.event_type,
            attempts=row.attempts,
            error=row.last_error,
        )

    async def _publish(self, row: OutboxMessage) -> None:
        await self._publisher.publish(
            row.payload.encode(),
            exchange=row.event_type,
            message_id=str(row.id),
            correlation_id=row.correlation_id,
            message_type=row.event_type,
        )
