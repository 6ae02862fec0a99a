"""Deployment, scripts and tooling around the StreamFlow services."""
