"""layerserve: ONNX models as a service on AWS Lambda."""

__version__ = "0.1.0"
