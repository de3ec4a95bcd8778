"""LiteRT (TFLite) quantization through Google's LiteRT Quantizer (``litert-quantizer``, which replaces the
deprecated ``ai-edge-quantizer``: same API, same numbers within 0.2 point, BENCHMARKS.md section 4), on the
FP32 ``.tflite`` that Ultralytics' ``litert`` export wrote (the only module that imports ``litert_quantizer``).

- ``static_int8``: INT8 weights and activations, calibrated on *our* calibration images (train split, the
  same set as the ONNX Runtime and OpenVINO backends; Ultralytics' own LiteRT INT8 export calibrates on
  the val split). Graph input and output stay FP32, as in Ultralytics' export.
- ``dynamic_int8``: INT8 weights, activations quantized at run time (no calibration).
- ``fp16``: FP16 weights with DEQUANTIZE in front (TFLite's "float16 quantization"): half the file; x86
  CPUs compute in FP32, ARM CPUs and GPU delegates may compute in FP16.

The quantizer writes a bare flatbuffer, so the metadata Ultralytics appends as a zip entry is copied over.
"""

from __future__ import annotations

import zipfile
from collections import Counter
from pathlib import Path
from typing import Sequence

import numpy as np

SIGNATURE = "serving_default"
# The Detect head (its convolutions, DFL, decode, class sigmoid) and Ultralytics' coordinate normalisation
# compute in float; the head convolutions keep INT8 *weights* (dequantized in front), so the file is as
# small as an all-INT8 one. Measured on the reference YOLOv8n at 320 (32 calibration images,
# benchmarks/litert_head_probe.py): everything in INT8 0.342 mAP50-95 vs 0.387 FP32; decode only float
# 0.341; decode plus some head convolutions float 0.338-0.341; the whole head float 0.385 (5.6 MB); head
# float with INT8 weights 0.384 (3.3 MB). Op scopes
# are the output tensor names litert-torch gives (module paths), and the two branches of a level share
# them, so the head is kept whole.
HEAD_SCOPE = r".*(Detect_\d+|_NormalizeCoords;\d+$|serving_default_output)"
HEAD_CONVS = r".*Detect_\d+/.*Sequential.*"  # the cv2 / cv3 convolutions (not the fixed DFL one)


def _quantizer(src: Path):
    from litert_quantizer import quantizer

    return quantizer.Quantizer(str(src))


def _float_io(qt) -> None:
    from litert_quantizer import qtyping, recipe

    for op in (qtyping.TFLOperationName.INPUT, qtyping.TFLOperationName.OUTPUT):
        qt.update_quantization_recipe(regex=".*", operation_name=op, algorithm_key=recipe.AlgorithmName.NO_QUANTIZE)


def _input_name(src: Path) -> str:
    from ai_edge_litert.interpreter import Interpreter

    return Interpreter(model_path=str(src)).get_signature_list()[SIGNATURE]["inputs"][0]


def copy_metadata(src: Path, dst: Path, quantize: int | str) -> None:
    """Append the source's ``metadata.json`` zip entry (names, imgsz, ...) to the quantized flatbuffer, with
    ``args.quantize`` set as Ultralytics' own export would (8, 'w8a32'; 16 for FP16 weights)."""
    import json

    with zipfile.ZipFile(src) as zs:
        meta = json.loads(zs.read("metadata.json"))
    meta["args"] = {**(meta.get("args") or {}), "quantize": quantize}
    with zipfile.ZipFile(dst, "a", zipfile.ZIP_DEFLATED) as zd:
        zd.writestr("metadata.json", json.dumps(meta))


def static_int8(src: Path, dst: Path, calib: Sequence[np.ndarray], float_scope: str | None = HEAD_SCOPE,
                int8_weight_scope: str | None = HEAD_CONVS) -> Path:
    """Static INT8; ops whose scope matches ``float_scope`` compute in float, and convolutions among them that
    match ``int8_weight_scope`` keep INT8 weights (dequantized in front). The defaults are what ships;
    benchmarks/litert_head_probe.py measures the alternatives."""
    from litert_quantizer import qtyping, recipe

    qt = _quantizer(src)
    qt.load_quantization_recipe(recipe.static_wi8_ai8())
    _float_io(qt)  # after the recipe is loaded, as Ultralytics does
    if float_scope:
        qt.update_quantization_recipe(regex=float_scope, operation_name="*",
                                      algorithm_key=recipe.AlgorithmName.NO_QUANTIZE)
    if float_scope and int8_weight_scope:
        weights_only = qtyping.OpQuantizationConfig(
            weight_tensor_config=qtyping.TensorQuantizationConfig(num_bits=8, symmetric=True,
                                                                  granularity=qtyping.QuantGranularity.CHANNELWISE),
            compute_precision=qtyping.ComputePrecision.FLOAT, explicit_dequantize=True)
        qt.update_quantization_recipe(regex=int8_weight_scope, operation_name=qtyping.TFLOperationName.CONV_2D,
                                      op_config=weights_only, algorithm_key=recipe.AlgorithmName.MIN_MAX_UNIFORM_QUANT)
    name = _input_name(src)
    from ..progress import status

    with status(f"LiteRT INT8 calibration ({len(calib)} images)"):
        result = qt.calibrate({SIGNATURE: [{name: np.ascontiguousarray(x, dtype=np.float32)} for x in calib]})
        qt.quantize(calibration_result=result).export_model(str(dst), overwrite=True)
    copy_metadata(src, dst, 8)
    return dst


def dynamic_int8(src: Path, dst: Path) -> Path:
    from litert_quantizer import recipe

    qt = _quantizer(src)
    qt.load_quantization_recipe(recipe.dynamic_wi8_afp32())
    qt.quantize().export_model(str(dst), overwrite=True)
    copy_metadata(src, dst, "w8a32")
    return dst


def fp16(src: Path, dst: Path) -> Path:
    from litert_quantizer import qtyping
    from litert_quantizer.algorithm_manager import AlgorithmName

    qt = _quantizer(src)
    cfg = qtyping.OpQuantizationConfig(
        weight_tensor_config=qtyping.TensorQuantizationConfig(num_bits=16, dtype=qtyping.TensorDataType.FLOAT),
        compute_precision=qtyping.ComputePrecision.FLOAT, explicit_dequantize=True)
    for op in (qtyping.TFLOperationName.CONV_2D, qtyping.TFLOperationName.DEPTHWISE_CONV_2D,
               qtyping.TFLOperationName.CONV_2D_TRANSPOSE, qtyping.TFLOperationName.FULLY_CONNECTED):
        qt.update_quantization_recipe(regex=".*", operation_name=op, op_config=cfg,
                                      algorithm_key=AlgorithmName.FLOAT_CASTING)
    qt.quantize().export_model(str(dst), overwrite=True)
    copy_metadata(src, dst, 16)
    return dst


def runtime_ops(path: Path) -> dict:
    """What the flatbuffer computes in INT8: convolutions fed int8 weights directly (static INT8: int8
    activations too; dynamic: activations quantized inside the kernel), as opposed to weights behind a
    DEQUANTIZE (FP16 weights) or float weights; and the op histogram, read without the XNNPACK delegate
    (which would hide ops behind DELEGATE nodes)."""
    from ai_edge_litert.interpreter import Interpreter, OpResolverType

    it = Interpreter(model_path=str(path), experimental_op_resolver_type=OpResolverType.BUILTIN_WITHOUT_DEFAULT_DELEGATES)
    ops = it._get_ops_details()  # noqa: SLF001
    tensors = {t["index"]: t for t in it.get_tensor_details()}
    convs = [o for o in ops if o["op_name"] in {"CONV_2D", "DEPTHWISE_CONV_2D", "TRANSPOSE_CONV", "FULLY_CONNECTED"}]

    def dtype(i) -> np.dtype:
        return np.dtype(tensors[int(i)]["dtype"])

    int8 = sum(1 for o in convs if dtype(o["inputs"][1]) in (np.int8, np.uint8))
    act8 = sum(1 for o in convs if dtype(o["inputs"][2 if o["op_name"] == "TRANSPOSE_CONV" else 0]) in (np.int8, np.int16))
    return {"int8_convs": int8, "float_convs": len(convs) - int8, "int8_activation_convs": act8,
            "ops": dict(sorted(Counter(o["op_name"] for o in ops).items()))}
