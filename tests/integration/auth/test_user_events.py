"""user.updated and user.deleted end the user's sessions and revoke their tokens."""

from bus.events import TokenRevoked, UserUpdated
from bus.publisher import ReliablePublisher
from bus.replies import UserView
from tests.integration.auth.support import (
    NEW_PASSWORD,
    Stack,
    error_of,
    jti_of,
    staged_revocations,
)
from tests.support.rabbit import watch_exchange


def _password_changed(user: UserView) -> UserUpdated:
    return UserUpdated(
        user_id=user.id,
        email=user.email,
        full_name=user.full_name,
        role=user.role,
        changed=["password"],
    )


async def _publish(stack: Stack, event: UserUpdated) -> None:
    publisher = ReliablePublisher(stack.amqp_url)
    await publisher.connect()
    try:
        await publisher.publish(
            event.model_dump_json().encode(),
            exchange=event.name,
            message_id=str(event.event_id),
        )
    finally:
        await publisher.close()


async def test_a_password_change_ends_every_session_of_the_user(stack: Stack) -> None:
    user = await stack.commands.register()
    phone = await stack.commands.login_ok(user)
    laptop = await stack.commands.login_ok(user)
    bystander = await stack.commands.register()
    untouched = await stack.commands.login_ok(bystander)

    async with watch_exchange(stack.amqp_url, TokenRevoked.name) as revoked:
        await stack.commands.change_password(user)
        events = await revoked.wait_for(2)

    assert {event["jti"] for event in events} == {
        jti_of(phone.access_token),
        jti_of(laptop.access_token),
    }
    for pair in (phone, laptop):
        assert error_of(await stack.commands.refresh(pair.refresh_token))[0] == (
            "unauthorized"
        )
    listed = (await stack.get("/revocations")).json()["revocations"]
    assert {entry["jti"] for entry in listed} == {event["jti"] for event in events}
    assert (await stack.commands.refresh(untouched.refresh_token)).ok
    assert (await stack.commands.login(user.email, NEW_PASSWORD)).ok


async def test_deleting_the_user_ends_their_sessions(stack: Stack) -> None:
    user = await stack.commands.register()
    pair = await stack.commands.login_ok(user)

    async with watch_exchange(stack.amqp_url, TokenRevoked.name) as revoked:
        await stack.commands.delete(user)
        (event,) = await revoked.wait_for(1)

    assert event["jti"] == jti_of(pair.access_token)
    assert event["user_id"] == str(user.id)
    assert error_of(await stack.commands.refresh(pair.refresh_token))[0] == (
        "unauthorized"
    )


async def test_a_name_change_leaves_sessions_alone(stack: Stack) -> None:
    user = await stack.commands.register()
    pair = await stack.commands.login_ok(user)
    marker = await stack.commands.register()
    marker_pair = await stack.commands.login_ok(marker)

    async with (
        watch_exchange(stack.amqp_url, UserUpdated.name) as updated,
        watch_exchange(stack.amqp_url, TokenRevoked.name) as revoked,
    ):
        await stack.commands.rename(user)
        (renamed,) = await updated.wait_for(1)
        # Queued behind the rename's event, so handled after it.
        await _publish(stack, _password_changed(marker))
        events = await revoked.wait_for(1)

    assert renamed["changed"] == ["full_name"]

    assert [event["jti"] for event in events] == [jti_of(marker_pair.access_token)]
    assert (await stack.commands.refresh(pair.refresh_token)).ok


async def test_a_duplicate_event_has_no_second_effect(stack: Stack) -> None:
    user = await stack.commands.register()
    first = await stack.commands.login_ok(user)
    marker = await stack.commands.register()
    marker_pair = await stack.commands.login_ok(marker)
    event = _password_changed(user)

    async with watch_exchange(stack.amqp_url, TokenRevoked.name) as revoked:
        await _publish(stack, event)
        await revoked.wait_for(1)
        # A session opened after the event must survive its redelivery.
        later = await stack.commands.login_ok(user)
        await _publish(stack, event)
        await _publish(stack, _password_changed(marker))
        events = await revoked.wait_for(2)

    assert [e["jti"] for e in events] == [
        jti_of(first.access_token),
        jti_of(marker_pair.access_token),
    ]
    assert await staged_revocations(stack.auth_db, jti_of(later.access_token)) == 0
    assert (await stack.commands.refresh(later.refresh_token)).ok
