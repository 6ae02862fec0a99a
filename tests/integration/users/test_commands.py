"""Users commands over the real RabbitMQ, with their events and their refusals."""

from uuid import uuid4

from bus.commands import ChangeRole, DeleteUser, RegisterUser, UpdateProfile
from bus.messages import Actor, Role
from bus.replies import Done, ErrorCode, UserView
from bus.rpc import CommandClient
from bus.service import ServiceRuntime
from tests.integration.users.support import (
    PASSWORD,
    Users,
    assert_no_secrets,
    wait_until,
)
from tests.support.rabbit import watch_exchange


def as_actor(user: UserView) -> Actor:
    return Actor(user_id=user.id, role=user.role)


async def test_register_publishes_user_created_exactly_once(
    runtime: ServiceRuntime, users: Users
) -> None:
    async with watch_exchange(runtime.settings.amqp_url, "user.created") as created:
        ana = await users.register("  Ana.Perez@Example.com ", full_name="Ana Pérez")
        await created.wait_for(1)
        await wait_until(users.all_published)

        # A later event is a barrier: a second copy of the first would be here.
        ben = await users.register("ben@example.com")
        events = await created.wait_for(2)

    assert [event["user_id"] for event in events] == [str(ana.id), str(ben.id)]
    assert events[0]["email"] == "ana.perez@example.com"
    assert (events[0]["full_name"], events[0]["role"]) == ("Ana Pérez", "free")
    assert (ana.email, ana.role) == ("ana.perez@example.com", Role.FREE)
    assert_no_secrets([*events, ana.model_dump(mode="json")], PASSWORD)


async def test_a_duplicate_email_is_a_conflict_and_publishes_nothing(
    runtime: ServiceRuntime, users: Users, commands: CommandClient
) -> None:
    async with watch_exchange(runtime.settings.amqp_url, "user.created") as created:
        await users.register("carla@example.com")
        reply = await commands.send(
            RegisterUser(email="CARLA@example.com ", password=PASSWORD), UserView
        )
        await users.register("dario@example.com")
        events = await created.wait_for(2)

    assert reply.error is not None
    assert reply.error.code is ErrorCode.CONFLICT
    assert [event["email"] for event in events] == [
        "carla@example.com",
        "dario@example.com",
    ]
    assert await users.scalar("SELECT count(*) FROM users") == 2


async def test_change_role_from_a_free_user_is_forbidden(
    users: Users, commands: CommandClient
) -> None:
    mallory = await users.register("mallory@example.com")

    reply = await commands.send(
        ChangeRole(actor=as_actor(mallory), user_id=mallory.id, role=Role.ADMIN),
        UserView,
    )

    assert reply.error is not None
    assert reply.error.code is ErrorCode.FORBIDDEN
    assert await users.role(mallory.id) == "free"


async def test_an_admin_changes_a_role_and_user_updated_says_so(
    runtime: ServiceRuntime, users: Users, commands: CommandClient
) -> None:
    admin = await users.admin()
    eva = await users.register("eva@example.com")

    async with watch_exchange(runtime.settings.amqp_url, "user.updated") as updated:
        reply = await commands.send(
            ChangeRole(actor=admin, user_id=eva.id, role=Role.PREMIUM), UserView
        )
        events = await updated.wait_for(1)

    assert reply.result is not None
    assert reply.result.role is Role.PREMIUM
    assert events[0]["user_id"] == str(eva.id)
    assert (events[0]["role"], events[0]["changed"]) == ("premium", ["role"])


async def test_changing_ones_own_email_needs_the_current_password(
    runtime: ServiceRuntime, users: Users, commands: CommandClient
) -> None:
    fran = await users.register("fran@example.com")

    def change(current: str | None) -> UpdateProfile:
        return UpdateProfile(
            actor=as_actor(fran),
            user_id=fran.id,
            email="francisca@example.com",
            current_password=current,
        )

    async with watch_exchange(runtime.settings.amqp_url, "user.updated") as updated:
        missing = await commands.send(change(None), UserView)
        wrong = await commands.send(change("not-the-password"), UserView)
        right = await commands.send(change(PASSWORD), UserView)
        events = await updated.wait_for(1)

    assert missing.error is not None
    assert wrong.error is not None
    assert missing.error.code is wrong.error.code is ErrorCode.UNAUTHORIZED
    assert right.result is not None
    assert right.result.email == "francisca@example.com"
    assert (events[0]["email"], events[0]["changed"]) == (
        "francisca@example.com",
        ["email"],
    )
    assert_no_secrets(events, PASSWORD)


async def test_an_admin_sets_another_users_password_without_knowing_it(
    runtime: ServiceRuntime, users: Users, commands: CommandClient
) -> None:
    admin = await users.admin()
    gus = await users.register("gus@example.com")
    new_password = "a-brand-new-password"

    async with watch_exchange(runtime.settings.amqp_url, "user.updated") as updated:
        reply = await commands.send(
            UpdateProfile(actor=admin, user_id=gus.id, password=new_password), UserView
        )
        events = await updated.wait_for(1)

    assert reply.result is not None
    assert events[0]["changed"] == ["password"]
    assert_no_secrets([*events, reply.model_dump(mode="json")], new_password)


async def test_an_update_that_changes_nothing_publishes_nothing(
    runtime: ServiceRuntime, users: Users, commands: CommandClient
) -> None:
    hugo = await users.register("hugo@example.com", full_name="Hugo")

    async with watch_exchange(runtime.settings.amqp_url, "user.updated") as updated:
        same = await commands.send(
            UpdateProfile(
                actor=as_actor(hugo),
                user_id=hugo.id,
                full_name=" Hugo ",
                email="HUGO@example.com",
            ),
            UserView,
        )
        renamed = await commands.send(
            UpdateProfile(actor=as_actor(hugo), user_id=hugo.id, full_name="Hugo R."),
            UserView,
        )
        events = await updated.wait_for(1)

    assert same.result == hugo
    assert renamed.result is not None
    assert [event["changed"] for event in events] == [["full_name"]]


async def test_taking_someone_elses_email_is_a_conflict(
    users: Users, commands: CommandClient
) -> None:
    await users.register("ines@example.com")
    juan = await users.register("juan@example.com")

    reply = await commands.send(
        UpdateProfile(
            actor=as_actor(juan),
            user_id=juan.id,
            email="ines@example.com",
            current_password=PASSWORD,
        ),
        UserView,
    )

    assert reply.error is not None
    assert reply.error.code is ErrorCode.CONFLICT


async def test_another_users_account_is_not_found_for_a_non_admin(
    users: Users, commands: CommandClient
) -> None:
    kim = await users.register("kim@example.com")
    leo = await users.register("leo@example.com")

    update = await commands.send(
        UpdateProfile(actor=as_actor(leo), user_id=kim.id, full_name="Hacked"),
        UserView,
    )
    delete = await commands.send(DeleteUser(actor=as_actor(leo), user_id=kim.id), Done)
    missing = await commands.send(
        DeleteUser(actor=as_actor(leo), user_id=uuid4()), Done
    )

    assert update.error is not None
    assert delete.error is not None
    assert missing.error is not None
    assert update.error == delete.error == missing.error
    assert update.error.code is ErrorCode.NOT_FOUND
    assert await users.scalar("SELECT count(*) FROM users") == 2


async def test_a_user_deletes_their_account_and_user_deleted_follows(
    runtime: ServiceRuntime, users: Users, commands: CommandClient
) -> None:
    mia = await users.register("mia@example.com")

    async with watch_exchange(runtime.settings.amqp_url, "user.deleted") as deleted:
        reply = await commands.send(
            DeleteUser(actor=as_actor(mia), user_id=mia.id), Done
        )
        events = await deleted.wait_for(1)

    assert reply.result == Done()
    assert events[0]["user_id"] == str(mia.id)
    assert await users.scalar("SELECT count(*) FROM users") == 0
