"""What each export format is and what it supports on this machine (recognising an artifact is
``runtime/artifact.py``; ``Artifact`` and ``inspect_artifact`` are re-exported here).

Like Ultralytics' ``export_formats()`` table, it is checked before any work starts, so an impossible
request fails in one line instead of half-way through an export.
"""

from __future__ import annotations

from dataclasses import dataclass

from ..errors import UnsupportedError
from ..runtime.artifact import Artifact, inspect_artifact  # noqa: F401  (re-exported)


@dataclass(frozen=True)
class Format:
    name: str  # our name, also the CLI value
    ultralytics: str  # Ultralytics' format argument
    suffix: str  # what Ultralytics names the artifact (file suffix or folder suffix)
    runtime: str | None  # the runtime that runs it here by default (None: converted here, run elsewhere)
    half_on_cpu: bool  # FP16 export possible without a GPU
    dynamic: bool  # dynamic batch / image size supported
    requires: tuple[str, ...] = ()  # Python modules the converter needs (checked before any work)
    install: str = ""  # how to get them
    needs_gpu: bool = False
    half_note: str = ""  # why --half is refused when it is not about a GPU


FORMATS: dict[str, Format] = {}


def register_format(fmt: Format) -> Format:
    FORMATS[fmt.name] = fmt
    return fmt


register_format(Format("onnx", "onnx", ".onnx", "onnxruntime", half_on_cpu=True, dynamic=True))
register_format(Format("openvino", "openvino", "_openvino_model", "openvino", half_on_cpu=True, dynamic=True))
register_format(Format("torchscript", "torchscript", ".torchscript", "torch", half_on_cpu=False, dynamic=True))
# converted on Linux, run on Apple devices: no parity check here
register_format(Format("coreml", "coreml", ".mlpackage", None, half_on_cpu=True, dynamic=False,
                       requires=("coremltools",), install="pip install 'coremltools>=8'"))
# TFLite / LiteRT: Ultralytics' `litert` export (litert-torch converts the PyTorch model directly, no
# TensorFlow); run here by Google's LiteRT interpreter (ai-edge-litert, XNNPACK on CPU), so parity is checked
register_format(Format("tflite", "litert", ".tflite", "litert", half_on_cpu=False, dynamic=False,
                       requires=("litert_torch", "ai_edge_litert"),
                       install="pip install 'yolo-compress[litert]' (litert-torch, ai-edge-litert)",
                       half_note="LiteRT has no FP16 model file: export FP32 (the default); LiteRT runs it in FP16 on "
                                 "GPU delegates and on ARM CPUs (XNNPACK FORCE_FP16)"))
register_format(Format("engine", "engine", ".engine", None, half_on_cpu=False, dynamic=True,
                       requires=("tensorrt",), install="install NVIDIA TensorRT (pip install tensorrt) on a CUDA machine",
                       needs_gpu=True))


def list_formats() -> list[str]:
    return sorted(FORMATS)


def get_format(name: str) -> Format:
    if name not in FORMATS:
        raise UnsupportedError(f"export format '{name}' is unknown; choose one of: {', '.join(list_formats())}")
    return FORMATS[name]


def check_export_request(fmt: str, half: bool, dynamic: bool) -> Format:
    """Validate an export request against the capability table, before any work."""
    import importlib.util

    f = get_format(fmt)
    if f.needs_gpu:
        import torch

        if not torch.cuda.is_available():
            raise UnsupportedError(f"--format {fmt} (TensorRT) needs an NVIDIA GPU with CUDA, and there is none here; "
                                   f"export --format onnx here and build the engine on the target, or run on a GPU machine")
    missing = [m for m in f.requires if importlib.util.find_spec(m) is None]
    if missing:
        raise UnsupportedError(f"--format {fmt} needs the converter package(s) {', '.join(missing)}, not installed here; "
                               f"{f.install}, or pick another format ({', '.join(n for n in list_formats() if not FORMATS[n].requires)})")
    if half and f.half_note:
        raise UnsupportedError(f"--half with --format {fmt}: {f.half_note}")
    if half and not f.half_on_cpu:
        import torch

        if not torch.cuda.is_available():
            raise UnsupportedError(
                f"--half with --format {fmt} needs a CUDA GPU (none here); drop --half, or use --format onnx or "
                f"openvino, which export FP16 on CPU"
            )
    if dynamic and not f.dynamic:
        raise UnsupportedError(f"--dynamic is not supported for --format {fmt}")
    return f
