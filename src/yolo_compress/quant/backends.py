"""What each quantization backend can do, checked before any work (like ``export/formats.py`` for export
formats and ``runtime/runtimes.py`` for runtimes). ``check_backend(cfg)`` serves the CLI, the API and a recipe's
load-time check alike. To add a backend: ``register_backend(Backend(...))`` and its branch in ``quantize``."""

from __future__ import annotations

from dataclasses import dataclass

from ..config import QuantConfig
from ..errors import UnsupportedError


@dataclass(frozen=True)
class Backend:
    name: str
    modes: tuple[str, ...]  # quantization modes it produces
    packages: tuple[str, ...]  # Python modules it needs (checked before any work)
    install: str = "pip install it"
    max_drop: bool = True  # accuracy-aware mixed precision (keeps layer groups float)
    ignore: bool = True  # --ignore LAYER (keep named groups float)
    calibrations: tuple[str, ...] = ("auto", "minmax", "entropy", "percentile")
    bias_corrections: tuple[str, ...] = ("fast",)  # "fast" = none or the backend's own; "full" = NNCF's layer-wise
    needs_gpu: bool = False
    why_not: dict | None = None  # mode -> why it is refused (one line)


BACKENDS: dict[str, Backend] = {}


def register_backend(b: Backend) -> Backend:
    BACKENDS[b.name] = b
    return b


def list_backends() -> list[str]:
    return list(BACKENDS)


register_backend(Backend("onnxruntime", ("ptq", "dynamic", "fp16", "qat"), ("onnxruntime.quantization",)))
register_backend(Backend(
    "openvino", ("ptq", "fp16", "qat"), ("nncf",), bias_corrections=("fast", "full"),
    why_not={"dynamic": "--mode dynamic is ONNX Runtime's (ConvInteger); NNCF's weight-only compression covers "
                        "MatMul layers, and YOLO is convolutions: use --backend onnxruntime or --mode ptq"}))
register_backend(Backend("litert", ("ptq", "dynamic", "fp16", "qat"), ("litert_torch", "ai_edge_litert", "litert_quantizer"),
                         install="pip install 'yolo-compress[litert]'", max_drop=False, ignore=False,
                         calibrations=("auto", "minmax")))
register_backend(Backend("tensorrt", ("ptq", "fp16"), ("tensorrt",), needs_gpu=True))


def check_backend(cfg: QuantConfig) -> Backend:
    """Refuse, with one line, what ``cfg.backend`` cannot do here: capability first (no imports), then the
    GPU, then the packages."""
    import importlib.util

    b = BACKENDS[cfg.backend]
    if cfg.mode not in b.modes:
        raise UnsupportedError((b.why_not or {}).get(cfg.mode) or
                               f"--mode {cfg.mode} is not available with --backend {b.name}; its modes: {', '.join(b.modes)}")
    lite = " (its quantizer calibrates min/max over all layers)" if b.name == "litert" else ""
    checks = (("--max-drop", cfg.max_drop is not None and not b.max_drop, lambda x: x.max_drop),
              ("--ignore", bool(cfg.ignore) and not b.ignore, lambda x: x.ignore),
              ("--calibration " + cfg.calibration, cfg.calibration not in b.calibrations,
               lambda x: cfg.calibration in x.calibrations),
              ("--bias-correction " + cfg.bias_correction, cfg.bias_correction not in b.bias_corrections,
               lambda x: cfg.bias_correction in x.bias_corrections))
    for flag, refused, offers in checks:
        if refused:
            others = " or ".join(n for n, x in BACKENDS.items() if offers(x) and not x.needs_gpu)
            raise UnsupportedError(f"{flag} is not available with --backend {b.name}{lite}; use --backend "
                                   f"{others} for it")
    if b.needs_gpu:
        import torch

        raise UnsupportedError(
            f"--backend {b.name} needs an NVIDIA GPU and the {b.packages[0]} package"
            + (" (no CUDA GPU here)" if not torch.cuda.is_available() else f" ({b.packages[0]} is not installed)")
            + "; use --backend onnxruntime or openvino on this machine")
    for mod in b.packages:
        try:
            found = importlib.util.find_spec(mod) is not None
        except ModuleNotFoundError:
            found = False
        if not found:
            raise UnsupportedError(f"--backend {b.name} needs the '{mod.split('.')[0]}' package, which is not "
                                   f"installed; {b.install} or pick another backend")
    return b
