"""The batch function's Lambda entry point (``handler``).

The wiring and the handler itself live in ``layerserve.bootstrap.batch``; a job continues
in a new invocation through ``layerserve.adapters.lambda_continuation``.
"""
