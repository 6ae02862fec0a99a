"""Shapes of auth's REST reads, and of the users context's credential check."""

from datetime import datetime
from typing import Literal
from uuid import UUID

from pydantic import BaseModel, Field

from bus.messages import Role


class JsonWebKey(BaseModel):
    """A public Ed25519 key that verifies access tokens (RFC 8037)."""

    kty: Literal["OKP"] = Field(description="Key type: octet key pair.")
    crv: Literal["Ed25519"] = Field(description="The curve.")
    x: str = Field(description="The public key, base64url without padding.")
    kid: str = Field(
        description="Key id, the RFC 7638 thumbprint; access tokens name it in "
        "their header."
    )
    alg: Literal["EdDSA"] = Field(description="The only algorithm it verifies.")
    use: Literal["sig"] = Field(description="Signatures only.")


class JsonWebKeySet(BaseModel):
    """Every key whose tokens are still valid, the current signer first."""

    keys: list[JsonWebKey] = Field(description="The public keys.")


class Revocation(BaseModel):
    """An access token revoked before its expiry."""

    jti: str = Field(description="The revoked token's `jti` claim.")
    expires_at: datetime = Field(
        description="When the token expires anyway; the revocation may be "
        "forgotten after that."
    )


class RevocationList(BaseModel):
    """Revocations still in force: a gateway loads them into its denylist."""

    revocations: list[Revocation] = Field(
        description="Every revocation whose token has not expired yet."
    )


class VerifiedCredentials(BaseModel):
    """The users context's answer when an email and password match."""

    user_id: UUID = Field(description="The account's id.")
    email: str = Field(description="The account's email address.")
    role: Role = Field(description="The account's role.")
