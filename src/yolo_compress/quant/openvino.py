"""OpenVINO quantization through NNCF (``nncf.quantize``, ``nncf.quantize_with_accuracy_control``).

The model is Ultralytics' FP32 OpenVINO export; NNCF inserts FakeQuantize nodes, OpenVINO's CPU plugin
runs them as INT8 kernels. Like Ultralytics we keep the Detect decode float, but we calibrate on the train
split (Ultralytics uses val, the split users report on) and can restore accuracy layer by layer.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Callable, Sequence

import numpy as np

MODULE = re.compile(r"^__module\.model\.(\d+)(?:[./]|$)")
HEAD_BRANCH = re.compile(r"^__module\.model\.(\d+)\.((?:one2one_)?cv[234]\.\d+\.\d+)[./]")
RANGE_ESTIMATORS = {"minmax": "MINMAX", "percentile": "MEAN_QUANTILE", "entropy": "HISTOGRAM"}
# ``auto`` is the method measured best, not NNCF's own default ranges: on the reference YOLOv8n (garbage-320,
# imgsz 320, 300 train images) minmax loses 0.04 point mAP50-95 and NNCF's default 0.43-0.48 over 3
# calibration seeds (BENCHMARKS.md section 3); on the YOLOv8s teacher with 420 other images of the same
# domain, minmax -0.18 and the default -0.43 (issue 24). ONNX Runtime's ``auto`` is MinMax as well.
AUTO = "minmax"


def resolve_method(method: str) -> str:
    return AUTO if method == "auto" else method


def read(xml: Path):
    import openvino as ov

    return ov.Core().read_model(str(xml))


def node_groups(model) -> tuple[dict[str, list[str]], list[str]]:
    """Layer groups (same names as the ONNX side: ``model.7``, ``model.22.cv2.0.1``) -> op names, and the
    Detect decode ops that always stay float."""
    from .groups import split_groups

    names = [o.get_friendly_name() for o in model.get_ordered_ops()
             if o.get_type_name() not in ("Constant", "Parameter", "Result")]
    return split_groups(names, MODULE, HEAD_BRANCH, lambda b: b.group(2))


def float_groups(float_conv_names: list[str], groups: dict[str, list[str]]) -> list[str]:
    """Layer groups of the convolutions the CPU plugin runs in float (from ``runtime_ops``), the fixed DFL
    convolution of the decode excluded. Only the Convolution op names count: OpenVINO's fused-op name lists
    also carry activation names, which the PyTorch frontend numbers without regard to their module."""
    conv_to_group = {op: g for g, ops in groups.items() for op in ops if op.endswith("/Convolution")}
    out = set()
    for entry in float_conv_names:
        for name in entry.split(","):
            if name.endswith("/Convolution") and name in conv_to_group:
                out.add(conv_to_group[name])
    return sorted(out)


def _advanced(method: str):
    import nncf
    from nncf.quantization.advanced_parameters import AdvancedQuantizationParameters
    from nncf.quantization.range_estimator import RangeEstimatorParametersSet

    return AdvancedQuantizationParameters(
        activations_range_estimator_params=getattr(RangeEstimatorParametersSet, RANGE_ESTIMATORS[resolve_method(method)]))


def _common(calib: Sequence[np.ndarray], preset: str, float_ops: Sequence[str]):
    import nncf

    return dict(
        calibration_dataset=nncf.Dataset(list(calib)),
        preset=nncf.QuantizationPreset.PERFORMANCE if preset == "performance" else nncf.QuantizationPreset.MIXED,
        subset_size=len(calib),
        ignored_scope=nncf.IgnoredScope(names=list(float_ops), validate=False) if float_ops else None,
    )


def static_int8(model, calib: Sequence[np.ndarray], method: str = "auto", preset: str = "mixed",
                float_ops: Sequence[str] = (), bias_correction: str = "fast"):
    import nncf

    from ..progress import status

    bc = "" if bias_correction == "fast" else ", full bias correction"
    with status(f"OpenVINO INT8 calibration ({len(calib)} images, {resolve_method(method)}{bc})"):
        return nncf.quantize(model, advanced_parameters=_advanced(method), fast_bias_correction=bias_correction == "fast",
                             **_common(calib, preset, float_ops))


def accuracy_controlled(model, calib: Sequence[np.ndarray], control: Sequence, metric: Callable, max_drop: float,
                        method: str = "auto", preset: str = "mixed", float_ops: Sequence[str] = (),
                        bias_correction: str = "fast"):
    """NNCF's accuracy control: quantize, then revert the layers that cost most until the drop of
    ``metric(compiled_model, control)`` is within ``max_drop`` (absolute, in the metric's units)."""
    import nncf

    from ..progress import status

    with status(f"OpenVINO INT8 calibration with accuracy control ({len(calib)} images, {len(control)} control)"):
        return nncf.quantize_with_accuracy_control(
            model, validation_dataset=nncf.Dataset(list(control)), validation_fn=metric, max_drop=max_drop,
            drop_type=nncf.DropType.ABSOLUTE, advanced_quantization_parameters=_advanced(method),
            fast_bias_correction=bias_correction == "fast",
            **_common(calib, preset, float_ops))


def save(model, xml: Path) -> Path:
    import openvino as ov

    ov.save_model(model, str(xml), compress_to_fp16=False)
    return xml


def runtime_ops(xml: Path) -> dict:
    """What the CPU plugin executes: convolutions by runtime precision (from the compiled model's
    execution graph), and the names of those left in float."""
    import openvino as ov

    from ..runtime.runtimes import OV_CPU_EXACT

    compiled = ov.Core().compile_model(str(xml), "CPU", {"INFERENCE_NUM_THREADS": 1, **OV_CPU_EXACT})
    rt = compiled.get_runtime_model()
    int8, floats, ops = 0, [], {}
    for op in rt.get_ordered_ops():
        info = op.get_rt_info()

        def get(k, default=""):
            return str(info[k].value) if k in info else default

        kind, prec = get("layerType", op.get_type_name()), get("runtimePrecision")
        key = f"{kind}:{prec}"
        ops[key] = ops.get(key, 0) + 1
        if kind == "Convolution":
            if prec in ("u8", "i8", "I8", "U8"):
                int8 += 1
            else:
                floats.append(get("originalLayersNames", op.get_friendly_name()))
    return {"int8_convs": int8, "float_convs": len(floats), "float_conv_names": floats, "ops": ops}
