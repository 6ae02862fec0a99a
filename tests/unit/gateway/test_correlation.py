"""A correlation id per request: honoured when sane, returned, and sent along."""

from uuid import UUID

import pytest

from bus.correlation import HEADER as CORRELATION_HEADER
from bus.replies import Reply, TokenPair
from tests.unit.gateway.conftest import Harness

LOGIN = {"email": "ana@example.com", "password": "Str0ng-Passw0rd"}


def _tokens(_command: object) -> Reply[TokenPair]:
    return Reply(result=TokenPair(access_token="a", refresh_token="r", expires_in=900))


async def test_a_sane_incoming_id_is_returned_and_sent_with_the_command(
    harness: Harness,
) -> None:
    harness.commands.responders["auth.login"] = _tokens

    response = await harness.client.post(
        "/auth/login", json=LOGIN, headers={CORRELATION_HEADER: "req-42.a_b:c"}
    )

    assert response.status_code == 200
    assert response.headers[CORRELATION_HEADER] == "req-42.a_b:c"
    [(_, sent_with)] = harness.commands.sent
    assert sent_with == "req-42.a_b:c"


@pytest.mark.parametrize("incoming", ["x" * 65, "a b", "<script>", ""])
async def test_an_insane_incoming_id_is_replaced(
    harness: Harness, incoming: str
) -> None:
    response = await harness.client.get(
        "/healthz", headers={CORRELATION_HEADER: incoming}
    )

    returned = response.headers[CORRELATION_HEADER]
    assert returned != incoming
    assert len(returned) == 32
    int(returned, 16)


async def test_a_proxied_read_carries_the_id_to_the_context(
    harness: Harness, user_id: UUID
) -> None:
    response = await harness.client.get(
        f"/usuarios/{user_id}",
        headers={**harness.bearer(user_id), CORRELATION_HEADER: "trace-7"},
    )

    assert response.status_code == 200
    assert harness.contexts.seen[-1].headers[CORRELATION_HEADER] == "trace-7"


async def test_each_request_gets_its_own_id(harness: Harness) -> None:
    first = await harness.client.get("/healthz")
    second = await harness.client.get("/healthz")

    assert first.headers[CORRELATION_HEADER] != second.headers[CORRELATION_HEADER]
