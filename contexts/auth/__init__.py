"""The auth context: tokens, sessions and signing keys (PostgreSQL)."""
