"""The public API gateway: authenticates callers, sends commands, proxies reads."""
