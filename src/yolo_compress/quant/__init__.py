"""Quantization: static INT8 (ONNX Runtime QDQ, OpenVINO/NNCF), dynamic INT8, FP16, accuracy-aware mixed
precision. Backends are wrapped in :mod:`.onnxrt` and :mod:`.openvino`; :func:`quantize` composes them."""

from .quantize import QuantResult, quantize

__all__ = ["QuantResult", "quantize"]
