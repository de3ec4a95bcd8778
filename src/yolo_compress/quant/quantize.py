"""``quantize()``: FP32 export -> INT8 / FP16 artifact, parity-checked, with a report of what runs in INT8.

Stages (each a function): export the FP32 model through Ultralytics (parity-checked), draw calibration
and control images from the train split, quantize with the backend, optionally restore accuracy layer
group by layer group (``max_drop``), then parity-check the result against the PyTorch model and move it
into place atomically. The input checkpoint and any earlier artifact are never modified.
"""

from __future__ import annotations

import json
import logging
import os
import shutil
import tempfile
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Callable, Sequence

from ..config import ExportConfig, ParityConfig, QuantConfig
from ..errors import InputError, UnsupportedError
from ..runtime.artifact import Artifact
from ..runtime.runtimes import EXPORT_FORMAT as FP32_FORMAT  # the one runtime -> FP32 format map
from .groups import BOX_BRANCHES  # stdlib-only module: no import cost

LOG = logging.getLogger("yolo_compress")
SUFFIX = {("onnxruntime", "qat"): "_qat_int8.onnx", ("openvino", "qat"): "_qat_int8_openvino_model",
          ("onnxruntime", "ptq"): "_int8.onnx", ("onnxruntime", "dynamic"): "_dynint8.onnx",
          ("onnxruntime", "fp16"): "_fp16.onnx", ("openvino", "ptq"): "_int8_openvino_model",
          ("openvino", "fp16"): "_fp16_openvino_model", ("litert", "ptq"): "_int8.tflite",
          ("litert", "dynamic"): "_dynint8.tflite", ("litert", "fp16"): "_fp16.tflite",
          ("litert", "qat"): "_qat_int8.tflite"}


@dataclass
class QuantResult:
    artifact: str
    backend: str
    mode: str
    calibration: str | None = None
    calib_images: int = 0
    control_images: int = 0
    warnings: list[str] = field(default_factory=list)
    max_drop: float | None = None
    control_map: dict[str, float] = field(default_factory=dict)  # fp32 / int8 (all layers) / final, on control
    control_split: str = "train"  # where the control images came from (train: held out from calibration)
    float_layers: list[str] = field(default_factory=list)  # groups kept float by the accuracy pass or --ignore
    box_float: bool = False  # the head's box-regression branch kept float (QuantConfig.box_float, resolved)
    sensitivity: dict[str, float] = field(default_factory=dict)  # group -> mAP points recovered if kept float
    runtime_ops: dict = field(default_factory=dict)
    parity: dict | None = None
    qat: dict | None = None  # QAT: epochs, lr, the training run folder, its last val mAP
    bias_correction: str = "fast"  # openvino: NNCF's fast (default) or full bias correction

    def as_dict(self) -> dict:
        return asdict(self)

    def summary(self) -> str:
        lines = [f"{self.mode} {self.backend}: {self.artifact}"]
        if self.calib_images:
            bc = ", full bias correction" if self.bias_correction == "full" else ""
            lines.append(f"  calibration: {self.calib_images} train images, {self.calibration}{bc}")
        if self.control_map:
            cm = self.control_map
            src = "held-out train images" if self.control_split == "train" else f"'{self.control_split}' images"
            lines.append(f"  control mAP50-95 ({self.control_images} {src}): " +
                         ", ".join(f"{k} {v:.4f}" for k, v in cm.items()))
            if self.control_split == "train":  # BENCHMARKS.md 10 / 11: fine-tuned cuts read 0.70 there, 0.50 on val
                lines.append("  (images like the ones the model trained on: on a fine-tuned model they can read INT8's "
                             "cost low; --control-split NAME measures on a split it never trained on)")
        if self.box_float:
            lines.append("  box-regression branch of the head kept in float (--box-float; the OpenVINO default for heads "
                         "without DFL, where INT8 error lands on the coordinates; --box-float off quantizes it)")
        if self.max_drop is not None:
            kept = ", ".join(self.float_layers) if self.float_layers else "none"
            lines.append(f"  kept in float for --max-drop {self.max_drop:g}: {kept}")
        ro = self.runtime_ops
        if ro:
            lines.append(f"  runs in INT8: {ro.get('int8_convs', 0)} of {ro.get('int8_convs', 0) + ro.get('float_convs', 0)} "
                         f"convolutions")
        if self.parity:
            lines.append(f"  parity: {self.parity['matched']}/{self.parity['reference_detections']} detections "
                         f"matched, max |diff| {self.parity['max_abs_diff']:.3g}")
        if self.qat:
            lines.append(f"  QAT: {self.qat['epochs']} epoch(s) at lr0 {self.qat['lr0']:g}, run in {self.qat['run']}; "
                         f"the INT8 model is the static quantization of the QAT weights (parity is against them)")
        lines += [f"  warning: {w}" for w in self.warnings]
        return "\n".join(lines)


def _check_backend(cfg: QuantConfig) -> None:
    from .backends import check_backend  # the capability table (quant/backends.py), shared with recipe checks

    check_backend(cfg)


def default_output(model: Path, cfg: QuantConfig) -> Path:
    from ..io import beside

    return beside(model, f"{model.stem}{SUFFIX[(cfg.backend, cfg.mode)]}")


def quantize(model: str | os.PathLike, config: QuantConfig, out: str | os.PathLike | None = None,
             threads: int | None = None, console=None) -> QuantResult:
    """Quantize ``model`` (an Ultralytics .pt) as ``config`` says; returns what was done and measured."""
    from ..data import load_data
    from ..io import check_not_input
    from ..models import load_model

    _check_backend(config)
    src = Path(model)
    net = load_model(src)  # a clear error for a missing / corrupt checkpoint before any work
    # auto: OpenVINO only, where the measurement found it (ONNX Runtime's INT8 loss on YOLO26n is not in that branch:
    # all INT8 -0.54, box float -0.43, mean of five checkpoints, one draw)
    box_float = config.mode in ("ptq", "qat") and config.backend in ("onnxruntime", "openvino") and (
        config.box_float if config.box_float is not None else config.backend == "openvino" and not has_dfl(net))
    splits = ("train", "val") if config.mode == "qat" else ("train",)
    if config.max_drop is not None and config.control_split not in splits:
        splits += (config.control_split,)
    spec = load_data(config.data, splits=splits) if config.data else None
    dest = Path(out) if out else default_output(src, config)
    check_not_input(dest, {"model": src, "data YAML": config.data,
                           **{f"{k} images": v for k, v in (spec.sources if spec else {}).items()}})
    if not os.access(dest.parent if dest.parent.exists() else Path.cwd(), os.W_OK):
        raise InputError(f"output folder '{dest.parent}' is not writable; pass --out PATH somewhere writable")
    with tempfile.TemporaryDirectory(prefix="yc-quant-") as tmp:
        tmp = Path(tmp)
        pt = tmp / f"{dest.stem.removesuffix('_openvino_model')}.pt"
        shutil.copy2(src, pt)
        if config.mode == "fp16":
            return _fp16(pt, src, dest, config, threads, tmp)
        fmt = FP32_FORMAT[config.backend]
        qat_info = None
        if config.mode == "qat":
            pt, qat_info = _qat_train(pt, spec, config, dest, tmp, box_float)
        fp32 = _fp32_export(pt, fmt, config.imgsz, tmp, threads, config.nms_free)
        if config.mode == "dynamic" and config.backend == "litert":
            from . import litert

            produced = litert.dynamic_int8(fp32, tmp / "dyn.tflite")
            res = QuantResult(str(dest), config.backend, "dynamic")
            images = None
        elif config.mode == "dynamic":
            res, produced = _ort_dynamic(fp32, tmp, config)
            images = None
        else:
            from .calib import split_train

            qd = split_train(spec, config.calib_images, config.control_images, config.imgsz, config.seed,
                             need_control=config.max_drop is not None, control_split=config.control_split)
            res = QuantResult(str(dest), config.backend, config.mode, config.calibration, len(qd.calib),
                              len(qd.control), list(qd.warnings), config.max_drop,
                              control_split=config.control_split, box_float=box_float,
                              bias_correction=config.bias_correction)
            if qat_info:
                res.qat = qat_info
            runner = {"onnxruntime": _ort_ptq, "openvino": _ov_ptq, "litert": _lite_ptq}[config.backend]
            produced = runner(fp32, tmp, qd, config, res, threads, console)
            images = [s.image for s in qd.control[:8]] or None
        return _finish(produced, dest, pt, src, config, res, images, threads)


def qat_finetune_config(cfg: QuantConfig):
    """The training QAT runs (``--mode qat``): its epochs, learning rate (decaying to 10%, no warm-up), batch and
    seed; also what an FP32 control of QAT trains with (benchmarks/qat_rows.py)."""
    from ..train import FinetuneConfig

    return FinetuneConfig(epochs=cfg.qat_epochs, imgsz=cfg.imgsz, batch=cfg.qat_batch, lr0=cfg.qat_lr0, lrf=0.1,
                          warmup_epochs=0.0, workers=cfg.workers, seed=cfg.seed)


def _qat_train(pt: Path, spec, cfg: QuantConfig, dest: Path, tmp: Path, box_float: bool = False) -> tuple[Path, dict]:
    """Fake-quant fine-tuning through Ultralytics' trainer; returns a plain checkpoint of the trained float
    weights (BN folded). The run folder sits beside the output (``.<name>.qat``) so an interrupted run
    resumes when the same command is given again."""
    from ..models import load_model, save_model
    from ..train import KeepArchitectureTrainer, finetune, finished_run
    from . import qat
    from .calib import split_train
    from .onnxrt import cpu_has_vnni

    run = (dest.parent / f".{dest.name}.qat").resolve()
    from ..fingerprints import data_hash, fingerprint, hash_file

    qat.claim_run(run, fingerprint(input=hash_file(pt), config=cfg.as_dict() | {"data": data_hash(spec.yaml_path)}))
    last = run / "weights" / "last.pt"
    ft = qat_finetune_config(cfg)
    if not finished_run(run, cfg.qat_epochs):
        if last.exists():
            finetune(last, spec.yaml_path, ft, run, resume=True, trainer=KeepArchitectureTrainer)
        else:
            y = load_model(pt)
            reduce = (not cpu_has_vnni()) if cfg.reduce_range is None else cfg.reduce_range
            y.model = qat.prepare(y.model, 63 if reduce else 127, box_float)
            calib = split_train(spec, cfg.calib_images, 0, cfg.imgsz, cfg.seed).calib
            qat.calibrate(y.model, calib)
            finetune(y, spec.yaml_path, ft, run, trainer=KeepArchitectureTrainer)
    y = load_model(last)
    if not qat.count(y.model):
        raise InputError(f"QAT run '{run}' holds no fake-quant model; delete the folder and run again")
    qat.strip(y.model)
    out = save_model(y, tmp / pt.name)
    rows = (run / "results.csv").read_text().splitlines()
    head, vals = rows[0].split(","), rows[-1].split(",")
    m = {k.strip(): v for k, v in zip(head, vals)}
    info = {"epochs": cfg.qat_epochs, "lr0": cfg.qat_lr0, "run": str(run),
            "val_map50_95_fake_quant": float(m.get("metrics/mAP50-95(B)", "nan"))}
    return out, info


def _fp32_export(pt: Path, fmt: str, imgsz: int, tmp: Path, threads, nms_free: bool = False) -> Path:
    """The parity-checked FP32 export every mode starts from; from the export cache when this checkpoint was
    exported with the same settings and libraries before (export/cache.py: LiteRT's conversion is the slow one)."""
    from ..export.cache import cached_export
    from ..export.exporter import export

    dest = tmp / {"onnx": "fp32.onnx", "openvino": "fp32_openvino_model", "tflite": "fp32.tflite"}[fmt]
    cfg = ExportConfig(format=fmt, imgsz=imgsz, nms_free=nms_free)
    path, _ = cached_export(pt, cfg, dest, lambda d: export(pt, cfg, out=d, threads=threads).artifact.path)
    return path


def _finish(produced: Path, dest: Path, pt: Path, src: Path, cfg: QuantConfig, res: QuantResult, images,
            threads) -> QuantResult:
    from ..export.exporter import publish

    if cfg.backend == "onnxruntime":
        from .onnxrt import runtime_ops
        res.runtime_ops = runtime_ops(produced)
    elif cfg.backend == "litert":
        from .litert import runtime_ops
        res.runtime_ops = runtime_ops(produced)
    else:
        from .openvino import runtime_ops
        res.runtime_ops = runtime_ops(next(produced.glob("*.xml")))
    published = publish(produced, dest, pt, src, cfg.imgsz, cfg.verify, ParityConfig(), images, threads)
    res.artifact = str(published.artifact.path)
    res.parity = published.parity.as_dict() if published.parity else None
    _write_report(res, published.artifact)
    return res


def report_path(artifact: Artifact | Path) -> Path:
    p = artifact.path if isinstance(artifact, Artifact) else Path(artifact)
    return p / "quant.json" if p.is_dir() else Path(f"{p}.quant.json")


def _write_report(res: QuantResult, art: Artifact) -> None:
    from ..io import atomic_write_text

    atomic_write_text(report_path(art), json.dumps(res.as_dict(), indent=2, default=str))


# ------------------------------------------------------------------------------------------- modes
def _fp16(pt: Path, src: Path, dest: Path, cfg: QuantConfig, threads, tmp: Path) -> QuantResult:
    from ..export.exporter import export

    res = QuantResult(str(dest), cfg.backend, "fp16")
    if cfg.backend == "litert":  # FP16 weights behind DEQUANTIZE ops, made from the FP32 flatbuffer
        from . import litert

        produced = litert.fp16(_fp32_export(pt, "tflite", cfg.imgsz, tmp, threads, cfg.nms_free), tmp / "fp16.tflite")
        res.warnings.append("FP16 weights halve the file; x86 CPUs dequantize them and compute in FP32 (no "
                            "speed-up here), ARM CPUs and GPU delegates may compute in FP16")
        return _finish(produced, dest, pt, src, cfg, res, None, threads)
    fmt = FP32_FORMAT[cfg.backend]
    scratch = tmp / ("fp16.onnx" if fmt == "onnx" else "fp16_openvino_model")
    r = export(pt, ExportConfig(format=fmt, imgsz=cfg.imgsz, half=True, verify=False, nms_free=cfg.nms_free), out=scratch,
               threads=threads)
    res.warnings.append("FP16 halves the file; on a CPU without native FP16 the runtime converts back to FP32, "
                        "so expect no speed-up (measure it with bench)")
    return _finish(r.artifact.path, dest, pt, src, cfg, res, None, threads)


def _ort_dynamic(fp32: Path, tmp: Path, cfg: QuantConfig) -> tuple[QuantResult, Path]:
    import onnx

    from . import onnxrt

    pre = onnxrt.preprocess_for_quant(fp32, tmp / "pre.onnx")
    groups, decode = onnxrt.node_groups(onnx.load(str(pre), load_external_data=False))
    out = onnxrt.dynamic_int8(pre, tmp / "dyn.onnx", decode + _ignored(groups, cfg.ignore))
    onnxrt.copy_metadata(fp32, out)
    res = QuantResult(str(out), cfg.backend, "dynamic", float_layers=list(cfg.ignore))
    res.warnings.append("dynamic INT8 quantizes activations at run time (ConvInteger): ONNX Runtime runs it "
                        "slower than FP32 on x86 CPUs; it is here for comparison, use --mode ptq to ship")
    return res, out


def _ignored(groups: dict[str, list[str]], names: Sequence[str]) -> list[str]:
    """Node names of the groups the user asked to keep float (``model.22.cv2.0`` matches its convs)."""
    out = []
    for n in names:
        hits = [g for g in groups if g == n or g.startswith(n + ".")]
        if not hits:
            raise InputError(f"--ignore '{n}' matches no layer group; valid names look like "
                             f"{', '.join(list(groups)[:3])} (see 'yolo-compress info --layers')")
        for g in hits:
            out += groups[g]
    return out


def _control_map(runner_factory: Callable, qd, imgsz: int) -> float:
    from ..runtime.evaluator import evaluate_samples

    runner = runner_factory()
    return evaluate_samples(runner, qd.control, qd.names, imgsz, runner.artifact.end2end, coco=False).map50_95


def coarse_groups(groups: dict[str, list[str]]) -> dict[str, list[str]]:
    """Groups for the sensitivity search: a backbone/neck module each, and one per Detect branch and level
    (``model.22.cv2.0``: the three convs predicting level-0 boxes)."""
    out: dict[str, list[str]] = {}
    for g, nodes in groups.items():
        parts = g.split(".")
        key = ".".join(parts[:4]) if len(parts) > 3 else g
        out.setdefault(key, []).extend(nodes)
    return out


def _ort_ptq(fp32: Path, tmp: Path, qd, cfg: QuantConfig, res: QuantResult, threads, console=None) -> Path:
    import onnx

    from ..runtime.runtimes import OrtRunner
    from ..runtime.artifact import inspect_artifact
    from . import onnxrt

    pre = onnxrt.preprocess_for_quant(fp32, tmp / "pre.onnx")
    groups, decode = onnxrt.node_groups(onnx.load(str(pre), load_external_data=False))
    groups = coarse_groups(groups)
    keep = _kept_float(groups, cfg, res)
    fixed = decode + _ignored(groups, keep)
    cache = tmp / f"calib-{cfg.calibration}.json"
    n = [0]

    def build(float_groups: Sequence[str]) -> Path:
        n[0] += 1
        out = tmp / f"int8-{n[0]}.onnx"
        nodes = fixed + [x for g in float_groups for x in groups[g]]
        onnxrt.static_int8(pre, out, qd.calib, cfg.calibration, cfg.reduce_range, nodes, cache)
        onnxrt.copy_metadata(fp32, out)
        return out

    def score(path: Path) -> float:
        return _control_map(lambda: OrtRunner(inspect_artifact(path), threads), qd, cfg.imgsz)

    full = build([])
    res.float_layers = keep
    if cfg.max_drop is None:
        return full
    return _greedy(score(fp32), full, score(full), _candidates(groups, keep), build, score,
                   cfg.max_drop / 100, res, console)


def has_dfl(net) -> bool:
    """Whether the model's Detect head predicts box distributions (DFL, ``reg_max`` > 1: YOLOv8 / 11 / v9 / v10)
    rather than the coordinates themselves (YOLO26: ``reg_max`` 1)."""
    head = net.model.model[-1]
    return getattr(head, "reg_max", 16) > 1


def box_groups(groups) -> list[str]:
    """The Detect head's box-regression groups: ``cv2`` (one-to-many) / ``one2one_cv2`` (NMS-free) branches."""
    return [g for g in head_groups(groups) if g.split(".")[2] in BOX_BRANCHES]


def _kept_float(groups, cfg: QuantConfig, res: QuantResult) -> list[str]:
    """The groups kept float before any search: ``--ignore``, plus the box branch when ``res.box_float`` (which
    is set False here when the graph has no box group to keep, so the report does not claim one).
    Measured on YOLO26n (no DFL), OpenVINO INT8 on garbage-320 val, five checkpoints x three calibration draws:
    all INT8 loses 0.5-1.3 points, the box branch in float (9 of 102 convs) holds every draw within 0.27, the
    class branch in float recovers next to nothing (BENCHMARKS.md section 11)."""
    keep = list(cfg.ignore)
    box = box_groups(groups) if res.box_float else []
    res.box_float = bool(box)
    return keep + _candidates(box, keep)  # the box groups an --ignore entry does not cover already


def _candidates(groups, ignore: Sequence[str]) -> list[str]:
    """The layer groups the accuracy-aware search may keep float: all but those ``--ignore`` keeps float already."""
    return [g for g in groups if g not in ignore and not any(g.startswith(i + ".") for i in ignore)]


def head_groups(groups) -> list[str]:
    """The Detect head's branch groups (``model.22.cv2.0``: three parts and more; backbone/neck groups are
    ``model.N``)."""
    return [g for g in groups if g.count(".") >= 2]


def _first_tries(base: float, full: Path, full_score: float, candidates: list[str], build, score, max_drop: float,
                 res: QuantResult) -> Path | None:
    """The first two tries of the accuracy-aware search, shared by the backends: all-INT8 (``full``) if it meets
    ``max_drop`` on the control images, else the whole Detect head in float if that does; None when neither
    does (the caller's own search goes on). Why the head first:
    The control images are train images, on which the model is surer than on new ones: they understate INT8's
    cost (YOLO26n, one-to-many head: 0.60 point on them, 1.13 on val), and with 200 of them one group's
    gain is within their noise (+-0.2 point), so a per-group ranking finds backbone groups that do not help on
    val (NNCF's accuracy control kept model.8: val -1.16; the head in float: -0.12 and +0.24 on two
    calibration draws). The head is where INT8 errors become box coordinates."""
    res.control_map = {"fp32": base, "int8": full_score}
    if base - full_score <= max_drop:
        res.control_map["final"] = full_score
        return full
    head = head_groups(candidates)
    if not head:
        return None
    path = build(head)
    s = score(path)
    res.control_map["head_float"] = s
    if base - s > max_drop:
        return None
    res.float_layers = res.float_layers + head
    res.control_map["final"] = s
    return path


def _greedy(base: float, full: Path, full_score: float, candidates: list[str], build, score, max_drop: float,
            res: QuantResult, console=None):
    """Accuracy-aware mixed precision: all-INT8 if it meets ``max_drop`` on the control images; else the Detect
    head in float if that does (:func:`_first_tries`); else rank groups by the mAP recovered when each alone
    stays float, and keep groups float, most helpful first, until the control drop is within ``max_drop``."""
    from ..progress import progress_bar

    if (hit := _first_tries(base, full, full_score, candidates, build, score, max_drop, res)) is not None:
        return hit
    gains = {}
    with progress_bar("layer sensitivity", len(candidates), console) as bar:
        for g in bar(candidates):
            gains[g] = score(build([g])) - full_score
    res.sensitivity = {g: round(100 * v, 3) for g, v in sorted(gains.items(), key=lambda kv: -kv[1])}
    order = [g for g, _ in sorted(gains.items(), key=lambda kv: -kv[1])]
    # smallest k such that the k most helpful groups in float meet the bound: bisection (gains are close to
    # monotone in k), a handful of evaluations instead of one per group
    tried: dict[int, tuple[float, Path]] = {}

    def at(k: int) -> float:
        if k not in tried:
            path = build(order[:k])
            tried[k] = (score(path), path)
        return tried[k][0]

    lo, hi = 1, len(order)
    if base - at(hi) > max_drop:
        res.warnings.append(f"even with every layer group in float the control drop is {100 * (base - at(hi)):.2f} "
                            f"points (> --max-drop {100 * max_drop:g}); kept all in float")
        lo = hi
    while lo < hi:
        mid = (lo + hi) // 2
        if base - at(mid) <= max_drop:
            hi = mid
        else:
            lo = mid + 1
    at(lo)
    final, best_path = tried[lo]
    floats = order[:lo]
    res.float_layers = res.float_layers + floats
    res.control_map["final"] = final
    return best_path


def _lite_ptq(fp32: Path, tmp: Path, qd, cfg: QuantConfig, res: QuantResult, threads, console=None) -> Path:
    from . import litert

    res.calibration = "minmax"
    return litert.static_int8(fp32, tmp / "int8.tflite", qd.calib)


def _ov_ptq(fp32: Path, tmp: Path, qd, cfg: QuantConfig, res: QuantResult, threads, console=None) -> Path:
    from ..runtime.evaluator import evaluate_samples
    from ..runtime.artifact import inspect_artifact
    from ..runtime.runtimes import OpenVinoRunner
    from . import openvino as ovq

    xml = next(fp32.glob("*.xml"))
    model = ovq.read(xml)
    groups, decode = ovq.node_groups(model)
    groups = coarse_groups(groups)
    keep = _kept_float(groups, cfg, res)
    fixed = decode + _ignored(groups, keep)
    res.float_layers = keep
    out = tmp / "int8_openvino_model"
    name = Path(res.artifact).name.removesuffix("_openvino_model").removesuffix("_int8") + ".xml"

    def save(q, folder: Path) -> Path:
        folder.mkdir(exist_ok=True)
        ovq.save(q, folder / name)
        shutil.copy2(fp32 / "metadata.yaml", folder / "metadata.yaml")
        return folder

    def score(path: Path) -> float:
        return _control_map(lambda: OpenVinoRunner(inspect_artifact(path), threads), qd, cfg.imgsz)

    if cfg.max_drop is None:
        return save(ovq.static_int8(model, qd.calib, cfg.calibration, cfg.preset, fixed, cfg.bias_correction), out)
    # the same first two tries as the ONNX Runtime search (all-INT8, then the head in float), then NNCF's
    # accuracy control, which ranks the remaining layers itself
    base = score(fp32)
    full = save(ovq.static_int8(model, qd.calib, cfg.calibration, cfg.preset, fixed, cfg.bias_correction),
                tmp / "int8-all_openvino_model")

    def build_head(float_groups: Sequence[str]) -> Path:
        nodes = fixed + [x for g in float_groups for x in groups[g]]
        return save(ovq.static_int8(ovq.read(xml), qd.calib, cfg.calibration, cfg.preset, nodes, cfg.bias_correction),
                    tmp / "int8-head_openvino_model")

    hit = _first_tries(base, full, score(full), _candidates(groups, keep), build_head, score,
                       cfg.max_drop / 100, res)
    if hit is not None:
        return hit

    def metric(compiled, data) -> float:
        return evaluate_samples(lambda x: compiled(x)[0], data, qd.names, cfg.imgsz, e2e, coco=False).map50_95

    e2e = inspect_artifact(fp32).end2end
    q = ovq.accuracy_controlled(ovq.read(xml), qd.calib, qd.control, metric, cfg.max_drop / 100, cfg.calibration,
                                cfg.preset, fixed, cfg.bias_correction)
    save(q, out)
    res.control_map["final"] = score(out)
    kept = ovq.float_groups(ovq.runtime_ops(out / name)["float_conv_names"], groups)
    res.float_layers = sorted(set(res.float_layers) | set(kept))
    return out
