"""Helpers shared by the test suites: where the services are, queue clean-up."""
