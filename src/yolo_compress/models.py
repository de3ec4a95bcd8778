"""Load and save Ultralytics detection models; model facts (params, GFLOPs).

All Ultralytics model handling sits here so that a version bump touches one module.
"""

from __future__ import annotations

import os
import tempfile
import zipfile
from dataclasses import dataclass
from pathlib import Path

from . import env  # noqa: F401  (offline settings before ultralytics is imported)
from .errors import CheckpointError

MODEL_YAML_SUFFIXES = (".yaml", ".yml")


@dataclass(frozen=True)
class ModelInfo:
    params: int
    gflops: float  # at the given imgsz, batch 1 (2 x MACs of conv / linear layers)
    imgsz: int
    nc: int
    names: dict[int, str]
    end2end: bool


def _check_checkpoint_file(p: Path, source: str) -> None:
    if not p.exists():
        raise CheckpointError(
            f"model '{source}' not found; pass the path to a trained Ultralytics .pt checkpoint or a model .yaml "
            f"(nothing is downloaded)"
        )
    if p.is_dir():
        raise CheckpointError(f"model '{source}' is a folder; pass a .pt checkpoint or a model .yaml")
    if p.stat().st_size == 0 or not zipfile.is_zipfile(p):
        raise CheckpointError(
            f"model '{source}' is truncated or not a PyTorch checkpoint (not a valid zip archive); "
            f"re-copy or re-save it"
        )
    try:
        with zipfile.ZipFile(p) as z:
            bad = z.testzip()
    except (zipfile.BadZipFile, OSError, EOFError) as e:
        raise CheckpointError(f"model '{source}' is corrupt ({e}); re-copy or re-save it") from None
    if bad is not None:
        raise CheckpointError(f"model '{source}' is corrupt (member '{bad}' fails its CRC); re-copy or re-save it")


def load_model(source: str | os.PathLike, nc: int | None = None):
    """Return an Ultralytics ``YOLO`` detection model from a ``.pt`` checkpoint or a model YAML.

    ``nc`` overrides the class count when building from a YAML. Raises :class:`CheckpointError` with the
    fix for a missing, truncated, corrupt or non-detection checkpoint.
    """
    from ultralytics import YOLO

    s = str(source)
    p = Path(s).expanduser()
    if p.suffix in MODEL_YAML_SUFFIXES:
        # a bare name such as 'yolo11n.yaml' resolves to Ultralytics' packaged configs (scale from the name)
        try:
            model = YOLO(str(p) if p.exists() else s, task="detect")
            if nc is not None and nc != model.model.model[-1].nc:
                from ultralytics.nn.tasks import DetectionModel

                model.model = DetectionModel(model.model.yaml, nc=nc, verbose=False)
                model.model.names = {i: f"class{i}" for i in range(nc)}
        except FileNotFoundError:
            raise CheckpointError(
                f"model YAML '{s}' not found (neither a file nor one of Ultralytics' model configs such as "
                f"'yolov8n.yaml', 'yolo11n.yaml')"
            ) from None
        except Exception as e:  # noqa: BLE001
            raise CheckpointError(f"model YAML '{s}' does not build a model: {_first_line(e)}") from None
    else:
        _check_checkpoint_file(p, s)
        try:
            model = YOLO(str(p))
        except Exception as e:  # noqa: BLE001 - torch/pickle/ultralytics errors all mean "not loadable"
            raise CheckpointError(
                f"model '{s}' cannot be loaded as an Ultralytics checkpoint: {_first_line(e)}"
            ) from None
    if model.task != "detect":
        raise CheckpointError(
            f"model '{s}' is a '{model.task}' model; yolo-compress works on detection models (task 'detect')"
        )
    return model


def save_model(model, path: str | os.PathLike) -> Path:
    """Save an Ultralytics model as a normal checkpoint, atomically (tmp file + rename)."""
    out = Path(path)
    out.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(suffix=".pt", dir=out.parent, prefix=f".{out.stem}.")
    os.close(fd)
    try:
        model.save(tmp)
        mask = os.umask(0)
        os.umask(mask)
        os.chmod(tmp, 0o666 & ~mask)  # mkstemp creates 0600; give the file normal permissions
        os.replace(tmp, out)
    finally:
        if os.path.exists(tmp):
            os.unlink(tmp)
    return out


def torch_module(model):
    """The ``DetectionModel`` behind a ``YOLO`` wrapper (or the module itself)."""
    from ultralytics.engine.model import Model

    return model.model if isinstance(model, Model) else model


def is_end2end(module) -> bool:
    head = torch_module(module).model[-1]
    return bool(getattr(head, "end2end", False))


def model_info(model, imgsz: int) -> ModelInfo:
    from .bench.graphstats import torch_stats

    m = torch_module(model)
    stats = torch_stats(m, imgsz)
    names = dict(getattr(m, "names", {}) or {})
    return ModelInfo(
        params=sum(p.numel() for p in m.parameters()),
        gflops=stats.gflops,
        imgsz=imgsz,
        nc=int(m.model[-1].nc),
        names=names,
        end2end=is_end2end(m),
    )


def _first_line(e: BaseException) -> str:
    text = str(e).strip().splitlines()
    return f"{type(e).__name__}: {text[0] if text else ''}".strip()
