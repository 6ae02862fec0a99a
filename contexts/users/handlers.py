"""Bus entry points of the users context: one subscriber per command and event.

Each handler is a transaction boundary: it opens the session and its
transaction, lets ``service`` do the work, and commits. A refused command
(``CommandError``) rolls the transaction back and is answered as an error
reply by the consumer middleware (``bus.consumer``).
"""

from bus.broker import consumer_channel
from bus.commands import ChangeRole, DeleteUser, RegisterUser, UpdateProfile
from bus.events import InvoicePaid, UserCreated, UserDeleted, UserUpdated
from bus.messages import Event
from bus.replies import Done, Reply, UserView
from bus.service import ServiceRuntime
from bus.topology import command_queue, event_exchange, event_queue
from contexts.users import service
from contexts.users.settings import UsersSettings

INVOICE_PAID_QUEUE = event_queue("users", InvoicePaid)

PUBLISHED: dict[type[Event], str] = {
    UserCreated: "Sent after a registration (or a seeded account) commits.",
    UserUpdated: "Sent after a profile, password or role change commits, "
    "including the upgrade to premium that a paid invoice causes.",
    UserDeleted: "Sent after an account is deleted.",
}


def register_handlers(runtime: ServiceRuntime, settings: UsersSettings) -> None:
    """Subscribe the users handlers on ``runtime.broker``."""
    _register_commands(runtime, settings)
    _register_events(runtime, settings)
    _document_publishers(runtime)


def _register_commands(runtime: ServiceRuntime, settings: UsersSettings) -> None:
    broker = runtime.broker

    @broker.subscriber(
        command_queue(RegisterUser),
        channel=consumer_channel(settings),
        description="Registers a free account; replies with the user, or "
        "`conflict` when the email is taken.",
    )
    async def register_user(command: RegisterUser) -> Reply[UserView]:
        """Create an account with the free role and publish `user.created`."""
        async with runtime.sessions() as session, session.begin():
            user = await service.register(session, command)
        return Reply[UserView](result=user)

    @broker.subscriber(
        command_queue(UpdateProfile),
        channel=consumer_channel(settings),
        description="Changes name, email or password of the actor's own account "
        "(or any account, for an admin); replies with the user.",
    )
    async def update_profile(command: UpdateProfile) -> Reply[UserView]:
        """Apply a profile change and publish `user.updated` if anything changed.

        Changing one's own email or password needs the current password
        (`unauthorized` otherwise); another user's account is `not_found`
        unless the actor is an admin.
        """
        async with runtime.sessions() as session, session.begin():
            user = await service.update_profile(session, command)
        return Reply[UserView](result=user)

    @broker.subscriber(
        command_queue(ChangeRole),
        channel=consumer_channel(settings),
        description="Changes a user's role; admins only, never their own.",
    )
    async def change_role(command: ChangeRole) -> Reply[UserView]:
        """Give a user another role and publish `user.updated`.

        `forbidden` for a non-admin actor, or an admin changing their own role.
        """
        async with runtime.sessions() as session, session.begin():
            user = await service.change_role(session, command)
        return Reply[UserView](result=user)

    @broker.subscriber(
        command_queue(DeleteUser),
        channel=consumer_channel(settings),
        description="Deletes an account: the user themself or an admin.",
    )
    async def delete_user(command: DeleteUser) -> Reply[Done]:
        """Delete an account and publish `user.deleted`.

        An admin cannot delete their own account (another admin can).
        """
        async with runtime.sessions() as session, session.begin():
            await service.delete_user(session, command)
        return Reply[Done](result=Done())


def _register_events(runtime: ServiceRuntime, settings: UsersSettings) -> None:
    @runtime.broker.subscriber(
        INVOICE_PAID_QUEUE,
        event_exchange(InvoicePaid),
        channel=consumer_channel(settings),
        description="Upgrades a free user who paid an invoice to premium, once "
        "per event however often it is delivered.",
    )
    async def on_invoice_paid(event: InvoicePaid) -> None:
        """Upgrade the paying user from free to premium (`user.updated`).

        The event id is recorded in the inbox in the same transaction, so a
        redelivered or replayed event has no second effect.
        """
        async with runtime.sessions() as session, session.begin():
            await service.apply_payment(session, event, INVOICE_PAID_QUEUE.name)


def _document_publishers(runtime: ServiceRuntime) -> None:
    """Describe the events users sends, for the AsyncAPI document.

    The outbox relay publishes them through ``ReliablePublisher``; these
    publishers are never called and exist so the document shows them.
    """
    for event, description in PUBLISHED.items():
        runtime.broker.publisher(
            exchange=event_exchange(event),
            schema=event,
            persist=True,  # as the relay publishes them
            title=event.name,
            description=description,
        )
