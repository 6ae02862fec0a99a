"""Signing keys: where they come from, their ids, and rotation."""

import base64
from pathlib import Path

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ec import SECP256R1, generate_private_key
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from pydantic import SecretStr

from contexts.auth.keys import (
    DEV_KEY_NAME,
    KeyConfigError,
    generate_private_pem,
    key_id,
    load_keyring,
    parse_keys,
)
from contexts.auth.settings import AuthSettings

PRODUCTION_AMQP = "amqp://auth:not-a-placeholder@rabbitmq:5672/"


def _public_pem(private_pem: str) -> str:
    key = serialization.load_pem_private_key(private_pem.encode(), password=None)
    assert isinstance(key, Ed25519PrivateKey)
    return (
        key.public_key()
        .public_bytes(
            serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
        )
        .decode("ascii")
    )


def test_kid_is_the_rfc_7638_thumbprint() -> None:
    # The Ed25519 example key of RFC 8037, appendix A, with its thumbprint.
    seed = base64.urlsafe_b64decode("nWGxne_9WmC6hEr0kuwsxERJxWl7MmkZcDusAxyuf2A=")
    public_key = Ed25519PrivateKey.from_private_bytes(seed).public_key()

    assert key_id(public_key) == "kPrK_qmxVWaYVA9wwBF6Iuo3vVzz7TxHCTwXBygrS4k"


def test_the_first_private_key_signs_and_every_key_verifies() -> None:
    new, old, retired = (generate_private_pem().decode() for _ in range(3))

    keyring = parse_keys(_public_pem(retired) + new + old)

    assert keyring.signer_kid == parse_keys(new).signer_kid
    assert set(keyring.verifiers) == {
        parse_keys(pem).signer_kid for pem in (new, old, retired)
    }
    assert keyring.jwks()[0]["kid"] == keyring.signer_kid


def test_jwks_publishes_public_halves_for_eddsa_signatures(private_pem: str) -> None:
    (jwk,) = parse_keys(private_pem).jwks()

    assert set(jwk) == {"kty", "crv", "x", "kid", "alg", "use"}
    assert (jwk["kty"], jwk["crv"], jwk["alg"], jwk["use"]) == (
        "OKP",
        "Ed25519",
        "EdDSA",
        "sig",
    )


def test_keys_without_a_private_key_are_refused(private_pem: str) -> None:
    with pytest.raises(KeyConfigError, match="no Ed25519 private key"):
        parse_keys(_public_pem(private_pem))


def test_keys_of_another_algorithm_are_refused() -> None:
    ec_pem = (
        generate_private_key(SECP256R1())
        .private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
        .decode()
    )

    with pytest.raises(KeyConfigError, match="not an Ed25519 key"):
        parse_keys(ec_pem)


def test_an_unreadable_block_is_refused_without_echoing_it() -> None:
    garbage = "-----BEGIN PRIVATE KEY-----\nbm90IGEga2V5\n-----END PRIVATE KEY-----\n"

    with pytest.raises(KeyConfigError) as refused:
        parse_keys(garbage)

    assert "bm90IGEga2V5" not in str(refused.value)


def test_production_without_a_key_refuses_to_start(tmp_path: Path) -> None:
    settings = AuthSettings(
        environment="production", amqp_url=PRODUCTION_AMQP, dev_keys_dir=tmp_path
    )

    with pytest.raises(KeyConfigError, match="no signing key configured"):
        load_keyring(settings)
    assert not any(tmp_path.iterdir())


def test_development_generates_a_key_once_and_reuses_it(tmp_path: Path) -> None:
    settings = AuthSettings(environment="development", dev_keys_dir=tmp_path / "keys")

    first = load_keyring(settings)
    second = load_keyring(settings)

    assert first.signer_kid == second.signer_kid
    key_file = tmp_path / "keys" / DEV_KEY_NAME
    assert key_file.stat().st_mode & 0o077 == 0
    assert [path.name for path in key_file.parent.iterdir()] == [DEV_KEY_NAME]


def test_configured_keys_win_over_the_file_and_generation(
    tmp_path: Path, private_pem: str
) -> None:
    other = tmp_path / "other.pem"
    other.write_bytes(generate_private_pem())
    settings = AuthSettings(
        signing_keys=SecretStr(private_pem),
        signing_keys_file=other,
        dev_keys_dir=tmp_path / "keys",
    )

    assert load_keyring(settings).signer_kid == parse_keys(private_pem).signer_kid
    assert not (tmp_path / "keys").exists()


def test_keys_are_read_from_a_file(tmp_path: Path, private_pem: str) -> None:
    key_file = tmp_path / "signing.pem"
    key_file.write_text(private_pem)
    settings = AuthSettings(
        environment="production", amqp_url=PRODUCTION_AMQP, signing_keys_file=key_file
    )

    assert load_keyring(settings).signer_kid == parse_keys(private_pem).signer_kid


def test_a_missing_key_file_is_a_clear_error(tmp_path: Path) -> None:
    settings = AuthSettings(signing_keys_file=tmp_path / "absent.pem")

    with pytest.raises(KeyConfigError, match="cannot read AUTH_SIGNING_KEYS_FILE"):
        load_keyring(settings)
