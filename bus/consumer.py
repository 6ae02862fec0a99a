"""What happens around every handler: correlation, deadlines, retries, dead letters.

``ReliableConsumer`` is a FastStream middleware installed on every broker
(bus.broker). For each message it:

- binds the message's correlation id for the handler and its log lines;
- drops a command whose deadline passed (its caller gave up; running it now
  would act on a request nobody waits for);
- turns a command's failure into an error reply, so the caller never hangs:
  a refused command (``CommandError``) and invalid input are answered and
  settled; an unexpected error is answered with ``internal`` and the command
  is dead-lettered with its reason;
- for an event, dead-letters at once what can never succeed (a malformed body,
  a ``CommandError``), and retries anything else with an exponential back-off
  through ``<queue>.retry``, dead-lettering it with its reason after
  ``max_attempts`` deliveries.

A dead-lettered message keeps its body and headers and gains
``x-error-reason``, ``x-error-type``, ``x-attempts`` and ``x-failed-at``.
"""

import json
import time
import traceback
from dataclasses import dataclass
from datetime import UTC, datetime
from inspect import Parameter
from types import TracebackType
from typing import Any, Final

import structlog
from faststream import BaseMiddleware
from faststream._internal.basic_types import AsyncFuncAny
from faststream._internal.context.repository import ContextRepo
from faststream.exceptions import AckMessage, HandlerException
from faststream.message import StreamMessage
from faststream.rabbit import RabbitResponse
from pydantic import BaseModel, ValidationError

from bus.correlation import HEADER as CORRELATION_HEADER
from bus.correlation import bind_correlation_id
from bus.publisher import ReliablePublisher
from bus.replies import CommandError, ErrorCode, ErrorInfo, FieldError, Reply
from bus.topology import DEAD_LETTER_EXCHANGE

log = structlog.get_logger(__name__)

DEADLINE_HEADER: Final = "x-deadline"
ATTEMPTS_HEADER: Final = "x-attempts"
MAX_BACKOFF_SECONDS: Final = 60.0


class PermanentError(Exception):
    """Raised by an event handler for a message that can never succeed."""


# Failures that no retry can mend: dead-lettered at once.
_UNPROCESSABLE = (
    ValidationError,
    json.JSONDecodeError,
    UnicodeDecodeError,
    PermanentError,
    CommandError,
)


@dataclass(frozen=True, slots=True)
class RetryPolicy:
    max_attempts: int = 5
    base_delay: float = 0.5

    def delay(self, attempt: int) -> float:
        """Back-off before delivery ``attempt + 1`` (``attempt`` counts from 1)."""
        return float(min(self.base_delay * 2 ** (attempt - 1), MAX_BACKOFF_SECONDS))


def validation_details(
    error: ValidationError, *, argument: str | None = None
) -> list[FieldError]:
    """The caller-facing field errors of ``error``, without the offending input.

    FastStream validates a one-argument handler's body as that argument, so
    each path starts with the argument's name (``command.email``); passing it
    as ``argument`` drops it, leaving paths into the body the caller sent.
    """
    details = []
    for item in error.errors(include_url=False, include_input=False):
        loc = list(item["loc"])
        if argument is not None and loc[:1] == [argument]:
            loc = loc[1:]
        details.append(FieldError(loc=loc, msg=item["msg"], type=item["type"]))
    return details


def describe_error(exc: BaseException) -> str:
    """One line about ``exc`` for logs and dead-letter headers.

    A validation error is described by its paths and messages only: its usual
    text repeats the input, which may be a password.
    """
    if isinstance(exc, ValidationError):
        problems = "; ".join(
            f"{'.'.join(map(str, item['loc']))}: {item['msg']}"
            for item in exc.errors(include_url=False, include_input=False)
        )
        return f"ValidationError: {problems}"[:1000]
    return "".join(traceback.format_exception_only(exc)).strip()[:1000]


def deadline_passed(headers: dict[str, Any], now_ms: float | None = None) -> bool:
    deadline = headers.get(DEADLINE_HEADER)
    if deadline is None:
        return False
    now = now_ms if now_ms is not None else time.time() * 1000
    return now > float(deadline)


class ReliableConsumer(BaseMiddleware):
    """Per-message middleware; built by ``bus.broker.create_broker``."""

    def __init__(
        self,
        msg: Any,
        /,
        *,
        context: ContextRepo,
        publisher: ReliablePublisher,
        policy: RetryPolicy,
    ) -> None:
        super().__init__(msg, context=context)
        self._publisher = publisher
        self._policy = policy
        self._message: StreamMessage[Any] | None = None
        self._handled = False

    # -- where each failure goes --------------------------------------------

    async def consume_scope(
        self, call_next: AsyncFuncAny, msg: StreamMessage[Any]
    ) -> Any:
        self._message = msg
        headers = msg.headers
        bind_correlation_id(headers.get(CORRELATION_HEADER))

        if deadline_passed(headers):
            log.warning("command.expired", queue=self._queue_name())
            raise AckMessage()

        try:
            result = await call_next(msg)
        except HandlerException:
            raise
        except Exception as exc:
            if not msg.reply_to:
                await self._settle_failed_event(exc)
                raise AckMessage() from exc
            result = await self._answer_failed_command(exc)
        self._handled = True
        return self._reply(result) if msg.reply_to else result

    @staticmethod
    def _reply(body: Any) -> RabbitResponse:
        # Not mandatory: RabbitMQ returns direct reply-to messages published
        # as mandatory even when it delivers them.
        if isinstance(body, BaseModel):
            body = body.model_dump(mode="json")
        return RabbitResponse(body, mandatory=False)

    async def after_processed(
        self,
        exc_type: type[BaseException] | None = None,
        exc_val: BaseException | None = None,
        exc_tb: TracebackType | None = None,
    ) -> bool | None:
        if exc_val is None or isinstance(exc_val, HandlerException):
            return False
        if not isinstance(exc_val, Exception):
            return False  # cancellation and the like: leave it to FastStream
        if self._message is None:
            # The body could not be parsed before any handler ran.
            await self._dead_letter(exc_val, reason="malformed message")
            return True  # the outer acknowledgement middleware acks the original
        if self._handled:
            # Only publishing the handler's result (a command's reply) failed.
            # The effect is done, so the message is acknowledged rather than
            # dead-lettered (a replay would repeat the effect); a command's
            # caller sees a timeout.
            log.error(
                "message.reply_failed",
                queue=self._queue_name(),
                error=describe_error(exc_val),
            )
            return True
        # Retrying or dead-lettering the message failed (the publisher lost
        # RabbitMQ): FastStream rejects it, and the queue's own dead-lettering
        # keeps it.
        return False

    async def _answer_failed_command(self, exc: Exception) -> dict[str, Any]:
        if isinstance(exc, CommandError):
            info = exc.info
        elif isinstance(exc, json.JSONDecodeError | UnicodeDecodeError):
            info = ErrorInfo(code=ErrorCode.INVALID, message="the body is not JSON")
        elif isinstance(exc, ValidationError) and self._is_refused_body(exc):
            info = ErrorInfo(
                code=ErrorCode.INVALID,
                message="the command is invalid",
                details=validation_details(exc, argument=self._body_argument()),
            )
        else:
            log.error("command.failed", queue=self._queue_name(), exc_info=exc)
            await self._dead_letter(exc, reason="handler failed")
            info = ErrorInfo(code=ErrorCode.INTERNAL, message="internal error")
        return Reply[Any](error=info).model_dump(mode="json")

    async def _settle_failed_event(self, exc: Exception) -> None:
        if isinstance(exc, _UNPROCESSABLE):
            await self._dead_letter(exc, reason="malformed or unprocessable message")
            return

        attempt = self._attempt()
        if attempt >= self._policy.max_attempts:
            await self._dead_letter(exc, reason=f"failed {attempt} times")
            return
        delay = self._policy.delay(attempt)
        log.warning(
            "message.retry_scheduled",
            queue=self._queue_name(),
            attempt=attempt,
            delay_s=delay,
            error=repr(exc),
        )
        await self._republish(
            exchange="",
            routing_key=f"{self._queue_name()}.retry",
            extra_headers={ATTEMPTS_HEADER: attempt},
            expiration=delay,
        )

    # -- plumbing -----------------------------------------------------------

    def _queue_name(self) -> str:
        handler = self.context.get("handler_")
        return str(handler.queue.name) if handler is not None else "unknown"

    def _handler_calls(self) -> list[Any]:
        return list(getattr(self.context.get("handler_"), "calls", ()))

    def _is_refused_body(self, exc: ValidationError) -> bool:
        """Whether FastStream refused the body, rather than the handler failing.

        FastStream validates the body against the handler's signature in a
        model named after the handler. A validation error of any other model
        is the handler's own bug, not the caller's bad input.
        """
        return any(call.name == exc.title for call in self._handler_calls())

    def _body_argument(self) -> str | None:
        """The argument the handler receives the whole body as, if it has one.

        Mirrors FastStream's rule: a handler with a single (non-variadic)
        parameter gets the decoded body as that parameter.
        """
        for call in self._handler_calls():
            params = getattr(call.dependant, "flat_params", None) or []
            if len(params) == 1 and params[0].kind is not Parameter.VAR_POSITIONAL:
                return str(params[0].field_name)
        return None

    def _raw_headers(self) -> dict[str, Any]:
        return dict(getattr(self.msg, "headers", None) or {})

    def _attempt(self) -> int:
        """This delivery's number, counting retries and redeliveries."""
        headers = self._raw_headers()
        retried = int(headers.get(ATTEMPTS_HEADER, 0))
        redelivered = int(headers.get("x-delivery-count", 0))
        return retried + redelivered + 1

    async def _dead_letter(self, exc: BaseException, *, reason: str) -> None:
        detail = describe_error(exc)
        log.error(
            "message.dead_lettered",
            queue=self._queue_name(),
            reason=reason,
            error=detail,
        )
        await self._republish(
            exchange=DEAD_LETTER_EXCHANGE,
            routing_key=self._queue_name(),
            extra_headers={
                "x-error-reason": reason,
                "x-error-type": type(exc).__name__,
                "x-error-detail": detail,
                ATTEMPTS_HEADER: self._attempt(),
                "x-failed-at": datetime.now(UTC).isoformat(),
            },
        )

    async def _republish(
        self,
        *,
        exchange: str,
        routing_key: str,
        extra_headers: dict[str, Any],
        expiration: float | None = None,
    ) -> None:
        raw = self.msg
        assert raw is not None
        headers = {**self._raw_headers(), **extra_headers}
        headers.pop("x-delivery-count", None)
        await self._publisher.publish(
            raw.body,
            exchange=exchange,
            routing_key=routing_key,
            headers=headers,
            message_id=raw.message_id,
            correlation_id=raw.correlation_id,
            content_type=raw.content_type,
            message_type=raw.type,
            expiration=expiration,
        )
