"""The seeder's fake users: deterministic, unique, valid."""

from bus.events import UserCreated
from bus.messages import Role
from contexts.users.seed import batches, fake_users, parse_args
from contexts.users.service import normalise_email


def test_fake_users_are_the_same_on_every_run() -> None:
    assert list(fake_users(30)) == list(fake_users(30))


def test_a_larger_count_extends_the_same_users() -> None:
    assert list(fake_users(200))[:50] == list(fake_users(50))


def test_fake_emails_are_unique_valid_and_already_normalised() -> None:
    users = list(fake_users(2000))
    emails = [user.email for user in users]

    assert len(set(emails)) == len(emails)
    assert all(normalise_email(email) == email for email in emails)
    for user in users[:200]:
        event = UserCreated.model_validate(
            {
                "event_type": "user.created",
                "user_id": "3f0c2a5e-4a53-4c9e-9a8b-2b5a7a0e9d11",
                "email": user.email,
                "full_name": user.full_name,
                "role": user.role,
            }
        )
        assert event.email == user.email


def test_fake_users_are_free_or_premium_never_admin() -> None:
    roles = {user.role for user in fake_users(500)}
    assert roles == {Role.FREE, Role.PREMIUM}


def test_batches_cover_every_user_once() -> None:
    sizes = [len(batch) for batch in batches(fake_users(2500), 1000)]
    assert sizes == [1000, 1000, 500]


def test_the_count_defaults_to_fifty() -> None:
    assert parse_args([]).count == 50
    assert parse_args(["--count", "10000"]).count == 10000
