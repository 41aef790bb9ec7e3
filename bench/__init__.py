"""Benchmarks of layerserve: ``python -m bench [overhead|cold|metrics|aggregation]``.

Keep this package's ``__init__`` free of third-party imports: the cold-start child
process imports it before it starts timing the handler's imports.
"""
