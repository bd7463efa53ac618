"""The /v1 routes, one module per endpoint group of the wire contract."""
