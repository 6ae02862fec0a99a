"""The users context: accounts, password hashes, roles.

Handles the ``users.*`` commands, publishes ``user.created``, ``user.updated``
and ``user.deleted``, upgrades payers on ``invoice.paid``, and serves user
reads and the internal credential check over REST.
"""
