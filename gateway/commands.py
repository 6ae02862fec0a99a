"""Writes: a command over RabbitMQ, its reply mapped to HTTP.

An error reply becomes its status (``gateway.errors.REPLY_STATUS``); no reply
in time becomes 504, and the command will not run later (the client sets the
message's expiration and deadline); a broker that cannot be reached becomes
503.
"""

from typing import Protocol, TypeVar

import structlog
from pydantic import BaseModel, ValidationError

from bus.messages import Command
from bus.replies import Reply
from bus.rpc import CommandFailed, CommandTimeout
from gateway.errors import ApiError

log = structlog.get_logger(__name__)

T = TypeVar("T", bound=BaseModel)


class CommandSender(Protocol):
    """What the gateway needs of ``bus.rpc.CommandClient``."""

    @property
    def connected(self) -> bool: ...

    async def connect(self) -> None: ...

    async def close(self) -> None: ...

    async def send(
        self, command: Command, result: type[T], *, timeout: float | None = None
    ) -> Reply[T]: ...


async def execute(client: CommandSender, command: Command, result: type[T]) -> T:
    """Send ``command`` and return its result, or raise the matching ``ApiError``."""
    context = command.name.split(".", 1)[0]
    try:
        reply = await client.send(command, result)
    except CommandTimeout:
        raise ApiError(504, f"The {context} service did not answer in time.") from None
    except ValidationError:
        log.error("gateway.command.bad_reply", command=command.name)
        raise ApiError(502, f"The {context} service answered badly.") from None
    except CommandFailed as exc:
        log.warning(
            "gateway.command.unsent",
            command=command.name,
            error_type=type(exc).__name__,
        )
        raise ApiError(503, "The message broker is unavailable.") from None

    if reply.error is not None:
        raise ApiError.from_reply(reply.error)
    if reply.result is None:
        log.error("gateway.command.empty_reply", command=command.name)
        raise ApiError(502, f"The {context} service answered without a result.")
    return reply.result
