"""Access tokens: signed with the pinned algorithm, every claim checked."""

import base64
import hashlib
import hmac
import json
from collections.abc import Mapping
from datetime import UTC, datetime, timedelta
from uuid import uuid4

import jwt
import pytest
from cryptography.hazmat.primitives import serialization

from bus.messages import Role
from contexts.auth.keys import (
    ALGORITHM,
    InvalidToken,
    Keyring,
    generate_private_pem,
    parse_keys,
)
from contexts.auth.service import (
    AccessClaims,
    hash_refresh_token,
    issue_access_token,
    new_refresh_token,
    read_access_token,
)
from contexts.auth.settings import AuthSettings


def _issue(keyring: Keyring, settings: AuthSettings, now: datetime) -> str:
    return issue_access_token(
        keyring,
        settings,
        user_id=uuid4(),
        role=Role.PREMIUM,
        session_id=uuid4(),
        now=now,
    ).token


def _b64url(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()


def _segment(data: Mapping[str, object]) -> str:
    return _b64url(json.dumps(data).encode())


def test_token_carries_every_claim_and_names_its_key(
    keyring: Keyring, settings: AuthSettings
) -> None:
    user_id, session_id = uuid4(), uuid4()
    now = datetime.now(UTC)

    issued = issue_access_token(
        keyring,
        settings,
        user_id=user_id,
        role=Role.ADMIN,
        session_id=session_id,
        now=now,
    )
    claims = read_access_token(keyring, settings, issued.token)

    header = jwt.get_unverified_header(issued.token)
    assert header["alg"] == ALGORITHM == "EdDSA"
    assert header["kid"] == keyring.signer_kid
    assert (claims.sub, claims.role, claims.sid) == (user_id, Role.ADMIN, session_id)
    assert (claims.iss, claims.aud) == ("streamflow-auth", "streamflow-api")
    assert claims.exp - claims.iat == settings.access_token_ttl == 900
    assert claims.jti == issued.jti
    assert claims.expires_at == issued.expires_at


def test_every_token_has_its_own_jti(keyring: Keyring, settings: AuthSettings) -> None:
    now = datetime.now(UTC)
    tokens = [_issue(keyring, settings, now) for _ in range(50)]

    jtis = {read_access_token(keyring, settings, token).jti for token in tokens}

    assert len(jtis) == 50


def test_a_token_verifies_with_the_published_key_alone(
    keyring: Keyring, settings: AuthSettings
) -> None:
    token = _issue(keyring, settings, datetime.now(UTC))
    (jwk,) = keyring.jwks()

    claims = jwt.decode(
        token,
        jwt.PyJWK(jwk),
        algorithms=["EdDSA"],
        audience=settings.audience,
        issuer=settings.issuer,
    )

    assert AccessClaims.model_validate(claims).role is Role.PREMIUM


def test_an_expired_token_is_refused(keyring: Keyring, settings: AuthSettings) -> None:
    long_ago = datetime.now(UTC) - timedelta(seconds=settings.access_token_ttl + 5)
    token = _issue(keyring, settings, long_ago)

    with pytest.raises(InvalidToken, match="ExpiredSignatureError"):
        read_access_token(keyring, settings, token)
    assert read_access_token(keyring, settings, token, verify_exp=False).exp < (
        datetime.now(UTC).timestamp()
    )


@pytest.mark.parametrize(
    ("field", "value"), [("issuer", "someone-else"), ("audience", "another-api")]
)
def test_a_token_for_another_issuer_or_audience_is_refused(
    keyring: Keyring, settings: AuthSettings, field: str, value: str
) -> None:
    token = _issue(keyring, settings, datetime.now(UTC))
    expecting = settings.model_copy(update={field: value})

    with pytest.raises(InvalidToken):
        read_access_token(keyring, expecting, token)


def test_an_hmac_token_keyed_with_the_public_key_is_refused(
    keyring: Keyring, settings: AuthSettings
) -> None:
    # The classic confusion attack: HS256 with the public key as the secret.
    good = read_access_token(
        keyring, settings, _issue(keyring, settings, datetime.now(UTC))
    )
    public_pem = keyring.verifiers[keyring.signer_kid].public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    header = {"alg": "HS256", "typ": "JWT", "kid": keyring.signer_kid}
    signing_input = f"{_segment(header)}.{_segment(good.model_dump(mode='json'))}"
    signature = hmac.new(public_pem, signing_input.encode(), hashlib.sha256).digest()
    forged = f"{signing_input}.{_b64url(signature)}"

    with pytest.raises(InvalidToken):
        read_access_token(keyring, settings, forged)


def test_an_unsigned_token_is_refused(keyring: Keyring, settings: AuthSettings) -> None:
    good = read_access_token(
        keyring, settings, _issue(keyring, settings, datetime.now(UTC))
    )
    header = {"alg": "none", "typ": "JWT", "kid": keyring.signer_kid}
    unsigned = f"{_segment(header)}.{_segment(good.model_dump(mode='json'))}."

    with pytest.raises(InvalidToken):
        read_access_token(keyring, settings, unsigned)


def test_a_token_from_an_unknown_key_is_refused(
    keyring: Keyring, settings: AuthSettings
) -> None:
    stranger = parse_keys(generate_private_pem().decode())
    impostor = Keyring(
        signer=stranger.signer, signer_kid=keyring.signer_kid, verifiers={}
    )

    for keys in (stranger, impostor):
        token = _issue(keys, settings, datetime.now(UTC))
        with pytest.raises(InvalidToken):
            read_access_token(keyring, settings, token)


def test_tokens_of_a_rotated_out_key_still_verify(
    keyring: Keyring, settings: AuthSettings, private_pem: str
) -> None:
    old_token = _issue(keyring, settings, datetime.now(UTC))
    rotated = parse_keys(generate_private_pem().decode() + private_pem)

    assert rotated.signer_kid != keyring.signer_kid
    assert read_access_token(rotated, settings, old_token).sub
    new_header = jwt.get_unverified_header(_issue(rotated, settings, datetime.now(UTC)))
    assert new_header["kid"] == rotated.signer_kid


def test_a_token_missing_a_claim_is_refused(
    keyring: Keyring, settings: AuthSettings
) -> None:
    now = int(datetime.now(UTC).timestamp())
    without_session = keyring.encode(
        {
            "sub": str(uuid4()),
            "role": "free",
            "jti": "x",
            "iat": now,
            "exp": now + 60,
            "iss": settings.issuer,
            "aud": settings.audience,
        }
    )

    with pytest.raises(InvalidToken):
        read_access_token(keyring, settings, without_session)


def test_garbage_is_refused(keyring: Keyring, settings: AuthSettings) -> None:
    with pytest.raises(InvalidToken):
        read_access_token(keyring, settings, "not.a.token")


def test_refresh_tokens_are_random_and_stored_as_sha256() -> None:
    tokens = {new_refresh_token() for _ in range(100)}

    assert len(tokens) == 100
    token = tokens.pop()
    assert len(base64.urlsafe_b64decode(token + "=")) == 32
    digest = hash_refresh_token(token)
    assert digest == hashlib.sha256(token.encode()).hexdigest()
    assert digest != hash_refresh_token(token + "x")
