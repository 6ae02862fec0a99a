"""The whole RabbitMQ topology, declared in one place.

- Every event has a durable fanout exchange named after it (``user.created``).
- Every context that consumes an event has a quorum queue ``<context>.<event>``
  bound to that exchange.
- Every command has a quorum queue named after it (``users.register``).
- Every one of those queues has a dead-letter queue ``<queue>.dlq`` (reached
  through the direct exchange ``streamflow.dlx``) and a retry queue
  ``<queue>.retry`` where a failed message waits out its back-off before it
  flows back.
- ``email.sent`` and ``email.failed`` are also forwarded to the
  ``email.events`` exchange that monitoring reads.

Every process declares the whole topology when it starts, so an event
published before its consumers ever ran waits in their queues instead of
being unroutable.
"""

from collections.abc import Iterator

from faststream.rabbit import ExchangeType, QueueType, RabbitExchange, RabbitQueue

from bus import commands, events
from bus.messages import Command, Event

DEAD_LETTER_EXCHANGE = "streamflow.dlx"
EMAIL_EVENTS_EXCHANGE = "email.events"

# A backstop for messages whose consumer died mid-handling (the process was
# killed): after this many deliveries RabbitMQ dead-letters the message itself.
# Ordinary failures are counted by the consumer middleware (bus.consumer).
DELIVERY_LIMIT = 10

COMMANDS: tuple[type[Command], ...] = (
    commands.RegisterUser,
    commands.UpdateProfile,
    commands.ChangeRole,
    commands.DeleteUser,
    commands.Login,
    commands.RefreshTokens,
    commands.Logout,
)

# Which context consumes which event. A new subscription starts here.
SUBSCRIPTIONS: dict[str, tuple[type[Event], ...]] = {
    "users": (events.InvoicePaid,),
    "auth": (events.UserUpdated, events.UserDeleted),
    "playlists": (events.UserDeleted,),
    "email": (events.UserCreated, events.InvoicePaid),
}

# Exchanges whose messages are forwarded to another exchange as well.
FORWARDS: dict[str, tuple[type[Event], ...]] = {
    EMAIL_EVENTS_EXCHANGE: (events.EmailSent, events.EmailFailed),
}

# Contexts that read a forwarded exchange through a queue of their own.
FORWARD_SUBSCRIPTIONS: dict[str, tuple[str, ...]] = {
    "monitoring": (EMAIL_EVENTS_EXCHANGE,),
}


def fanout(name: str) -> RabbitExchange:
    return RabbitExchange(name, type=ExchangeType.FANOUT, durable=True)


def event_exchange(event: type[Event]) -> RabbitExchange:
    """The fanout exchange an event is published to."""
    return fanout(event.name)


def _reliable_queue(name: str) -> RabbitQueue:
    return RabbitQueue(
        name,
        durable=True,
        queue_type=QueueType.QUORUM,
        arguments={
            "x-dead-letter-exchange": DEAD_LETTER_EXCHANGE,
            "x-dead-letter-routing-key": name,
            "x-delivery-limit": DELIVERY_LIMIT,
        },
    )


def event_queue(context: str, event: type[Event]) -> RabbitQueue:
    """The queue through which ``context`` consumes ``event``."""
    return _reliable_queue(f"{context}.{event.name}")


def forwarded_queue(context: str, exchange: str) -> RabbitQueue:
    """The queue through which ``context`` reads a forwarding exchange."""
    return _reliable_queue(f"{context}.{exchange}")


def command_queue(command: type[Command]) -> RabbitQueue:
    """The queue a command is sent to."""
    # Limitation: a command that expires unanswered (its context was down or
    # slow) is dead-lettered to ``<command>.dlq`` with x-death reason
    # "expired", like any other dead letter. It is never executed: moved back,
    # its past deadline makes the consumer drop it.
    return _reliable_queue(command.name)


def dead_letter_queue(queue: str) -> RabbitQueue:
    """Where messages of ``queue`` that cannot succeed end, with their reason."""
    return RabbitQueue(f"{queue}.dlq", durable=True, routing_key=queue)


def retry_queue(queue: str) -> RabbitQueue:
    """Where a failed message of ``queue`` waits before it flows back.

    Each message carries its own expiration (its back-off); when it expires
    RabbitMQ dead-letters it through the default exchange back to ``queue``.
    """
    # Limitation: RabbitMQ expires messages at the head of a queue only, so a
    # retry with a long back-off delays the shorter ones queued behind it, by
    # at most the longest back-off (bus.consumer.MAX_BACKOFF_SECONDS).
    return RabbitQueue(
        f"{queue}.retry",
        durable=True,
        arguments={"x-dead-letter-exchange": "", "x-dead-letter-routing-key": queue},
    )


def consumer_queues() -> Iterator[tuple[RabbitQueue, RabbitExchange | None]]:
    """Every reliable queue with the exchange it is bound to (None: commands)."""
    for command in COMMANDS:
        yield command_queue(command), None
    for context, consumed in SUBSCRIPTIONS.items():
        for event in consumed:
            yield event_queue(context, event), event_exchange(event)
    for context, exchanges in FORWARD_SUBSCRIPTIONS.items():
        for name in exchanges:
            yield forwarded_queue(context, name), fanout(name)
