"""The batch function: its Lambda entry point (``handler``), how a job continues in a new
invocation (``continuation``) and how its JSON Lines requests decode (``codec``).

The wiring and the handler itself live in ``layerserve.bootstrap.batch``.
"""
