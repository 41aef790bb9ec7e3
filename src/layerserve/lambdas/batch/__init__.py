"""The batch function: its Lambda entry point (``handler``) and how its JSON Lines requests
decode (``codec``).

The wiring and the handler itself live in ``layerserve.bootstrap.batch``; a job continues
in a new invocation through ``layerserve.adapters.lambda_continuation``.
"""
