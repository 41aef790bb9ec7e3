"""Everything that needs the ``onnx`` package: packaging-time only, never in Lambda.

The runtime layer ships onnxruntime but not ``onnx``; only the CLI imports this package.
"""

from layerserve.adapters.onnx_graph.describe import describe, signature
from layerserve.adapters.onnx_graph.isolated import IsolatedToolkit
from layerserve.adapters.onnx_graph.policy import STANDARD_DOMAINS
from layerserve.adapters.onnx_graph.toolkit import OnnxModel, OnnxToolkit

__all__ = [
    "STANDARD_DOMAINS",
    "IsolatedToolkit",
    "OnnxModel",
    "OnnxToolkit",
    "describe",
    "signature",
]
