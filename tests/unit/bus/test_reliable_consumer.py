"""ReliableConsumer in FastStream's in-memory broker.

The middleware republishes retries and dead letters through ReliablePublisher;
here a recording stand-in takes its place, so each test reads what would have
been published. Replies to commands reach a subscriber on ``REPLIES``.
"""

import json
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from typing import Any
from uuid import UUID

import pytest
from faststream.rabbit import RabbitBroker, TestRabbitBroker

from bus.broker import create_broker
from bus.commands import RegisterUser
from bus.consumer import ATTEMPTS_HEADER, DEADLINE_HEADER, PermanentError
from bus.correlation import HEADER as CORRELATION_HEADER
from bus.correlation import current_correlation_id
from bus.events import UserCreated
from bus.messages import Role
from bus.publisher import ReliablePublisher
from bus.replies import CommandError, Done, ErrorCode, Reply, UserView
from bus.settings import ServiceSettings
from bus.topology import DEAD_LETTER_EXCHANGE, command_queue, event_queue

COMMAND_QUEUE = RegisterUser.name
EVENT_QUEUE = event_queue("email", UserCreated).name
REPLIES = "test.replies"
SECRET = "hunter2-but-longer"


@dataclass
class Published:
    body: bytes
    options: dict[str, Any]

    @property
    def headers(self) -> dict[str, Any]:
        headers: dict[str, Any] = self.options["headers"]
        return headers


class RecordingPublisher(ReliablePublisher):
    """Records what the middleware would publish, and publishes nothing."""

    def __init__(self) -> None:
        super().__init__("amqp://guest:guest@127.0.0.1:5672/")
        self.published: list[Published] = []
        self.unreachable = False

    async def publish(self, body: bytes, **options: Any) -> None:
        self.published.append(Published(body, options))
        if self.unreachable:
            raise ConnectionError("RabbitMQ is unreachable")


@dataclass
class Harness:
    broker: RabbitBroker
    publisher: RecordingPublisher
    replies: list[dict[str, Any]] = field(default_factory=list)
    commands: list[RegisterUser] = field(default_factory=list)
    events: list[UserCreated] = field(default_factory=list)
    correlation_ids: list[str] = field(default_factory=list)
    # What the event handler raises, one entry per call; None succeeds.
    event_failures: list[Exception | None] = field(default_factory=list)

    async def command(self, body: Any, **options: Any) -> dict[str, Any]:
        before = len(self.replies)
        await self.broker.publish(
            body, queue=COMMAND_QUEUE, reply_to=REPLIES, **options
        )
        assert len(self.replies) == before + 1, "no reply was sent"
        return self.replies[-1]

    async def event(self, body: Any, **options: Any) -> None:
        await self.broker.publish(body, queue=EVENT_QUEUE, **options)


@pytest.fixture
async def harness() -> AsyncIterator[Harness]:
    settings = ServiceSettings(max_attempts=3, retry_base_delay=0.25)
    publisher = RecordingPublisher()
    broker = create_broker(settings, service="test", publisher=publisher)
    harness = Harness(broker, publisher)

    @broker.subscriber(command_queue(RegisterUser))
    async def register(command: RegisterUser) -> Reply[Done]:
        harness.commands.append(command)
        harness.correlation_ids.append(current_correlation_id())
        if command.email.startswith("taken"):
            raise CommandError(ErrorCode.CONFLICT, "email already registered")
        if command.email.startswith("crash"):
            raise RuntimeError("database exploded")
        if command.email.startswith("buggy"):
            # The handler's own model refuses what the handler built.
            UserView.model_validate({"email": command.email})
        return Reply[Done](result=Done())

    @broker.subscriber(event_queue("email", UserCreated))
    async def welcome(event: UserCreated) -> None:
        harness.events.append(event)
        harness.correlation_ids.append(current_correlation_id())
        failure = harness.event_failures.pop(0) if harness.event_failures else None
        if failure is not None:
            raise failure

    @broker.subscriber(REPLIES)
    async def collect(reply: dict[str, Any]) -> None:
        harness.replies.append(reply)

    async with TestRabbitBroker(broker):
        yield harness


USER_CREATED = UserCreated(
    user_id=UUID("3f0c2a5e-4a53-4c9e-9a8b-2b5a7a0e9d11"),
    email="ana@example.com",
    full_name="Ana",
    role=Role.FREE,
).model_dump(mode="json")


def _user_created() -> dict[str, Any]:
    return dict(USER_CREATED)


def _register(email: str = "ana@example.com") -> dict[str, Any]:
    return {"email": email, "password": SECRET}


# -- events ------------------------------------------------------------------


async def test_a_handled_event_publishes_nothing(harness: Harness) -> None:
    await harness.event(_user_created())

    assert len(harness.events) == 1
    assert harness.publisher.published == []


async def test_a_failed_event_waits_out_its_back_off_in_the_retry_queue(
    harness: Harness,
) -> None:
    harness.event_failures.append(ConnectionError("smtp down"))

    await harness.event(_user_created(), message_id="evt-1")

    [retry] = harness.publisher.published
    assert retry.options["exchange"] == ""
    assert retry.options["routing_key"] == f"{EVENT_QUEUE}.retry"
    assert retry.options["expiration"] == 0.25
    assert retry.options["message_id"] == "evt-1"
    assert retry.headers[ATTEMPTS_HEADER] == 1
    assert json.loads(retry.body) == _user_created()


async def test_back_off_doubles_with_each_attempt(harness: Harness) -> None:
    harness.event_failures.append(ConnectionError("smtp down"))

    await harness.event(_user_created(), headers={ATTEMPTS_HEADER: 1})

    [retry] = harness.publisher.published
    assert retry.options["expiration"] == 0.5
    assert retry.headers[ATTEMPTS_HEADER] == 2


async def test_an_event_failing_its_last_attempt_is_dead_lettered(
    harness: Harness,
) -> None:
    harness.event_failures.append(ConnectionError("smtp down"))

    await harness.event(_user_created(), headers={ATTEMPTS_HEADER: 2})

    [dead] = harness.publisher.published
    assert dead.options["exchange"] == DEAD_LETTER_EXCHANGE
    assert dead.options["routing_key"] == EVENT_QUEUE
    assert dead.options.get("expiration") is None
    assert dead.headers["x-error-reason"] == "failed 3 times"
    assert dead.headers["x-error-type"] == "ConnectionError"
    assert "smtp down" in dead.headers["x-error-detail"]
    assert dead.headers[ATTEMPTS_HEADER] == 3
    assert dead.headers["x-failed-at"]


async def test_redeliveries_count_as_attempts(harness: Harness) -> None:
    harness.event_failures.append(ConnectionError("smtp down"))

    await harness.event(_user_created(), headers={"x-delivery-count": 2})

    [dead] = harness.publisher.published
    assert dead.options["exchange"] == DEAD_LETTER_EXCHANGE
    assert dead.headers[ATTEMPTS_HEADER] == 3
    assert "x-delivery-count" not in dead.headers


async def test_a_permanent_error_is_dead_lettered_at_once(harness: Harness) -> None:
    harness.event_failures.append(PermanentError("no such template"))

    await harness.event(_user_created())

    [dead] = harness.publisher.published
    assert dead.options["exchange"] == DEAD_LETTER_EXCHANGE
    assert dead.headers["x-error-type"] == "PermanentError"
    assert dead.headers[ATTEMPTS_HEADER] == 1


async def test_an_event_failing_validation_is_dead_lettered_at_once(
    harness: Harness,
) -> None:
    body = {**_user_created(), "email": "not-an-address"}

    await harness.event(body)

    assert harness.events == []
    [dead] = harness.publisher.published
    assert dead.options["exchange"] == DEAD_LETTER_EXCHANGE
    assert dead.headers["x-error-type"] == "ValidationError"
    assert dead.headers["x-error-reason"] == "malformed or unprocessable message"


async def test_malformed_json_is_dead_lettered_at_once(harness: Harness) -> None:
    await harness.event(b"{not json", content_type="application/json")

    [dead] = harness.publisher.published
    assert dead.body == b"{not json"
    assert dead.options["exchange"] == DEAD_LETTER_EXCHANGE
    assert dead.headers["x-error-type"] == "JSONDecodeError"


async def test_a_dead_letter_never_carries_the_invalid_input(
    harness: Harness,
) -> None:
    # A command sent without reply_to is settled like an event.
    await harness.broker.publish(
        {"email": "nobody-at-example", "password": "Zq9!x"}, queue=COMMAND_QUEUE
    )

    [dead] = harness.publisher.published
    detail = dead.headers["x-error-detail"]
    assert "Zq9!x" not in detail
    assert "nobody-at-example" not in detail
    assert "password" in detail


async def test_a_retry_that_cannot_be_published_is_left_to_the_queue(
    harness: Harness,
) -> None:
    harness.event_failures.append(ConnectionError("smtp down"))
    harness.publisher.unreachable = True

    # The error reaches FastStream, which rejects the message: the queue's
    # dead-letter exchange keeps it. It is not relabelled as malformed.
    with pytest.raises(ConnectionError, match="unreachable"):
        await harness.event(_user_created())

    [attempt] = harness.publisher.published
    assert attempt.options["routing_key"] == f"{EVENT_QUEUE}.retry"


# -- commands ----------------------------------------------------------------


async def test_a_command_is_answered_with_its_result(harness: Harness) -> None:
    reply = await harness.command(_register())

    assert Reply[Done].model_validate(reply).result == Done()
    assert harness.publisher.published == []


async def test_a_refused_command_gets_an_error_reply(harness: Harness) -> None:
    reply = Reply[Done].model_validate(
        await harness.command(_register("taken@example.com"))
    )

    assert reply.error is not None
    assert reply.error.code is ErrorCode.CONFLICT
    assert reply.error.message == "email already registered"
    assert harness.publisher.published == []


async def test_an_invalid_command_gets_field_details_in_its_own_terms(
    harness: Harness,
) -> None:
    raw = await harness.command({"email": "nope", "password": "Zq9!x", "extra": 1})

    reply = Reply[Done].model_validate(raw)
    assert harness.commands == []
    assert reply.error is not None
    assert reply.error.code is ErrorCode.INVALID
    locs = {tuple(detail.loc) for detail in reply.error.details}
    assert locs == {("email",), ("password",), ("extra",)}
    # The reply names the fields, never what was sent in them.
    assert "Zq9!x" not in json.dumps(raw)


async def test_a_command_that_is_not_json_gets_an_invalid_reply(
    harness: Harness,
) -> None:
    reply = Reply[Done].model_validate(
        await harness.command(b"{nope", content_type="application/json")
    )

    assert reply.error is not None
    assert reply.error.code is ErrorCode.INVALID
    assert harness.commands == []


async def test_a_crashing_command_is_answered_and_dead_lettered(
    harness: Harness,
) -> None:
    reply = Reply[Done].model_validate(
        await harness.command(_register("crash@example.com"))
    )

    assert reply.error is not None
    assert reply.error.code is ErrorCode.INTERNAL
    assert "exploded" not in reply.error.message
    [dead] = harness.publisher.published
    assert dead.options["exchange"] == DEAD_LETTER_EXCHANGE
    assert dead.options["routing_key"] == COMMAND_QUEUE
    assert dead.headers["x-error-reason"] == "handler failed"
    assert dead.headers["x-error-type"] == "RuntimeError"


async def test_a_handlers_own_validation_error_is_not_blamed_on_the_caller(
    harness: Harness,
) -> None:
    reply = Reply[Done].model_validate(
        await harness.command(_register("buggy@example.com"))
    )

    assert reply.error is not None
    assert reply.error.code is ErrorCode.INTERNAL
    assert reply.error.details == []
    [dead] = harness.publisher.published
    assert dead.headers["x-error-reason"] == "handler failed"
    assert dead.headers["x-error-type"] == "ValidationError"


async def test_a_command_whose_reply_cannot_be_sent_is_not_dead_lettered(
    harness: Harness,
) -> None:
    # In memory, a reply to a queue nobody consumes fails to publish.
    await harness.broker.publish(
        _register(), queue=COMMAND_QUEUE, reply_to="test.nobody"
    )

    assert len(harness.commands) == 1
    assert harness.publisher.published == []


async def test_an_expired_command_is_never_executed(harness: Harness) -> None:
    deadline = int(time.time() * 1000) - 1

    await harness.broker.publish(
        _register(),
        queue=COMMAND_QUEUE,
        reply_to=REPLIES,
        headers={DEADLINE_HEADER: deadline},
    )

    assert harness.commands == []
    assert harness.replies == []
    assert harness.publisher.published == []


async def test_a_command_within_its_deadline_runs(harness: Harness) -> None:
    deadline = int(time.time() * 1000) + 60_000

    await harness.command(_register(), headers={DEADLINE_HEADER: deadline})

    assert len(harness.commands) == 1


# -- correlation -------------------------------------------------------------


async def test_the_handler_runs_under_the_messages_correlation_id(
    harness: Harness,
) -> None:
    await harness.command(_register(), headers={CORRELATION_HEADER: "corr-cmd"})
    await harness.event(_user_created(), headers={CORRELATION_HEADER: "corr-evt"})

    assert harness.correlation_ids == ["corr-cmd", "corr-evt"]


async def test_a_message_without_correlation_id_gets_a_fresh_one(
    harness: Harness,
) -> None:
    await harness.event(_user_created())
    await harness.event(_user_created())

    first, second = harness.correlation_ids
    assert len(first) == len(second) == 32
    assert first != second
