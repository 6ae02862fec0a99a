"""invoice.paid: free users become premium once per event, bad messages end apart."""

from datetime import UTC, datetime
from decimal import Decimal
from typing import Any
from uuid import UUID, uuid4

from bus.events import InvoicePaid
from bus.service import ServiceRuntime
from contexts.users.handlers import INVOICE_PAID_QUEUE
from tests.integration.users.support import Users, wait_until
from tests.support.rabbit import watch_exchange, watch_queue

EXCHANGE = InvoicePaid.name


def invoice(user_id: UUID, event_id: UUID | None = None) -> InvoicePaid:
    return InvoicePaid(
        event_id=event_id or uuid4(),
        invoice_id=f"inv-{uuid4().hex[:8]}",
        user_id=user_id,
        amount=Decimal("9.99"),
        currency="USD",
        paid_at=datetime.now(UTC),
    )


async def publish(runtime: ServiceRuntime, body: bytes, message_id: str) -> None:
    await runtime.publisher.publish(body, exchange=EXCHANGE, message_id=message_id)


async def pay(runtime: ServiceRuntime, event: InvoicePaid) -> None:
    await publish(runtime, event.model_dump_json().encode(), str(event.event_id))


async def handled(users: Users, event: InvoicePaid) -> int:
    sql = "SELECT count(*) FROM inbox WHERE consumer = :consumer AND message_id = :id"
    count = await users.scalar(
        sql, consumer=INVOICE_PAID_QUEUE.name, id=str(event.event_id)
    )
    return int(count)


async def test_invoice_paid_twice_upgrades_once_with_one_user_updated(
    runtime: ServiceRuntime, users: Users
) -> None:
    nina = await users.register("nina@example.com")
    omar = await users.register("omar@example.com")
    paid = invoice(nina.id)

    async with watch_exchange(runtime.settings.amqp_url, "user.updated") as updated:
        await pay(runtime, paid)
        await pay(runtime, paid)
        # The queue is handled in order: omar's upgrade comes after both copies.
        await pay(runtime, invoice(omar.id))
        events = await updated.wait_for(2)
        await wait_until(users.all_published)

    assert [event["user_id"] for event in events] == [str(nina.id), str(omar.id)]
    assert events[0]["changed"] == ["role"]
    assert await users.role(nina.id) == "premium"
    assert await handled(users, paid) == 1


async def test_a_payment_by_a_premium_user_changes_nothing(
    runtime: ServiceRuntime, users: Users
) -> None:
    pia = await users.register("pia@example.com")
    await users.execute("UPDATE users SET role = 'premium' WHERE id = :id", pia.id)
    paid = invoice(pia.id)

    await pay(runtime, paid)
    await wait_until(lambda: _is_handled(users, paid))

    # Staged in the transaction that recorded the event, if at all.
    staged = "SELECT count(*) FROM outbox WHERE event_type = 'user.updated'"
    assert await users.scalar(staged) == 0
    assert await users.role(pia.id) == "premium"


async def _is_handled(users: Users, event: InvoicePaid) -> bool:
    return await handled(users, event) == 1


async def test_a_payment_for_an_unknown_user_is_recorded_and_not_retried(
    runtime: ServiceRuntime, users: Users
) -> None:
    paid = invoice(uuid4())
    amqp_url = runtime.settings.amqp_url

    async with watch_queue(amqp_url, f"{INVOICE_PAID_QUEUE.name}.dlq") as dead:
        await pay(runtime, paid)
        await wait_until(lambda: _is_handled(users, paid))

        # The next message proves the unknown user's left the queue for good.
        rosa = await users.register("rosa@example.com")
        follower = invoice(rosa.id)
        await pay(runtime, follower)
        await wait_until(lambda: _is_handled(users, follower))

    assert dead.messages == []
    assert await users.role(rosa.id) == "premium"


async def test_a_malformed_invoice_is_dead_lettered_and_the_next_is_handled(
    runtime: ServiceRuntime, users: Users
) -> None:
    sam = await users.register("sam@example.com")
    amqp_url = runtime.settings.amqp_url

    async with watch_queue(amqp_url, f"{INVOICE_PAID_QUEUE.name}.dlq") as dead:
        await publish(runtime, b"{this is not json", "broken-1")
        await publish(runtime, b'{"event_type": "invoice.paid"}', "broken-2")
        await pay(runtime, invoice(sam.id))
        await wait_until(lambda: _role_is(users, sam.id, "premium"))
        await wait_until(lambda: _at_least(dead.messages, 2))

    letters = {message.message_id: message for message in dead.messages}
    assert set(letters) == {"broken-1", "broken-2"}
    assert letters["broken-1"].body == b"{this is not json"
    for message in letters.values():
        assert message.headers["x-error-reason"]


async def _at_least(items: list[Any], count: int) -> bool:
    return len(items) >= count


async def _role_is(users: Users, user_id: UUID, role: str) -> bool:
    return await users.role(user_id) == role
