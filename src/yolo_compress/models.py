"""Load and save Ultralytics detection models; model facts (params, GFLOPs).

All Ultralytics model handling sits here so that a version bump touches one module.

Checkpoints are loaded safely by default: PyTorch's weights-only unpickler, which reconstructs only the
types on an allow-list (Ultralytics 8.4's own list of its model classes, plus the modules yolo-compress
writes into checkpoints: surgery, QAT and distillation blocks) and never calls anything else. A pickle
that names another type (a custom module, or ``os.system``) is refused with one line naming it, before it
runs. ``trust_checkpoint=True`` (CLI ``--trust-checkpoint``, the :func:`trusted_checkpoints` context, or
``YOLO_COMPRESS_TRUST_CHECKPOINT=1``, which child processes inherit) loads it with full unpickling, as
plain ``YOLO(path)`` does: only for files whose origin you trust.
"""

from __future__ import annotations

import contextlib
import copy
import os
import tempfile
import zipfile
from collections import OrderedDict
from collections.abc import Iterator
from pathlib import Path
from typing import NamedTuple

from . import env  # noqa: F401  (offline settings before ultralytics is imported)
from .errors import CheckpointError

MODEL_YAML_SUFFIXES = (".yaml", ".yml")
TRUST_ENV = "YOLO_COMPRESS_TRUST_CHECKPOINT"  # "1": full unpickling (set by --trust-checkpoint, inherited by workers)
# our modules whose nn.Module classes end up in checkpoints we write (surgery blocks, QAT fake-quant wrappers,
# the distillation wrapper and its losses in a mid-run last.pt, the prune-time split block)
_OUR_CHECKPOINT_MODULES = ("yolo_compress.surgery", "yolo_compress.quant.qat", "yolo_compress.distill.model",
                           "yolo_compress.distill.losses", "yolo_compress.prune.yolo_blocks")
_TORCH_EXTRA_TYPES = ("torch.ao.quantization.fake_quantize.FakeQuantize", "torch.ao.quantization.observer.MinMaxObserver")
# Unpickled checkpoints of this process, newest last: PyTorch's weights-only unpickler is pure Python (0.5 s for a
# YOLOv9s, about 30 loads in one recipe run: exports, stats, parity, workers' checks). Keyed by the file's identity
# (path, inode, size, mtime: an atomic rewrite is a new file) and the trust setting; every load gets its own deep
# copy, so a caller that prunes or trains what it loaded never changes what the next one gets.
_LOADED: OrderedDict[_FileKey, dict] = OrderedDict()
_LOADED_MAX, _LOADED_MAX_BYTES = 4, 512 * 2**20


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


def trust_requested(trust_checkpoint: bool | None = None) -> bool:
    """The effective trust setting: the explicit argument, else ``YOLO_COMPRESS_TRUST_CHECKPOINT``."""
    if trust_checkpoint is not None:
        return bool(trust_checkpoint)
    return os.environ.get(TRUST_ENV, "").strip().lower() in ("1", "true", "yes", "on")


@contextlib.contextmanager
def trusted_checkpoints(on: bool = True) -> Iterator[None]:
    """Within the block, every checkpoint load (also in the bench's worker processes) unpickles fully: the
    API's equivalent of ``--trust-checkpoint``. Only for files whose origin you trust."""
    old = os.environ.get(TRUST_ENV)
    os.environ[TRUST_ENV] = "1" if on else "0"
    try:
        yield
    finally:
        if old is None:
            os.environ.pop(TRUST_ENV, None)
        else:
            os.environ[TRUST_ENV] = old


def _register_our_types(p: Path) -> None:
    """Add to the weights-only allow-list the types of ours (and the torch quantization observers inside QAT
    wrappers) that ``p`` references: looked up by name, imported only when referenced, nn.Module classes only."""
    import importlib

    import torch

    try:
        needed = torch.serialization.get_unsafe_globals_in_checkpoint(p)
    except Exception:  # noqa: BLE001 - not a torch zip: the load reports it
        return
    entries = []
    for name in needed:
        module, _, attr = name.rpartition(".")
        if module in _OUR_CHECKPOINT_MODULES or name in _TORCH_EXTRA_TYPES:
            obj = getattr(importlib.import_module(module), attr, None)
            if isinstance(obj, type) and issubclass(obj, torch.nn.Module) and obj.__module__ == module:
                entries.append(obj)
    if entries:
        torch.serialization.add_safe_globals(entries)


def _refused_types(p: Path) -> list[str]:
    """The globals of ``p``'s pickle that the weights-only loader refuses (after the allow-list is registered)."""
    import torch

    try:
        needed = torch.serialization.get_unsafe_globals_in_checkpoint(p)
    except Exception:  # noqa: BLE001 - not a torch zip: the load error says so
        return []
    allowed = set()
    for g in torch.serialization.get_safe_globals():
        obj, name = g if isinstance(g, tuple) else (g, f"{g.__module__}.{g.__qualname__}")
        allowed.add(name)
        allowed.add(f"{getattr(obj, '__module__', '')}.{getattr(obj, '__qualname__', '')}")
    return [n for n in needed if n not in allowed]


def load_checkpoint(path: str | os.PathLike, trust_checkpoint: bool | None = None):
    """``(module, ckpt)`` of an Ultralytics ``.pt``: the one place that unpickles a checkpoint.

    Weights-only unpickling against Ultralytics' allow-list plus ours, unless trusted (see the module doc).
    A refused pickle raises :class:`CheckpointError` naming the unexpected type; nothing in it has run.
    """
    from ultralytics.nn.tasks import torch_safe_load

    p = Path(path).expanduser()
    s = str(path)
    _check_checkpoint_file(p, s)  # also on a cache hit: its CRC check would see bytes changed in place
    trust = trust_requested(trust_checkpoint)
    key = _file_key(p, trust)
    if key in _LOADED:
        _LOADED.move_to_end(key)
        ckpt = copy.deepcopy(_LOADED[key])
        return _module_from_ckpt(ckpt, p, s), ckpt
    if not trust:
        _register_our_types(p)
    try:
        ckpt, _ = torch_safe_load(str(p), safe_only=not trust)
    except Exception as e:  # noqa: BLE001 - unpickling / torch / ultralytics errors all mean "not loadable"
        refused = [] if trust else _refused_types(p)
        if refused:
            more = f" (and {len(refused) - 1} more)" if len(refused) > 1 else ""
            raise CheckpointError(
                f"model '{s}' holds type '{refused[0]}'{more}, outside the allow-list of Ultralytics and "
                f"yolo-compress model classes: refused, nothing in it was run; if you trust where the file comes "
                f"from, pass --trust-checkpoint (Python: trust_checkpoint=True)"
            ) from None
        raise CheckpointError(f"model '{s}' cannot be loaded as an Ultralytics checkpoint: {_first_line(e)}") from None
    keep = copy.deepcopy(ckpt) if key is not None and key.size <= _LOADED_MAX_BYTES else None  # as unpickled
    module = _module_from_ckpt(ckpt, p, s)  # raises for a file that holds no model: such a file is not kept
    if keep is not None:
        _LOADED[key] = keep
        while len(_LOADED) > _LOADED_MAX:
            _LOADED.popitem(last=False)
    return module, ckpt


class _FileKey(NamedTuple):
    """What identifies a checkpoint file's content for the load cache (and the trust it was unpickled with)."""

    path: str
    dev: int
    ino: int
    size: int
    mtime_ns: int
    trust: bool


def _file_key(p: Path, trust: bool) -> _FileKey | None:
    """The load cache's key of ``p``; None for anything but a regular file."""
    try:
        st = p.stat()
    except OSError:
        return None
    if not p.is_file():
        return None
    return _FileKey(str(p.resolve()), st.st_dev, st.st_ino, st.st_size, st.st_mtime_ns, trust)


def _module_from_ckpt(ckpt: dict, p: Path, source: str):
    """What Ultralytics' ``load_checkpoint`` does after unpickling (8.4): EMA or model, FP32, args, task."""
    import torch
    from ultralytics.nn.tasks import guess_model_task
    from ultralytics.utils import DEFAULT_CFG_DICT

    candidate = ckpt.get("ema") or ckpt.get("model")
    if not isinstance(candidate, torch.nn.Module):
        raise CheckpointError(f"model '{source}' holds no model (neither 'ema' nor 'model' is a torch module); "
                              f"pass an Ultralytics .pt checkpoint")
    model = candidate.float()
    if ckpt.get("modelopt"):  # an Ultralytics (ModelOpt) QAT checkpoint: re-apply its fake quantization
        from ultralytics.nn.tasks import restore_qat

        restore_qat(model, ckpt["modelopt"])
    model.args = {**DEFAULT_CFG_DICT, **(ckpt.get("train_args", {}) or {})}
    model.pt_path = str(p)
    model.task = getattr(model, "task", guess_model_task(model))
    if not hasattr(model, "stride"):
        model.stride = torch.tensor([32.0])
    model = model.eval()
    for m in model.modules():
        if hasattr(m, "inplace"):
            m.inplace = True
        elif isinstance(m, torch.nn.Upsample) and not hasattr(m, "recompute_scale_factor"):
            m.recompute_scale_factor = None
    return model


def _yolo_from_checkpoint(p: Path, trust_checkpoint: bool | None):
    """A plain ``YOLO`` wrapper around a checkpoint loaded by :func:`load_checkpoint` (what ``YOLO(path)`` builds,
    without its full unpickling)."""
    from ultralytics import YOLO

    module, ckpt = load_checkpoint(p, trust_checkpoint)

    class _Loaded(YOLO):
        def _load(self, weights: str, task: str | None = None) -> None:  # Ultralytics' Model._load, .pt branch
            self.model, self.ckpt = module, ckpt
            self.task = module.task
            self.overrides = self.model.args = self._reset_ckpt_args(self.model.args)
            self.ckpt_path = self.model.pt_path
            self.overrides["model"] = weights
            self.overrides["task"] = self.task
            self.model_name = weights

    return YOLO(_Loaded(str(p)))  # YOLO(Model) adopts its state: the result is a plain YOLO


def load_model(source: str | os.PathLike, nc: int | None = None, trust_checkpoint: bool | None = None):
    """Return an Ultralytics ``YOLO`` detection model from a ``.pt`` checkpoint or a model YAML.

    ``nc`` overrides the class count when building from a YAML. Raises :class:`CheckpointError` with the
    fix for a missing, truncated, corrupt, unsafe or non-detection checkpoint. A checkpoint is unpickled
    weights-only against the allow-list unless ``trust_checkpoint`` (default: ``--trust-checkpoint`` /
    ``YOLO_COMPRESS_TRUST_CHECKPOINT``) says otherwise.
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
        try:
            model = _yolo_from_checkpoint(p, trust_checkpoint)
        except CheckpointError:
            raise
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
    """The head infers through its end-to-end (one-to-one, NMS-free) branch."""
    head = torch_module(module).model[-1]
    return bool(getattr(head, "end2end", False))


def has_end2end_head(module) -> bool:
    """The head has an end-to-end (one-to-one, NMS-free) branch: YOLOv10, YOLO26. Ultralytics 8.4.190 trains
    both branches but infers and exports through the one-to-many one (external NMS) unless asked; our
    ``ExportConfig.nms_free`` asks."""
    head = torch_module(module).model[-1]
    return bool(getattr(head, "end2end", False) or getattr(head, "one2one_cv2", None) is not None)


def _first_line(e: BaseException) -> str:
    text = str(e).strip().splitlines()
    return f"{type(e).__name__}: {text[0] if text else ''}".strip()
