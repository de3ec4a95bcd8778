"""Export through Ultralytics' exporter (ONNX simplified with onnxslim), then verify parity.

The export happens in a scratch folder; the artifact is moved to its destination only after the parity
check passes, so an earlier artifact at the same path is never replaced by a broken one. A failed
artifact is kept beside it as ``<name>.parity-failed<suffix>`` for inspection.
"""

from __future__ import annotations

import os
import shutil
import tempfile
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Sequence

import numpy as np

from ..config import ExportConfig, ParityConfig
from ..errors import InputError, ParityError, UnsupportedError
from ..io import atomic_copy, beside, check_not_input
from ..models import has_end2end_head, load_model, save_model
from ..runtime.artifact import Artifact, inspect_artifact
from .formats import check_export_request
from .parity import ParityReport, check_parity, write_report


@dataclass(frozen=True)
class ExportResult:
    artifact: Artifact
    parity: ParityReport | None
    note: str | None = None  # why there is no parity report (e.g. no runtime for the format here)


def default_output(model_path: Path, fmt: str) -> Path:
    from .formats import get_format

    f = get_format(fmt)
    stem = model_path.stem
    return beside(model_path, f"{stem}{f.suffix}")


def _ultralytics_export(pt: Path, cfg: ExportConfig) -> Path:
    from .formats import get_format

    kwargs = dict(format=get_format(cfg.format).ultralytics, imgsz=cfg.imgsz, dynamic=cfg.dynamic, batch=cfg.batch, device="cpu",
                  verbose=False)
    if cfg.format == "onnx":
        kwargs["simplify"] = cfg.simplify
    if cfg.half:
        kwargs["quantize"] = 16
    yolo = load_model(pt)  # the one (safe by default) loader; YOLO(path) would unpickle fully
    if cfg.nms_free:  # Ultralytics' nms=False: the one-to-one (NMS-free) branch; its default None drops it
        if not has_end2end_head(yolo.model):
            raise InputError(f"'{pt.name}' has no NMS-free (end-to-end) head, only YOLOv10 and YOLO26 do; "
                             f"export it without --nms-free")
        kwargs["nms"] = False
    try:
        out = yolo.export(**kwargs)
    except Exception as e:  # noqa: BLE001 - converter failures are reported, not crashed on
        msg = str(e).strip().splitlines()[0] if str(e).strip() else type(e).__name__
        raise UnsupportedError(f"{cfg.format} export of '{pt.name}' failed in Ultralytics' exporter: {msg}") from None
    return Path(out)


def export(model: str | os.PathLike, config: ExportConfig, out: str | os.PathLike | None = None,
           parity: ParityConfig = ParityConfig(), images: Sequence[np.ndarray] | None = None,
           threads: int | None = None) -> ExportResult:
    """Export ``model`` (a .pt or model YAML) to ``config.format``; verify parity unless disabled."""
    check_export_request(config.format, config.half, config.dynamic)
    src = Path(model)
    dest = Path(out) if out else default_output(src if src.suffix == ".pt" else Path.cwd() / f"{src.stem}.pt",
                                                config.format)
    check_not_input(dest, {"model": src})
    yolo = load_model(model)  # validates the checkpoint before any work
    if not os.access(dest.parent if dest.parent.exists() else Path.cwd(), os.W_OK):
        raise InputError(f"output folder '{dest.parent}' is not writable; pass --out PATH somewhere writable")
    with tempfile.TemporaryDirectory(prefix="yc-export-") as tmp:
        pt = Path(tmp) / f"{dest.stem.removesuffix('_openvino_model')}.pt"
        if src.suffix == ".pt":
            shutil.copy2(src, pt)
        else:
            save_model(yolo, pt)
        produced = _ultralytics_export(pt, config)
        if config.nms_free and not inspect_artifact(produced).end2end:
            raise UnsupportedError(f"Ultralytics exported '{src.name}' to {config.format} without its NMS-free head "
                                   f"(the format cannot hold it); export without --nms-free")
        return publish(produced, dest, pt, src, config.imgsz, config.verify, parity, images, threads)


def publish(produced: Path, dest: Path, pt: Path, src: Path, imgsz: int, check: bool = True,
            parity: ParityConfig = ParityConfig(), images: Sequence[np.ndarray] | None = None,
            threads: int | None = None) -> ExportResult:
    """Parity-check ``produced`` (a scratch artifact) against ``pt``, then move it to ``dest`` atomically.
    A failing artifact goes to ``<dest>.parity-failed`` instead, so an earlier ``dest`` is never replaced."""
    from ..runtime.runtimes import DEFAULT_RUNTIME

    art = inspect_artifact(produced)
    report = None
    note = None
    if check and art.format not in DEFAULT_RUNTIME:
        check = False
        note = (f"no parity check: {art.format} is converted here but runs on its target device; check it there "
                f"(or compare its ONNX export, which passed the same conversion path)")
    if check:
        if images is None:
            from ..shipped import demo_images

            images = demo_images()
        report = check_parity(art, pt, images, imgsz, parity, threads=threads)
    if report is not None and not report.passed:
        failed = dest.with_name(f"{dest.stem}.parity-failed{dest.suffix}")
        report = replace(report, artifact=str(failed), reference=str(src))
        atomic_copy(produced, failed)
        write_report(report, _report_path(failed))
        raise ParityError(f"'{failed}' {report.summary()}", report)
    try:
        atomic_copy(produced, dest)
    except OSError as e:
        raise InputError(f"cannot write '{dest}' ({e.strerror}); pass --out PATH somewhere writable") from None
    if report is not None:
        report = replace(report, artifact=str(dest), reference=str(src))
        write_report(report, _report_path(dest))
    return ExportResult(inspect_artifact(dest), report, note)


def _report_path(artifact: Path) -> Path:
    return artifact / "parity.json" if artifact.is_dir() or not artifact.suffix else Path(f"{artifact}.parity.json")


def verify(artifact: str | os.PathLike, reference: str | os.PathLike, imgsz: int | None = None,
           parity: ParityConfig = ParityConfig(), images: Sequence[np.ndarray] | None = None,
           runtime: str = "auto", threads: int | None = None) -> ParityReport:
    """Parity check of an existing artifact against the checkpoint it was exported from."""
    art = inspect_artifact(artifact)
    load_model(reference)
    size = imgsz or art.imgsz
    if not size:
        raise InputError(f"artifact '{artifact}' does not record its image size; pass --imgsz")
    if images is None:
        from ..shipped import demo_images

        images = demo_images()
    return check_parity(art, Path(reference), images, size, parity, runtime, threads)
