"""What the StreamFlow contexts share: message contracts, topology and plumbing.

Nothing in this package imports a context or the gateway.
"""
