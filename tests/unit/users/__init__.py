"""Unit tests of the users context."""
