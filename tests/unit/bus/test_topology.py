"""The topology: queue and exchange names, and the arguments that make queues safe."""

import pytest
from faststream.rabbit import ExchangeType, RabbitQueue

from bus.events import ALL_EVENTS
from bus.messages import Event
from bus.topology import (
    COMMANDS,
    DEAD_LETTER_EXCHANGE,
    DELIVERY_LIMIT,
    EMAIL_EVENTS_EXCHANGE,
    FORWARD_SUBSCRIPTIONS,
    FORWARDS,
    SUBSCRIPTIONS,
    command_queue,
    consumer_queues,
    dead_letter_queue,
    event_exchange,
    event_queue,
    retry_queue,
)

QUEUES = [queue for queue, _ in consumer_queues()]


def test_every_command_and_subscription_has_one_queue() -> None:
    names = [queue.name for queue in QUEUES]
    subscriptions = sum(len(consumed) for consumed in SUBSCRIPTIONS.values())
    forwarded = sum(len(read) for read in FORWARD_SUBSCRIPTIONS.values())

    assert len(names) == len(set(names))
    assert len(names) == len(COMMANDS) + subscriptions + forwarded


@pytest.mark.parametrize("queue", QUEUES, ids=lambda q: q.name)
def test_consumer_queue_is_a_durable_quorum_queue_with_dead_lettering(
    queue: RabbitQueue,
) -> None:
    assert queue.durable
    assert queue.arguments == {
        "x-queue-type": "quorum",
        "x-dead-letter-exchange": DEAD_LETTER_EXCHANGE,
        "x-dead-letter-routing-key": queue.name,
        "x-delivery-limit": DELIVERY_LIMIT,
    }


def test_consumer_queues_follow_context_dot_event() -> None:
    for queue, exchange in consumer_queues():
        if exchange is None:
            continue
        context, _, source = queue.name.partition(".")

        assert source == exchange.name
        assert context in SUBSCRIPTIONS or context in FORWARD_SUBSCRIPTIONS


def test_event_queue_is_named_after_context_and_event() -> None:
    for context, consumed in SUBSCRIPTIONS.items():
        for event in consumed:
            assert event_queue(context, event).name == f"{context}.{event.name}"


def test_command_queues_are_named_after_their_command() -> None:
    commands = {queue.name for queue, exchange in consumer_queues() if not exchange}

    assert commands == {command.name for command in COMMANDS}
    for command in COMMANDS:
        assert command_queue(command).name == command.name


def test_subscribed_and_forwarded_events_all_exist() -> None:
    known = set(ALL_EVENTS)

    for consumed in (*SUBSCRIPTIONS.values(), *FORWARDS.values()):
        assert set(consumed) <= known


def test_email_outcomes_are_forwarded_to_monitoring() -> None:
    forwarded = {event.name for event in FORWARDS[EMAIL_EVENTS_EXCHANGE]}

    assert forwarded == {"email.sent", "email.failed"}
    assert EMAIL_EVENTS_EXCHANGE in FORWARD_SUBSCRIPTIONS["monitoring"]


@pytest.mark.parametrize("event", ALL_EVENTS, ids=lambda e: e.name)
def test_event_exchange_is_a_durable_fanout_named_after_the_event(
    event: type[Event],
) -> None:
    exchange = event_exchange(event)

    assert exchange.name == event.name
    assert exchange.type is ExchangeType.FANOUT
    assert exchange.durable


def test_dead_letter_queue_is_bound_by_the_source_queue_name() -> None:
    dead = dead_letter_queue("email.user.created")

    assert dead.name == "email.user.created.dlq"
    assert dead.routing() == "email.user.created"
    assert dead.durable
    # Classic: a dead-letter queue must not dead-letter again.
    assert "x-dead-letter-exchange" not in (dead.arguments or {})


def test_retry_queue_flows_back_to_its_source_through_the_default_exchange() -> None:
    retry = retry_queue("users.invoice.paid")

    assert retry.name == "users.invoice.paid.retry"
    assert retry.durable
    assert retry.arguments is not None
    assert retry.arguments["x-dead-letter-exchange"] == ""
    assert retry.arguments["x-dead-letter-routing-key"] == "users.invoice.paid"
