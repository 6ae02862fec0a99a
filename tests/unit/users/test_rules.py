"""The users context's pure rules: normalisation, search patterns, who may do what."""

from uuid import UUID, uuid4

import pytest

from bus.messages import Actor, Role
from bus.replies import CommandError, ErrorCode
from contexts.users.service import (
    check_deletion,
    check_role_change,
    like_pattern,
    may_access,
    needs_current_password,
    normalise_email,
    normalise_name,
)

SELF = UUID("11111111-1111-4111-8111-111111111111")
OTHER = UUID("22222222-2222-4222-8222-222222222222")


def actor(role: Role, user_id: UUID = SELF) -> Actor:
    return Actor(user_id=user_id, role=role)


def test_emails_are_trimmed_and_lower_cased() -> None:
    assert normalise_email("  Ana.Perez@Example.COM \n") == "ana.perez@example.com"


def test_a_blank_name_clears_it_and_others_are_trimmed() -> None:
    assert normalise_name("   ") is None
    assert normalise_name("  Ana Pérez ") == "Ana Pérez"


@pytest.mark.parametrize(
    ("text", "pattern"),
    [
        ("ana", "%ana%"),
        ("100%", "%100!%%"),
        ("a_b", "%a!_b%"),
        ("wow!", "%wow!!%"),
    ],
)
def test_like_patterns_take_wildcards_literally(text: str, pattern: str) -> None:
    assert like_pattern(text) == pattern


@pytest.mark.parametrize(
    ("who", "target", "allowed"),
    [
        (actor(Role.FREE), SELF, True),
        (actor(Role.PREMIUM), OTHER, False),
        (actor(Role.FREE), OTHER, False),
        (actor(Role.ADMIN), OTHER, True),
    ],
)
def test_only_the_user_themself_or_an_admin_has_access(
    who: Actor, target: UUID, allowed: bool
) -> None:
    assert may_access(who, target) is allowed


@pytest.mark.parametrize(
    ("who", "changed", "needed"),
    [
        (actor(Role.FREE), ["email"], True),
        (actor(Role.FREE), ["password"], True),
        (actor(Role.FREE), ["full_name"], False),
        (actor(Role.ADMIN), ["password"], True),  # an admin's own account
        (actor(Role.ADMIN, uuid4()), ["email", "password"], False),
    ],
)
def test_the_current_password_guards_ones_own_credentials(
    who: Actor, changed: list[str], needed: bool
) -> None:
    assert needs_current_password(who, SELF, changed) is needed  # type: ignore[arg-type]


@pytest.mark.parametrize("role", [Role.FREE, Role.PREMIUM])
def test_only_admins_change_roles(role: Role) -> None:
    with pytest.raises(CommandError) as refused:
        check_role_change(actor(role), OTHER)
    assert refused.value.info.code is ErrorCode.FORBIDDEN


def test_an_admin_cannot_change_their_own_role() -> None:
    with pytest.raises(CommandError) as refused:
        check_role_change(actor(Role.ADMIN), SELF)
    assert refused.value.info.code is ErrorCode.FORBIDDEN

    check_role_change(actor(Role.ADMIN), OTHER)


def test_deleting_another_users_account_looks_like_a_missing_one() -> None:
    with pytest.raises(CommandError) as refused:
        check_deletion(actor(Role.PREMIUM), OTHER)
    assert refused.value.info.code is ErrorCode.NOT_FOUND


def test_users_delete_themselves_and_admins_delete_others_but_not_themselves() -> None:
    check_deletion(actor(Role.FREE), SELF)
    check_deletion(actor(Role.ADMIN), OTHER)

    with pytest.raises(CommandError) as refused:
        check_deletion(actor(Role.ADMIN), SELF)
    assert refused.value.info.code is ErrorCode.FORBIDDEN
