"""Auth's signing keys, and the signing and verification of access tokens.

Access tokens are JWTs signed with EdDSA over Ed25519, and verification
accepts that algorithm only: a token claiming ``none``, an HMAC made with the
public key as its secret, or any other algorithm is refused whatever its
header says. Ed25519 was chosen over ES256 for its deterministic signatures
(no per-signature nonce that a weak random source could leak the key
through), its small keys, and its fast verification at the gateway.

Each key's ``kid`` is the RFC 7638 thumbprint of its public JWK, so it needs
no configuration and stays the same wherever the key is loaded.

Keys come from ``AUTH_SIGNING_KEYS`` (PEM text) or ``AUTH_SIGNING_KEYS_FILE``
(a PEM file), one or more blocks: the first private key signs, and every key,
private or public, verifies and is published in the JWKS. Rotation takes two
restarts: first add the new key after the current one, so verifiers learn it
before it signs (longer than the JWKS cache lifetime, see
``contexts.auth.routes``); then move it first, keeping the old key (or only its
public half) until the last token the old key signed has expired.

Outside production, with no key configured, one is generated under
``.run/keys`` (git-ignored) and reused across restarts; production refuses to
start without a configured key.
"""

import base64
import hashlib
import json
import os
import re
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Final

import jwt
import structlog
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import (
    Ed25519PrivateKey,
    Ed25519PublicKey,
)

from contexts.auth.settings import AuthSettings

log = structlog.get_logger(__name__)

ALGORITHM: Final = "EdDSA"
DEV_KEY_NAME: Final = "auth-signing-key.pem"

_PEM_BLOCK = re.compile(
    r"-----BEGIN ([A-Z ]+)-----\s.*?-----END \1-----", flags=re.DOTALL
)


class KeyConfigError(RuntimeError):
    """The signing keys are missing or unusable; auth cannot start."""


class InvalidToken(Exception):
    """A token failed verification: signature, algorithm, claims or expiry."""


def _b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def public_jwk(public_key: Ed25519PublicKey) -> dict[str, str]:
    """The members of an Ed25519 public JWK that its thumbprint covers."""
    raw = public_key.public_bytes(
        serialization.Encoding.Raw, serialization.PublicFormat.Raw
    )
    return {"crv": "Ed25519", "kty": "OKP", "x": _b64url(raw)}


def key_id(public_key: Ed25519PublicKey) -> str:
    """RFC 7638 thumbprint (SHA-256) of the key's JWK."""
    canonical = json.dumps(public_jwk(public_key), separators=(",", ":"))
    return _b64url(hashlib.sha256(canonical.encode("ascii")).digest())


@dataclass(frozen=True)
class Keyring:
    """The current signing key and every key whose tokens still verify."""

    signer: Ed25519PrivateKey
    signer_kid: str
    verifiers: Mapping[str, Ed25519PublicKey]

    def encode(self, claims: Mapping[str, Any]) -> str:
        """Sign ``claims`` with the current key; the header names its ``kid``."""
        return jwt.encode(
            dict(claims),
            self.signer,
            algorithm=ALGORITHM,
            headers={"kid": self.signer_kid, "typ": "JWT"},
        )

    def decode(
        self,
        token: str,
        *,
        issuer: str,
        audience: str,
        required: tuple[str, ...],
        verify_exp: bool = True,
    ) -> dict[str, Any]:
        """Verify ``token`` and return its claims; raise ``InvalidToken``.

        The key is chosen by the header's ``kid``, the algorithm is pinned,
        and ``iss``, ``aud`` and (unless ``verify_exp`` is false) ``exp`` are
        checked.
        """
        try:
            kid = jwt.get_unverified_header(token).get("kid")
            public_key = self.verifiers.get(kid) if isinstance(kid, str) else None
            if public_key is None:
                raise InvalidToken("unknown signing key")
            claims: dict[str, Any] = jwt.decode(
                token,
                public_key,
                algorithms=[ALGORITHM],
                issuer=issuer,
                audience=audience,
                options={"require": list(required), "verify_exp": verify_exp},
            )
        except jwt.PyJWTError as exc:
            raise InvalidToken(type(exc).__name__) from None
        return claims

    def jwks(self) -> list[dict[str, str]]:
        """Every verification key as a public JWK, the signer first."""
        ordered = [
            self.signer_kid,
            *(k for k in self.verifiers if k != self.signer_kid),
        ]
        return [
            {
                **public_jwk(self.verifiers[kid]),
                "kid": kid,
                "alg": ALGORITHM,
                "use": "sig",
            }
            for kid in ordered
        ]


def parse_keys(pem_text: str) -> Keyring:
    """A keyring from PEM blocks: the first private key signs, all verify."""
    signer: Ed25519PrivateKey | None = None
    verifiers: dict[str, Ed25519PublicKey] = {}
    for number, match in enumerate(_PEM_BLOCK.finditer(pem_text), start=1):
        block = match.group(0).encode("ascii")
        try:
            loaded: object = (
                serialization.load_pem_private_key(block, password=None)
                if "PRIVATE KEY" in match.group(1)
                else serialization.load_pem_public_key(block)
            )
        except (ValueError, TypeError):
            raise KeyConfigError(f"PEM block {number} is not a readable key") from None

        if isinstance(loaded, Ed25519PrivateKey):
            signer = signer or loaded
            public_key = loaded.public_key()
        elif isinstance(loaded, Ed25519PublicKey):
            public_key = loaded
        else:
            raise KeyConfigError(
                f"PEM block {number} is not an Ed25519 key; tokens are signed "
                f"with {ALGORITHM} only"
            )
        verifiers.setdefault(key_id(public_key), public_key)

    if signer is None:
        raise KeyConfigError("the signing keys hold no Ed25519 private key")
    return Keyring(
        signer=signer, signer_kid=key_id(signer.public_key()), verifiers=verifiers
    )


def generate_private_pem() -> bytes:
    """A new Ed25519 private key in PKCS#8 PEM."""
    return Ed25519PrivateKey.generate().private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )


def development_key(directory: Path) -> str:
    """The development signing key in ``directory``, generated on first use.

    Two processes starting together may both generate one; the file is
    published with an atomic link, so both end up using the one that won.
    """
    path = directory / DEV_KEY_NAME
    if not path.exists():
        directory.mkdir(parents=True, exist_ok=True, mode=0o700)
        draft = directory / f".{DEV_KEY_NAME}.{os.getpid()}"
        descriptor = os.open(draft, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(descriptor, "wb") as handle:
            handle.write(generate_private_pem())
        try:
            os.link(draft, path)
            log.info("auth.signing_key_generated", path=str(path))
        except FileExistsError:
            pass
        finally:
            draft.unlink()
    return path.read_text(encoding="ascii")


def load_keyring(settings: AuthSettings) -> Keyring:
    """The configured keys, or in development a generated one.

    Raises ``KeyConfigError`` with the reason when auth must not start.
    """
    if settings.signing_keys is not None:
        pem_text = settings.signing_keys.get_secret_value()
    elif settings.signing_keys_file is not None:
        try:
            pem_text = settings.signing_keys_file.read_text(encoding="ascii")
        except (OSError, UnicodeDecodeError) as exc:
            raise KeyConfigError(
                f"cannot read AUTH_SIGNING_KEYS_FILE: {type(exc).__name__}"
            ) from None
    elif settings.environment == "production":
        raise KeyConfigError(
            "no signing key configured: set AUTH_SIGNING_KEYS (PEM) or "
            "AUTH_SIGNING_KEYS_FILE; keys are generated only outside production"
        )
    else:
        pem_text = development_key(settings.dev_keys_dir)

    keyring = parse_keys(pem_text)
    log.info(
        "auth.keys_loaded", signer_kid=keyring.signer_kid, keys=len(keyring.verifiers)
    )
    return keyring
