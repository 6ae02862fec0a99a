"""Integration tests of the users context."""
