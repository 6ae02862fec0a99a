"""One error shape for every failure the gateway answers with.

Every error body is ``{"error": {"code", "message", "details", "retry_after"},
"correlation_id"}``: error replies of commands, failures of proxied reads,
FastAPI's own validation errors and 404/405, and anything unexpected (a 500
without a stack trace). The correlation id is also in the
``X-Correlation-ID`` header.
"""

from collections.abc import Iterable, Mapping, Sequence
from enum import StrEnum
from typing import Any

import structlog
from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from pydantic import BaseModel, Field
from starlette.exceptions import HTTPException as StarletteHTTPException

from bus.correlation import HEADER as CORRELATION_HEADER
from bus.correlation import current_correlation_id
from bus.replies import ErrorCode, ErrorInfo, FieldError

log = structlog.get_logger(__name__)


class ApiErrorCode(StrEnum):
    """Machine-readable class of an error; the bus's error codes and a few more."""

    INVALID = ErrorCode.INVALID.value
    UNAUTHORIZED = ErrorCode.UNAUTHORIZED.value
    FORBIDDEN = ErrorCode.FORBIDDEN.value
    NOT_FOUND = ErrorCode.NOT_FOUND.value
    CONFLICT = ErrorCode.CONFLICT.value
    TOO_MANY_REQUESTS = ErrorCode.TOO_MANY_REQUESTS.value
    UNAVAILABLE = ErrorCode.UNAVAILABLE.value
    INTERNAL = ErrorCode.INTERNAL.value
    METHOD_NOT_ALLOWED = "method_not_allowed"
    BAD_GATEWAY = "bad_gateway"
    TIMEOUT = "timeout"


# A command's error reply becomes this status; "internal" means the context
# failed, which the caller sees as a bad gateway.
REPLY_STATUS: Mapping[ErrorCode, int] = {
    ErrorCode.INVALID: 422,
    ErrorCode.UNAUTHORIZED: 401,
    ErrorCode.FORBIDDEN: 403,
    ErrorCode.NOT_FOUND: 404,
    ErrorCode.CONFLICT: 409,
    ErrorCode.TOO_MANY_REQUESTS: 429,
    ErrorCode.UNAVAILABLE: 503,
    ErrorCode.INTERNAL: 502,
}

# The code of an HTTP status that did not come from a command reply.
STATUS_CODE: Mapping[int, ApiErrorCode] = {
    400: ApiErrorCode.INVALID,
    401: ApiErrorCode.UNAUTHORIZED,
    403: ApiErrorCode.FORBIDDEN,
    404: ApiErrorCode.NOT_FOUND,
    405: ApiErrorCode.METHOD_NOT_ALLOWED,
    409: ApiErrorCode.CONFLICT,
    422: ApiErrorCode.INVALID,
    429: ApiErrorCode.TOO_MANY_REQUESTS,
    502: ApiErrorCode.BAD_GATEWAY,
    503: ApiErrorCode.UNAVAILABLE,
    504: ApiErrorCode.TIMEOUT,
}


class ErrorDetail(BaseModel):
    """What went wrong, safe to show to the caller."""

    code: ApiErrorCode = Field(description="Machine-readable error class.")
    message: str = Field(description="Human-readable explanation.")
    details: list[FieldError] = Field(
        default_factory=list, description="Per-field problems of invalid input."
    )
    retry_after: int | None = Field(
        default=None, description="Seconds to wait before trying again, if known."
    )


class ErrorResponse(BaseModel):
    """The body of every error response."""

    error: ErrorDetail
    correlation_id: str = Field(
        description="Id of this request in the logs; also the X-Correlation-ID header."
    )


class ApiError(Exception):
    """Raised anywhere in the gateway to answer with an error response."""

    def __init__(
        self,
        status: int,
        message: str,
        *,
        code: ApiErrorCode | None = None,
        details: Sequence[FieldError] = (),
        retry_after: int | None = None,
        headers: Mapping[str, str] | None = None,
    ) -> None:
        super().__init__(message)
        self.status = status
        self.detail = ErrorDetail(
            code=code or STATUS_CODE.get(status, ApiErrorCode.INTERNAL),
            message=message,
            details=list(details),
            retry_after=retry_after,
        )
        self.headers = dict(headers or {})

    @classmethod
    def from_reply(cls, info: ErrorInfo) -> "ApiError":
        """The HTTP error for a command's error reply."""
        headers = {}
        if info.retry_after is not None:
            headers["Retry-After"] = str(info.retry_after)
        return cls(
            REPLY_STATUS[info.code],
            info.message,
            code=ApiErrorCode(info.code.value),
            details=info.details,
            retry_after=info.retry_after,
            headers=headers,
        )


def error_response(error: ApiError) -> JSONResponse:
    correlation_id = current_correlation_id()
    body = ErrorResponse(error=error.detail, correlation_id=correlation_id)
    headers = {**error.headers, CORRELATION_HEADER: correlation_id}
    return JSONResponse(
        body.model_dump(mode="json"), status_code=error.status, headers=headers
    )


def field_errors(errors: Iterable[Mapping[str, Any]]) -> list[FieldError]:
    """Per-field details, without the offending input (it may be a password)."""
    return [
        FieldError(
            loc=[part for part in item.get("loc", ()) if isinstance(part, str | int)],
            msg=str(item.get("msg", "invalid value")),
            type=str(item.get("type", "value_error")),
        )
        for item in errors
    ]


async def _on_api_error(_request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, ApiError)
    return error_response(exc)


async def _on_validation_error(_request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, RequestValidationError)
    return error_response(
        ApiError(422, "The request is invalid.", details=field_errors(exc.errors()))
    )


async def _on_http_error(_request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, StarletteHTTPException)
    message = exc.detail if isinstance(exc.detail, str) else "The request failed."
    return error_response(
        ApiError(exc.status_code, message, headers=exc.headers or None)
    )


async def _on_unexpected(request: Request, exc: Exception) -> JSONResponse:
    log.error(
        "gateway.unexpected_error",
        path=request.url.path,
        method=request.method,
        error_type=type(exc).__name__,
        exc_info=exc,
    )
    return error_response(ApiError(500, "Internal error.", code=ApiErrorCode.INTERNAL))


def install_error_handlers(app: FastAPI) -> None:
    app.add_exception_handler(ApiError, _on_api_error)
    app.add_exception_handler(RequestValidationError, _on_validation_error)
    app.add_exception_handler(StarletteHTTPException, _on_http_error)
    app.add_exception_handler(Exception, _on_unexpected)


_DESCRIPTIONS: Mapping[int, str] = {
    401: "Missing, invalid, expired or revoked access token, or wrong credentials.",
    403: "The caller may not do this.",
    404: "No such resource, or not visible to the caller.",
    409: "Conflicts with the current state (an email already in use).",
    422: "The request body, path or query is invalid; `details` names the fields.",
    429: "Too many attempts; wait `Retry-After` seconds.",
    500: "Unexpected error in the gateway.",
    502: "The owning service failed or answered badly.",
    503: "The owning service or the message broker is unreachable.",
    504: "The owning service did not answer in time.",
}


def _example(status: int) -> dict[str, Any]:
    code = STATUS_CODE.get(status, ApiErrorCode.INTERNAL)
    detail: dict[str, Any] = {
        "code": code.value,
        "message": _DESCRIPTIONS[status],
        "details": [],
        "retry_after": None,
    }
    if status == 422:
        detail["details"] = [
            {
                "loc": ["body", "email"],
                "msg": "value is not a valid email address",
                "type": "value_error",
            }
        ]
    if status == 429:
        detail["retry_after"] = 60
    return {"error": detail, "correlation_id": "0f8c7e1d2b3a4c5d6e7f8091a2b3c4d5"}


def error_responses(*statuses: int) -> dict[int | str, dict[str, Any]]:
    """OpenAPI ``responses`` for these error statuses, all with ``ErrorResponse``.

    Every path also documents 500, which a bug can cause anywhere.
    """
    documented: dict[int | str, dict[str, Any]] = {}
    for status in sorted({*statuses, 500}):
        entry: dict[str, Any] = {
            "model": ErrorResponse,
            "description": _DESCRIPTIONS[status],
            "content": {"application/json": {"example": _example(status)}},
        }
        if status == 429:
            entry["headers"] = {
                "Retry-After": {
                    "description": "Seconds to wait before trying again.",
                    "schema": {"type": "integer"},
                }
            }
        documented[status] = entry
    return documented
