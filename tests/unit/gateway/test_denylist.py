"""The denylist keeps a revocation until its token would have expired anyway."""

from datetime import UTC, datetime

from gateway.denylist import SWEEP_INTERVAL, Denylist, Revocation


class Clock:
    def __init__(self) -> None:
        self.now = 1_000.0

    def __call__(self) -> float:
        return self.now


def test_a_revoked_token_is_denied_until_it_expires() -> None:
    clock = Clock()
    denylist = Denylist(clock)

    denylist.revoke("a", expires_at=clock.now + 100)

    assert denylist.is_revoked("a")
    assert not denylist.is_revoked("b")


def test_an_already_expired_revocation_is_not_kept() -> None:
    clock = Clock()
    denylist = Denylist(clock)

    denylist.revoke("old", expires_at=clock.now - 1)

    assert len(denylist) == 0


def test_expired_entries_are_swept_as_new_ones_arrive() -> None:
    clock = Clock()
    denylist = Denylist(clock)
    denylist.revoke("short", expires_at=clock.now + 10)
    denylist.revoke("long", expires_at=clock.now + 10 * SWEEP_INTERVAL)

    clock.now += SWEEP_INTERVAL
    denylist.revoke("new", expires_at=clock.now + 10)

    assert not denylist.is_revoked("short")
    assert denylist.is_revoked("long")
    assert denylist.is_revoked("new")


def test_loading_from_auth_marks_the_list_trustworthy() -> None:
    clock = Clock()
    denylist = Denylist(clock)
    assert not denylist.loaded

    denylist.load(
        [Revocation(jti="x", expires_at=datetime.fromtimestamp(clock.now + 60, UTC))]
    )

    assert denylist.loaded
    assert denylist.is_revoked("x")
