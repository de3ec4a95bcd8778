"""Typed, validated configs for every stage. Validated at the edge: a bad value fails before any work,
with a message that names the option and the fix. Configs round-trip to plain dicts (JSON/YAML)."""

from __future__ import annotations

from dataclasses import asdict, dataclass, fields
from typing import ClassVar

from .errors import ConfigError


def _check_imgsz(imgsz, option: str = "--imgsz") -> None:
    if imgsz is None:
        return
    if not isinstance(imgsz, int) or isinstance(imgsz, bool) or imgsz <= 0:
        raise ConfigError(f"{option} {imgsz} is invalid; give a positive multiple of 32 such as 320 or 640")
    if imgsz % 32:
        raise ConfigError(f"{option} {imgsz} is not a multiple of the model stride 32; try {max(32, round(imgsz / 32) * 32)}")


class _Config:
    # fields added after runs were fingerprinted with this config: left out of fingerprint_dict() while at their
    # default, so that resuming a run after an upgrade does not redo finished work
    LATER_FIELDS: ClassVar[tuple[str, ...]] = ()

    def as_dict(self) -> dict:
        return asdict(self)  # type: ignore[arg-type]

    def fingerprint_dict(self) -> dict:
        """``as_dict()`` as resumes compare it (see ``LATER_FIELDS``)."""
        return self.comparable(self.as_dict())

    @classmethod
    def comparable(cls, d: dict) -> dict:
        """A stored ``as_dict()`` without the later fields at their defaults: what it was saved with before a field
        existed compares equal to what it is saved with now."""
        defaults = {f.name: f.default for f in fields(cls)}  # type: ignore[arg-type]
        return {k: v for k, v in d.items() if not (k in cls.LATER_FIELDS and v == defaults[k])}

    @classmethod
    def from_dict(cls, d: dict):
        known = {f.name for f in fields(cls)}  # type: ignore[arg-type]
        unknown = set(d) - known
        if unknown:
            raise ConfigError(f"unknown {cls.__name__} key(s) {sorted(unknown)}; valid keys: {sorted(known)}")
        return cls(**d)


def _type_name(hint) -> str:
    import typing

    args = [a for a in typing.get_args(hint) if a is not type(None)]
    if typing.get_origin(hint) in (typing.Union, getattr(__import__("types"), "UnionType", None)) and args:
        return " or ".join(_type_name(a) for a in args) + (" (or null)" if type(None) in typing.get_args(hint) else "")
    if typing.get_origin(hint) is tuple:
        return "a list"
    return {bool: "true/false", int: "an integer", float: "a number", str: "a string"}.get(hint, str(hint))


def _fits(value, hint) -> bool:
    import types
    import typing

    origin, args = typing.get_origin(hint), typing.get_args(hint)
    if origin in (typing.Union, getattr(types, "UnionType", None)):
        return any(_fits(value, a) for a in args)
    if hint is type(None):
        return value is None
    if hint is bool:
        return isinstance(value, bool)
    if hint is int:
        return isinstance(value, int) and not isinstance(value, bool)
    if hint is float:
        return isinstance(value, (int, float)) and not isinstance(value, bool)
    if hint is str:
        return isinstance(value, str)
    if origin is tuple:
        if isinstance(value, dict):  # e.g. DistillConfig.losses written as {name: weight}
            return True
        if not isinstance(value, (list, tuple)):
            return False
        if len(args) == 2 and args[1] is Ellipsis:
            return all(_fits(v, args[0]) for v in value)
        return len(value) == len(args) and all(_fits(v, a) for v, a in zip(value, args))
    return True  # a type this checker does not know: the config's own __post_init__ checks it


def check_types(cls, values: dict) -> tuple[str, str] | None:
    """The first ``(key, message)`` whose value does not have the type ``cls``'s field declares (a YAML
    ``"1.5"`` where a number is expected), or None. Unknown keys are not this function's business."""
    import typing

    hints = typing.get_type_hints(cls)
    for k, v in values.items():
        if k in hints and not _fits(v, hints[k]):
            return k, f"'{k}' is {v!r} ({type(v).__name__}); expected {_type_name(hints[k])}"
    return None


@dataclass(frozen=True)
class TargetsConfig(_Config):
    """What a recipe's final artifacts must reach (checked in the report). To add a target: a field here, its
    range check in ``__post_init__``, and its line in ``pipeline/report.py::_targets``."""

    max_map_drop: float | None = None  # mAP50-95 points below the input model
    max_latency_ratio: float | None = None  # p50 latency vs. the input model on the same runtime
    min_size_reduction: float | None = None  # input size / artifact size
    # p50 latency in ms on the machine that runs the bench (with ``target_flops: auto``: on the profiled device)
    max_latency_ms: float | None = None

    def __post_init__(self):
        for k in ("max_map_drop", "max_latency_ratio", "min_size_reduction", "max_latency_ms"):
            v = getattr(self, k)
            if v is not None and v < 0:
                raise ConfigError(f"target {k} {v} is negative; give a value >= 0")
        if self.max_latency_ms is not None and self.max_latency_ratio is not None:
            raise ConfigError("give one latency budget, max_latency_ms (ms on this device) or max_latency_ratio "
                              "(of the input's ONNX Runtime FP32), not both")


@dataclass(frozen=True)
class ExportConfig(_Config):
    format: str = "onnx"
    imgsz: int = 640
    half: bool = False
    dynamic: bool = False
    batch: int = 1
    simplify: bool = True
    verify: bool = True  # run the parity check after export
    # True: an end-to-end head (YOLOv10, YOLO26) exports its one-to-one branch, NMS-free: (1, 300, 6) boxes
    # after top-k. False (Ultralytics 8.4.190's default, nms=None): the one-to-many branch, for external NMS.
    nms_free: bool = False

    def __post_init__(self):
        _check_imgsz(self.imgsz)
        if not isinstance(self.batch, int) or self.batch < 1:
            raise ConfigError(f"--batch {self.batch} is invalid; give a positive integer")


@dataclass(frozen=True)
class ParityConfig(_Config):
    images: int = 8  # how many images both models see
    top_k: int = 50  # reference detections per image to match (each weighted by its score)
    iou: float = 0.9  # a match: same class and IoU above this
    min_match: float | None = None  # required score-weighted share of matched detections; None = by precision
    max_abs_diff: float | None = None  # allowed max |artifact - torch| on the raw output; None = by precision

    # per-precision defaults (FP16 moves box coordinates by a few hundredths of a pixel; INT8 by more)
    # INT8: raw-output differences are not bounded (box coordinates of low-score anchors move by tens of
    # pixels, e.g. 59 px at imgsz 320 on the reference v8n); the detections must match instead.
    DEFAULTS = {"fp32": (0.97, 0.05), "fp16": (0.90, 2.0), "mixed": (0.90, 2.0), "int8": (0.80, float("inf"))}

    def thresholds(self, precision: str) -> tuple[float, float]:
        m, d = self.DEFAULTS.get(precision, self.DEFAULTS["fp32"])
        return (self.min_match if self.min_match is not None else m,
                self.max_abs_diff if self.max_abs_diff is not None else d)

    def __post_init__(self):
        if self.images < 1:
            raise ConfigError(f"parity images {self.images} is invalid; give at least 1")
        if not 0 < self.iou <= 1:
            raise ConfigError(f"parity IoU {self.iou} is outside (0, 1]")


@dataclass(frozen=True)
class BenchConfig(_Config):
    data: str | None = None
    imgsz: int | None = None
    runtime: str = "auto"
    threads: int | None = None
    batch: int = 8  # throughput batch
    runs: int = 50
    warmup: int = 10
    limit: int | None = None  # evaluate on the first N val images only
    rounds: int = 1  # timing rounds: runs * rounds timed runs per artifact
    # > 0: every artifact's worker stays alive and blocks of this many runs cycle over them (A B C A B C ...
    # every few hundred ms), so ratios do not depend on which artifact met a slow spell of a shared machine;
    # 0: one artifact at a time, a whole round each (medians over rounds kept)
    interleave: int = 10

    def __post_init__(self):
        _check_imgsz(self.imgsz)
        if self.rounds < 1:
            raise ConfigError(f"--rounds {self.rounds} is invalid; give 1 or more")
        if self.interleave < 0:
            raise ConfigError(f"--interleave {self.interleave} is invalid; give a block of runs >= 1, or 0 for "
                              "one artifact at a time")
        if self.threads is not None and self.threads < 1:
            raise ConfigError(f"--threads {self.threads} is invalid; give a positive integer")
        if self.runs != 0 and self.runs < 50:
            raise ConfigError(f"--runs {self.runs} is too few for a median/p90; use at least 50 (or 0 to skip timing)")
        if self.batch < 1 or self.warmup < 0:
            raise ConfigError("--batch must be >= 1 and --warmup >= 0")


AUTO = "auto"  # recipe value of prune target_flops / quantize backend: decided from the latency budget


ALLOCATIONS = ("flops", "latency", "sensitivity")


SENSITIVITY_SPAN = 2.0  # PruneConfig.sensitivity_span's default


@dataclass(frozen=True)
class PruneConfig(_Config):
    """What to prune and how much. Give exactly one of ``ratio`` (share of channels removed per prunable
    layer, uniform or global), ``target_flops`` (share of GFLOPs *kept*: 0.5 halves them) or
    ``target_params`` (share of parameters kept); targets are reached by search."""

    ratio: float | None = None
    target_flops: float | str | None = None  # or "auto" in a recipe: the level a latency budget needs (AUTO)
    target_params: float | None = None
    criterion: str = "l2"
    global_pruning: bool = False
    round_to: int = 8
    imgsz: int = 640
    ignore: tuple[str, ...] = ()  # extra layer names kept whole
    max_layer_ratio: float = 0.9  # no layer loses more than this share of its channels
    tolerance: float = 0.05  # |achieved - target| GFLOPs share accepted by the search
    search_steps: int = 12
    seed: int = 0
    data: str | None = None  # training data for gradient-based criteria (taylor)
    grad_batches: int = 8  # batches of 8 train images whose loss gradients feed the criterion
    # "flops": the channel ratio is uniform (or global by importance with global_pruning); "latency": global
    # ranking by importance / latency saved per channel, from a per-conv ONNX Runtime profile of the input
    # (HALP-like; prune/latency_cost.py). Opt-in: BENCHMARKS.md section 9 has the comparison. "sensitivity": each
    # top-level block gets its own ratio, lower where a probe cut raises the training loss most per GFLOP saved
    # (prune/sensitivity.py; needs data). BENCHMARKS.md 10.
    allocation: str = "flops"
    # allocation sensitivity: how far apart block ratios may be; the costliest block is cut at 1 / span**2 of the
    # cheapest one's ratio (prune/sensitivity.py; 1 = every block alike)
    sensitivity_span: float = SENSITIVITY_SPAN
    latency_table: str | None = None  # allocation latency: a saved cost table (JSON) instead of profiling here
    # soft pruning (prune/soft.py): the cut is planned on the input, its channels fade to zero over this many
    # epochs of training on `data` while the whole network trains, then they are cut (no output changes)
    LATER_FIELDS: ClassVar[tuple[str, ...]] = ("soft_epochs", "soft_fade", "sensitivity_span")
    soft_epochs: int = 0
    soft_fade: float = 1.0  # share of soft_epochs over which they fade; held at zero (trained around) for the rest

    def __post_init__(self):
        if self.allocation not in ALLOCATIONS:
            raise ConfigError(f"allocation '{self.allocation}' is unknown; choose one of: {', '.join(ALLOCATIONS)}")
        if self.latency_table is not None and self.allocation != "latency":
            raise ConfigError("--latency-table is used by --allocation latency only; add it or drop the table")
        if self.allocation == "sensitivity" and self.global_pruning:
            raise ConfigError("allocation 'sensitivity' gives each block its own ratio; drop --global")
        if self.allocation == "sensitivity" and not self.data:
            raise ConfigError("allocation 'sensitivity' scores blocks on training images: pass --data DATA.yaml")
        if isinstance(self.sensitivity_span, bool) or not isinstance(self.sensitivity_span, float | int) \
                or not 1 <= self.sensitivity_span <= 10:
            raise ConfigError(f"--sensitivity-span {self.sensitivity_span} is outside [1, 10]; 2 is the default, "
                              f"1 cuts every block alike, 3 cuts the costliest block at 1/9 of the cheapest one's ratio")
        if self.sensitivity_span != SENSITIVITY_SPAN and self.allocation != "sensitivity":
            raise ConfigError("--sensitivity-span shapes --allocation sensitivity only; add it or drop the span")
        if self.allocation == "sensitivity" and self.target_flops == AUTO:
            raise ConfigError("target_flops: auto prunes to an architecture timed in the device profile (uniform); "
                              "drop 'allocation: sensitivity' or give target_flops: 0.x")
        if self.allocation == "latency" and self.target_flops == AUTO:
            raise ConfigError("target_flops: auto prunes to an architecture timed in the device profile (uniform); "
                              "drop 'allocation: latency' or give target_flops: 0.x")
        if not isinstance(self.soft_epochs, int) or isinstance(self.soft_epochs, bool) or self.soft_epochs < 0:
            raise ConfigError(f"--soft-epochs {self.soft_epochs} is invalid; give 0 (cut at once) or a number of "
                              f"epochs such as 10")
        if self.soft_epochs and not self.data:
            raise ConfigError("--soft-epochs trains while the planned channels fade: pass --data DATA.yaml")
        if not isinstance(self.soft_fade, float | int) or not 0 < self.soft_fade <= 1:
            raise ConfigError(f"--soft-fade {self.soft_fade} is outside (0, 1]; e.g. 0.5 fades the channels over the "
                              f"first half of the soft epochs and trains the pruned network inside the full one after")
        if self.soft_epochs and self.allocation == "latency":
            raise ConfigError("--soft-epochs plans one fixed cut: use --allocation flops or sensitivity, not latency")
        if self.soft_epochs and self.target_flops == AUTO:
            raise ConfigError("soft pruning needs a fixed level: give target_flops: 0.x, not 'auto'")
        # the criterion name is checked against the registry by prune/importance.py::check_criterion (in
        # prune() and the recipe's prune check): config sits below the stages and does not import them
        if sum(v is not None for v in (self.ratio, self.target_flops, self.target_params)) != 1:
            raise ConfigError(
                "give exactly one of --ratio (channels removed), --target-flops (GFLOPs kept) or --target-params"
            )
        if self.ratio is not None and not 0 < self.ratio < 1:
            raise ConfigError(f"--ratio {self.ratio} is outside (0, 1); e.g. 0.3 removes 30% of the channels")
        if isinstance(self.target_flops, str) and self.target_flops != AUTO:
            raise ConfigError(f"--target-flops {self.target_flops!r} is invalid; give a share of GFLOPs kept such as "
                              f"0.5, or 'auto' in a recipe with a latency budget")
        if isinstance(self.target_flops, float | int) and not 0 < self.target_flops < 1:
            raise ConfigError(f"--target-flops {self.target_flops} is outside (0, 1); e.g. 0.5 keeps half the GFLOPs")
        if self.target_params is not None and not 0 < self.target_params < 1:
            raise ConfigError(f"--target-params {self.target_params} is outside (0, 1); e.g. 0.7 keeps 70% of them")
        if not isinstance(self.round_to, int) or self.round_to < 1:
            raise ConfigError(f"--round-to {self.round_to} is invalid; give a positive integer such as 8")
        if not 0 < self.max_layer_ratio < 1:
            raise ConfigError(f"max_layer_ratio {self.max_layer_ratio} is outside (0, 1)")
        _check_imgsz(self.imgsz)


QUANT_BACKENDS = ("onnxruntime", "openvino", "litert", "tensorrt")
QUANT_MODES = ("ptq", "dynamic", "fp16", "qat")
CALIBRATION_METHODS = ("minmax", "entropy", "percentile", "auto")


@dataclass(frozen=True)
class QuantConfig(_Config):
    """How to quantize. ``ptq``: static INT8 calibrated on ``calib_images`` train images; ``dynamic``:
    weight-only INT8 (ONNX Runtime); ``fp16``;
    ``qat``: fake-quant fine-tuning for ``qat_epochs`` (Ultralytics' trainer, its augmentation and
    val), then the same static INT8 as ``ptq`` on the trained weights. ``max_drop`` (mAP50-95 points, e.g. 0.5) turns on accuracy-aware mixed precision: layer groups are kept
    in float, most sensitive first, until the drop measured on ``control_images`` held-out *train* images
    (never the val split we report on) is within it."""

    backend: str = "openvino"
    mode: str = "ptq"
    data: str | None = None
    imgsz: int = 640
    calibration: str = "auto"  # minmax | entropy | percentile | auto (= minmax: measured best on ORT and OpenVINO)
    calib_images: int = 300
    max_drop: float | None = None  # mAP50-95 points; None = no accuracy control
    control_images: int = 200
    control_split: str = "train"  # where control images come from: train (held-out part) or another split
    preset: str = "mixed"  # openvino: mixed (asymmetric activations) | performance (symmetric)
    # openvino: NNCF's bias correction after calibration. fast (NNCF's default): one pass, the shift of each layer's
    # output mean; full: layer by layer on the already-quantized predecessors (slower; measured in BENCHMARKS.md 10)
    bias_correction: str = "fast"
    reduce_range: bool | None = None  # onnxruntime: 7-bit weights; None = on for CPUs without VNNI
    ignore: tuple[str, ...] = ()  # layer names (e.g. model.22.cv2.0) kept in float
    qat_epochs: int = 1
    qat_lr0: float = 1e-5  # the reference model ended its training near 1.4e-5; 0.002 un-trains it for epochs
    qat_batch: int = 16
    workers: int = 2
    seed: int = 0
    verify: bool = True
    nms_free: bool = False  # YOLOv10 / YOLO26: quantize the NMS-free export (ExportConfig.nms_free)
    # static INT8 on ONNX Runtime / OpenVINO: keep the Detect head's box-regression branch (cv2 / one2one_cv2) in
    # float. None (auto): on OpenVINO for heads without DFL (reg_max 1: YOLO26), whose box branch outputs the
    # coordinates themselves (measured: it holds YOLO26n's OpenVINO INT8 loss, not its ONNX Runtime one; BENCHMARKS.md
    # section 11); True / False: always / never
    box_float: bool | None = None

    def __post_init__(self):
        if self.backend not in QUANT_BACKENDS and self.backend != AUTO:
            raise ConfigError(f"--backend '{self.backend}' is unknown; choose one of: {', '.join(QUANT_BACKENDS)}")
        if self.mode not in QUANT_MODES:
            raise ConfigError(f"--mode '{self.mode}' is unknown; choose one of: {', '.join(QUANT_MODES)}")
        if self.calibration not in CALIBRATION_METHODS:
            raise ConfigError(f"--calibration '{self.calibration}' is unknown; choose one of: "
                              f"{', '.join(CALIBRATION_METHODS)}")
        if self.preset not in ("mixed", "performance"):
            raise ConfigError(f"--preset '{self.preset}' is unknown; choose mixed or performance")
        if self.bias_correction not in ("fast", "full"):
            raise ConfigError(f"--bias-correction '{self.bias_correction}' is unknown; choose fast or full")
        _check_imgsz(self.imgsz)
        if self.mode in ("ptq", "qat") and not self.data:
            raise ConfigError(f"--mode {self.mode} needs calibration images: pass --data DATA.yaml (its train split)")
        if self.max_drop is not None and self.mode != "ptq":
            raise ConfigError("--max-drop (accuracy-aware mixed precision) applies to --mode ptq only")
        if self.max_drop is not None and not 0 <= self.max_drop < 100:
            raise ConfigError(f"--max-drop {self.max_drop} is invalid; give mAP50-95 points, e.g. 0.5")
        if self.qat_epochs < 1 or not 0 < self.qat_lr0 < 1 or self.qat_batch < 1:
            raise ConfigError("--qat-epochs and --qat-batch must be >= 1 and --qat-lr0 in (0, 1)")
        if self.nms_free and self.backend == "litert" and self.mode in ("ptq", "qat"):
            raise ConfigError("--nms-free with --backend litert INT8: static INT8 collapses the NMS-free head's class "
                              "index output (Ultralytics refuses it too); quantize without --nms-free, or use "
                              "--backend onnxruntime / openvino")
        if self.nms_free and self.mode == "qat":
            raise ConfigError("--nms-free with --mode qat: QAT folds the model for training, which drops YOLO26's / "
                              "YOLOv10's one-to-one head, so the NMS-free export would fail after the training; "
                              "quantize the NMS-free head with --mode ptq, or QAT without --nms-free")
        if self.control_split != "train" and self.max_drop is None:
            raise ConfigError(f"--control-split {self.control_split} is for --max-drop; pass --max-drop P too")
        if self.box_float and (self.backend == "litert" or self.mode not in ("ptq", "qat")):
            raise ConfigError(f"--box-float on applies to static INT8 on onnxruntime / openvino (--mode ptq or qat); "
                              f"with --backend {self.backend} --mode {self.mode} it would change nothing "
                              f"(LiteRT INT8 keeps the whole head float already): drop it")
        if self.calib_images < 1 or self.control_images < 1:
            raise ConfigError("--calib-images and --control-images must be at least 1")


@dataclass(frozen=True)
class DistillConfig(_Config):
    """Knowledge distillation: which losses with which weights, temperature and schedule. Training
    hyper-parameters (epochs, lr, batch) come from a :class:`~yolo_compress.train.FinetuneConfig`.

    ``schedule``: ``constant`` (all losses from the start, after ``warmup_epochs`` of linear ramp-up) or
    ``progressive`` (the seeds' three stages: feature losses only until ``stages[0]`` of the run, then
    feature + head losses until ``stages[1]``, then hard labels only). ``temperature_end`` anneals the head
    temperature linearly over the run (the seeds: 5 down to 1).

    Default losses: ``cls_kl`` 1, ``ld`` 1, ``cwd`` 10. CWD's published detection configs weight it 5-10
    (at 1 it is about a tenth of the total loss); on the self-distillation benchmark (BENCHMARKS.md 6a,
    seed 0) ``cwd`` 10 beat ``cwd`` 1 by 0.4 point and beat plain fine-tuning at all three seeds.

    ``head_branches`` matters only for end-to-end heads (YOLOv10, YOLO26), which train two copies of the head: the
    one-to-many branch (exported with NMS, our default export) and the one-to-one branch (``--nms-free``), which sees
    detached features. ``one2many`` distils the first only, so an NMS-free export gets no head signal; ``both`` adds
    the head losses of the one-to-one branch (against the teacher's one-to-one branch, or its only head)."""

    LATER_FIELDS: ClassVar[tuple[str, ...]] = ("head_branches",)

    losses: tuple[tuple[str, float], ...] = (("cls_kl", 1.0), ("ld", 1.0), ("cwd", 10.0))
    temperature: float = 2.0
    temperature_end: float | None = None
    feature_temperature: float = 1.0
    schedule: str = "constant"
    stages: tuple[float, float] = (2 / 7, 6 / 7)  # the seeds' 20 / 40 / 10 epochs
    warmup_epochs: float = 1.0
    head_branches: str = "one2many"

    def __post_init__(self):
        # loss names are checked against the registry by distill/losses.py::check_losses (in distill() and the
        # recipe's distill check): config sits below the stages and does not import them
        losses = tuple((str(n), float(w)) for n, w in (self.losses.items() if isinstance(self.losses, dict)
                                                       else self.losses))
        object.__setattr__(self, "losses", losses)
        if not losses:
            raise ConfigError("--loss is empty; give name=weight pairs, e.g. cls_kl=1,ld=1")
        for name, w in losses:
            if w < 0:
                raise ConfigError(f"weight of loss '{name}' is negative ({w}); give a weight >= 0")
        if self.temperature <= 0 or (self.temperature_end is not None and self.temperature_end <= 0):
            raise ConfigError("--temperature must be > 0")
        if self.schedule not in ("constant", "progressive"):
            raise ConfigError(f"--schedule '{self.schedule}' is unknown; choose constant or progressive")
        a, b = self.stages
        if not 0 <= a <= b <= 1:
            raise ConfigError(f"stages {self.stages} must be two fractions 0 <= a <= b <= 1")
        if self.warmup_epochs < 0:
            raise ConfigError("--kd-warmup must be >= 0")
        if self.head_branches not in ("one2many", "both"):
            raise ConfigError(f"--kd-branches '{self.head_branches}' is unknown; choose one2many or both")
