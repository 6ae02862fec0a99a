"""The message contracts: what every event, command and reply promises."""

import inspect
import re
from datetime import datetime
from typing import get_args
from uuid import UUID, uuid4

import pytest
from pydantic import ValidationError

from bus import commands, events
from bus.messages import Actor, Command, Event, Role
from bus.replies import CommandError, Done, ErrorCode, ErrorInfo, FieldError, Reply
from bus.topology import COMMANDS

ENVELOPE = {"event_id": UUID, "occurred_at": datetime, "correlation_id": str}
CONTEXTS = {"users", "auth", "playlists", "email"}
PAST_TENSE = re.compile(r"(ed|paid|sent)$")
SECRET = "correct horse battery staple"


def _declared(module: object, base: type) -> list[type]:
    return [
        member
        for _, member in inspect.getmembers(module, inspect.isclass)
        if issubclass(member, base) and member is not base
    ]


def test_every_event_in_the_module_is_listed() -> None:
    assert set(_declared(events, Event)) == set(events.ALL_EVENTS)


def test_every_command_in_the_module_has_a_queue() -> None:
    assert set(_declared(commands, Command)) == set(COMMANDS)


@pytest.mark.parametrize("event", events.ALL_EVENTS, ids=lambda e: e.name)
def test_event_carries_the_envelope(event: type[Event]) -> None:
    fields = event.model_fields

    for name, kind in ENVELOPE.items():
        assert fields[name].annotation is kind, name
    assert get_args(fields["event_type"].annotation) == (event.name,)
    assert fields["event_type"].default == event.name


@pytest.mark.parametrize("event", events.ALL_EVENTS, ids=lambda e: e.name)
def test_event_refuses_another_events_type(event: type[Event]) -> None:
    with pytest.raises(ValidationError) as caught:
        event.model_validate({"event_type": "something.else"})

    assert any(error["loc"] == ("event_type",) for error in caught.value.errors())


def test_event_envelope_defaults_are_fresh() -> None:
    first = events.UserDeleted(user_id=uuid4())
    second = events.UserDeleted(user_id=uuid4())

    assert first.event_type == "user.deleted"
    assert first.event_id != second.event_id
    assert first.occurred_at.tzinfo is not None
    assert first.correlation_id


def test_event_names_are_past_tense_and_unique() -> None:
    names = [event.name for event in events.ALL_EVENTS]

    assert len(names) == len(set(names))
    for name in names:
        assert re.fullmatch(r"[a-z]+\.[a-z_]+", name), name
        assert PAST_TENSE.search(name), name


@pytest.mark.parametrize("command", COMMANDS, ids=lambda c: c.name)
def test_command_name_is_an_imperative_queue_name(command: type[Command]) -> None:
    context, _, verb = command.name.partition(".")

    assert re.fullmatch(r"[a-z]+\.[a-z_]+", command.name)
    assert context in CONTEXTS
    assert not PAST_TENSE.search(verb.split("_")[0])
    assert command.name not in {event.name for event in events.ALL_EVENTS}


def test_command_names_are_unique() -> None:
    names = [command.name for command in COMMANDS]

    assert len(names) == len(set(names))


def _with_secrets() -> list[Command]:
    actor = Actor(user_id=uuid4(), role=Role.FREE)
    return [
        commands.RegisterUser(email="ana@example.com", password=SECRET),
        commands.UpdateProfile(
            actor=actor, user_id=actor.user_id, password=SECRET, current_password=SECRET
        ),
        commands.Login(email="ana@example.com", password=SECRET, client_ip="10.0.0.1"),
        commands.RefreshTokens(refresh_token=SECRET, client_ip="10.0.0.1"),
        commands.Logout(actor=actor, access_token=SECRET),
    ]


@pytest.mark.parametrize("command", _with_secrets(), ids=lambda c: c.name)
def test_secrets_never_appear_in_a_commands_repr(command: Command) -> None:
    assert SECRET not in repr(command)
    assert SECRET not in str(command)
    assert SECRET in command.model_dump_json()


def test_every_secret_field_is_hidden_from_repr() -> None:
    for command in COMMANDS:
        for name, field in command.model_fields.items():
            if "password" in name or "token" in name:
                assert field.repr is False, f"{command.name}.{name}"


def test_contracts_refuse_unknown_fields() -> None:
    with pytest.raises(ValidationError):
        commands.DeleteUser.model_validate(
            {
                "actor": {"user_id": str(uuid4()), "role": "admin"},
                "user_id": str(uuid4()),
                "force": True,
            }
        )


def test_reply_refuses_both_result_and_error() -> None:
    error = ErrorInfo(code=ErrorCode.CONFLICT, message="taken")

    with pytest.raises(ValidationError, match="not both"):
        Reply[Done](result=Done(), error=error)


def test_reply_with_a_result_is_ok_and_one_with_an_error_is_not() -> None:
    error = ErrorInfo(code=ErrorCode.NOT_FOUND, message="no such user")

    assert Reply[Done](result=Done()).ok
    assert not Reply[Done](error=error).ok


def test_reply_round_trips_through_json() -> None:
    reply = Reply[Done](
        error=ErrorInfo(
            code=ErrorCode.INVALID,
            message="the command is invalid",
            details=[FieldError(loc=["email"], msg="bad", type="value_error")],
        )
    )

    again = Reply[Done].model_validate_json(reply.model_dump_json())

    assert again == reply
    assert again.error is not None
    assert again.error.details[0].loc == ["email"]


def test_command_error_carries_its_reply_info() -> None:
    error = CommandError(ErrorCode.TOO_MANY_REQUESTS, "slow down", retry_after=30)

    assert str(error) == "slow down"
    assert error.info.code is ErrorCode.TOO_MANY_REQUESTS
    assert error.info.retry_after == 30
    assert error.info.details == []
