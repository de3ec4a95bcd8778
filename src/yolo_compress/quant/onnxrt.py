"""ONNX Runtime quantization behind one small interface (``onnxruntime.quantization``).

Static PTQ writes a QDQ model: per-channel INT8 weights, UINT8 activations (the fast kernels on x86;
signed activations ran 2x *slower* than FP32 here, see ../shared/PEERS.md), 7-bit weights on CPUs
without VNNI (``reduce_range``: the AVX2 u8*s8 kernel can saturate with 8-bit weights). Calibration
ranges are computed once and cached, so the mixed-precision search re-quantizes with other float layers
in seconds. The Detect decode (DFL, box arithmetic, the box/score concat) always stays float: one INT8
scale cannot hold box pixels and class probabilities.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Sequence

import numpy as np

METHODS = {"minmax": "MinMax", "entropy": "Entropy", "percentile": "Percentile", "auto": "MinMax"}
HEAD_BRANCH = re.compile(r"^/model\.(\d+)/((?:one2one_)?cv[234]\.\d+/(?:one2one_)?cv[234]\.\d+\.\d+)/")
MODULE = re.compile(r"^/model\.(\d+)/")


def cpu_has_vnni() -> bool:
    try:
        flags = Path("/proc/cpuinfo").read_text()
    except OSError:
        return False
    return any(f in flags for f in ("avx512_vnni", "avx_vnni", "amx_int8"))


def node_groups(model) -> tuple[dict[str, list[str]], list[str]]:
    """Layer groups (``model.7``, ``model.22.cv2.0.1``: the names ``--ignore`` takes) -> their node names,
    and the Detect decode nodes that always stay float."""
    from .groups import split_groups

    return split_groups([n.name for n in model.graph.node], MODULE, HEAD_BRANCH, lambda b: b.group(2).split("/")[-1])


class _Reader:
    """``CalibrationDataReader`` over preprocessed tensors."""

    def __init__(self, input_name: str, tensors: Sequence[np.ndarray]):
        self.input_name, self.tensors, self.i = input_name, list(tensors), 0

    def get_next(self):
        if self.i >= len(self.tensors):
            return None
        self.i += 1
        return {self.input_name: self.tensors[self.i - 1]}

    def rewind(self):
        self.i = 0


def preprocess_for_quant(src: Path, dst: Path) -> Path:
    """ONNX Runtime's recommended pre-pass (shape inference + graph clean-up) before static quantization."""
    from onnxruntime.quantization.shape_inference import quant_pre_process

    quant_pre_process(str(src), str(dst), skip_symbolic_shape=True)
    return dst


def copy_metadata(src: Path, dst: Path) -> None:
    """Quantization drops Ultralytics' metadata (names, imgsz, stride); put it back."""
    import onnx

    m_src = onnx.load(str(src), load_external_data=False)
    m = onnx.load(str(dst))
    del m.metadata_props[:]
    for p in m_src.metadata_props:
        m.metadata_props.add(key=p.key, value=p.value)
    onnx.save(m, str(dst))


def static_int8(src: Path, dst: Path, calib: Sequence[np.ndarray], method: str = "auto",
                reduce_range: bool | None = None, float_nodes: Sequence[str] = (), cache: Path | None = None,
                per_channel: bool = True) -> Path:
    """QDQ INT8 of ``src`` (pre-processed FP32 ONNX) into ``dst``; ``float_nodes`` stay float."""
    import onnx
    from onnxruntime.quantization import CalibrationMethod, QuantFormat, QuantType, quantize_static

    model = onnx.load(str(src), load_external_data=False)
    inp = model.graph.input[0].name
    # Calibration keeps every intermediate tensor of every image unless flushed in chunks (300 images of v8n at
    # 640 would be tens of GB). ORT 1.32 loses the ranges when the image count is a multiple of the chunk
    # ("No data is collected"), so pick a chunk that does not divide it.
    chunk = next(c for c in range(16, 64) if len(calib) % c) if calib else 16
    extra = {"CalibMaxIntermediateOutputs": chunk}
    if method == "percentile":
        extra["CalibPercentile"] = 99.999
    quantize_static(
        str(src), str(dst), _Reader(inp, calib) if calib else None,
        quant_format=QuantFormat.QDQ, per_channel=per_channel,
        reduce_range=(not cpu_has_vnni()) if reduce_range is None else reduce_range,
        activation_type=QuantType.QUInt8, weight_type=QuantType.QInt8,
        nodes_to_exclude=list(float_nodes), calibrate_method=getattr(CalibrationMethod, METHODS[method]),
        extra_options=extra, calibration_cache_path=str(cache) if cache else None,
    )
    return dst


def dynamic_int8(src: Path, dst: Path, float_nodes: Sequence[str] = ()) -> Path:
    """Weight-only INT8; activations are quantized on the fly per inference (ConvInteger)."""
    from onnxruntime.quantization import QuantType, quantize_dynamic

    quantize_dynamic(str(src), str(dst), per_channel=False, weight_type=QuantType.QUInt8,
                     nodes_to_exclude=list(float_nodes), op_types_to_quantize=["Conv"])
    return dst


INT8_OPS = {"QLinearConv", "ConvInteger", "QLinearMatMul", "MatMulInteger", "QLinearAdd", "QLinearMul",
            "QLinearSigmoid", "QLinearConcat", "QLinearAveragePool", "QLinearGlobalAveragePool", "QLinearLeakyRelu",
            "DynamicQuantizeLinear", "QGemm"}
FLOAT_CONV = {"Conv", "FusedConv", "NchwcConv"}


def runtime_ops(path: Path) -> dict:
    """Which ops ONNX Runtime actually executes after its graph optimisations (it fuses Q/DQ pairs around
    a Conv into QLinearConv): counts of INT8 and float compute ops, and the names of float convolutions."""
    import tempfile

    import onnx
    import onnxruntime as ort

    with tempfile.TemporaryDirectory(prefix="yc-ortopt-") as tmp:
        so = ort.SessionOptions()
        so.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
        so.optimized_model_filepath = str(Path(tmp) / "opt.onnx")
        so.log_severity_level = 3
        ort.InferenceSession(str(path), so, providers=["CPUExecutionProvider"])
        m = onnx.load(so.optimized_model_filepath, load_external_data=False)
    ops: dict[str, int] = {}
    for n in m.graph.node:
        ops[n.op_type] = ops.get(n.op_type, 0) + 1
    int8_convs = sum(v for k, v in ops.items() if k in {"QLinearConv", "ConvInteger"})
    float_convs = [n.name for n in m.graph.node if n.op_type in FLOAT_CONV]
    return {"int8_convs": int8_convs, "float_convs": len(float_convs), "float_conv_names": float_convs,
            "int8_ops": {k: v for k, v in ops.items() if k in INT8_OPS}, "ops": ops}
