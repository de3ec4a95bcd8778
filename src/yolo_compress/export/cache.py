"""A content-addressed cache of the FP32 exports that quantization starts from.

Every quantize call exports its checkpoint to FP32 first (ONNX, OpenVINO IR or a TFLite flatbuffer) and checks
that export's parity. For LiteRT that conversion alone is ~20 s for YOLOv8n at 128 px on a 2-core VM and more
at deployment sizes, and a user trying FP16, dynamic INT8 and static INT8 in turn paid it three times. The cache
keeps the export that passed parity under a key made of the checkpoint's bytes (sha256), the export settings,
the versions of the libraries that convert and our own export code; any change to one of them is a new key, never a stale hit.

Where: ``$YOLO_COMPRESS_CACHE`` if set (``off`` / ``0`` turns the cache off), else
``$XDG_CACHE_HOME/yolo-compress`` (``~/.cache/yolo-compress``). The newest ``KEEP`` entries, at most
``MAX_BYTES`` in all, are kept. The cache is
best effort: a cache that cannot be read or written is skipped, never an error. It holds exported graphs and
weights only (no pickles), so a hit loads nothing that a fresh export would not.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
from dataclasses import asdict
from importlib import metadata
from pathlib import Path
from typing import Callable

from ..config import ExportConfig

KEEP = 16  # entries kept (newest first); a v8n entry is 12 MB (FP32 weights)
MAX_BYTES = 1 << 30  # and at most 1 GiB in all (a YOLOv8x FP32 export is ~260 MB)
LIBS = ("yolo-compress", "ultralytics", "torch", "onnx", "onnxslim", "openvino", "litert-torch", "ai-edge-litert")
OUR_CODE = ("exporter.py", "formats.py", "parity.py")  # the files that make and check an FP32 export
_OFF = ("0", "off", "false", "no")


def cache_root() -> Path | None:
    """The cache folder, or None when ``$YOLO_COMPRESS_CACHE`` turns the cache off."""
    env = os.environ.get("YOLO_COMPRESS_CACHE", "").strip()
    if env.lower() in _OFF:
        return None
    if env:
        return Path(env).expanduser() / "fp32-exports"
    base = os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache"
    return Path(base) / "yolo-compress" / "fp32-exports"


def _version(lib: str) -> str:
    try:
        return metadata.version(lib)
    except metadata.PackageNotFoundError:
        return "-"


def cache_key(pt: Path, cfg: ExportConfig) -> str:
    """sha256 of the checkpoint's bytes, the export settings (parity checked or not included), the library
    versions and our own export code."""
    h = hashlib.sha256()
    with open(pt, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            h.update(block)
    settings = {k: v for k, v in asdict(cfg).items() if k != "verify"}
    # our own export code too: the package version does not move with every change to it
    code = hashlib.sha256(b"".join((Path(__file__).parent / f).read_bytes() for f in OUR_CODE)).hexdigest()
    meta = json.dumps({"settings": settings, "libs": {lib: _version(lib) for lib in LIBS}, "code": code},
                      sort_keys=True)
    h.update(meta.encode())
    return h.hexdigest()[:32]


def cached_export(pt: Path, cfg: ExportConfig, dest: Path, make: Callable[[Path], Path]) -> tuple[Path, bool]:
    """``make(dest)`` exports ``pt`` to ``dest`` and returns the artifact's path. On a hit the cached artifact is
    copied to ``dest`` instead (returns (path, True)); on a miss ``make`` runs and a verified result is stored.
    Only exports made with ``cfg.verify`` (parity passed) are stored."""
    root = cache_root()
    if root is None:
        return make(dest), False
    entry = root / cache_key(pt, cfg)
    try:
        done = entry / "done.json"
        if done.is_file():
            name = json.loads(done.read_text())["artifact"]
            if not isinstance(name, str) or Path(name).name != name or name in ("", ".", ".."):
                raise ValueError(f"bad artifact name in {done}")  # a plain name inside the entry, nothing else
            dst = dest.parent / name
            src = entry / name
            if src.is_dir():
                shutil.copytree(src, dst, dirs_exist_ok=True)
            else:
                shutil.copy2(src, dst)
            os.utime(done)  # the newest use keeps the entry
            return dst, True
    except (OSError, ValueError, KeyError, TypeError):  # an unreadable entry: dropped, and exported as if there were none
        shutil.rmtree(entry, ignore_errors=True)
    produced = make(dest)
    if cfg.verify:
        _store(root, entry, produced)
    return produced, False


def _store(root: Path, entry: Path, produced: Path) -> None:
    staging = root / f".{entry.name}.{os.getpid()}.incoming"
    try:
        root.mkdir(parents=True, exist_ok=True)
        staging.mkdir()
        if produced.is_dir():
            shutil.copytree(produced, staging / produced.name)
        else:
            shutil.copy2(produced, staging / produced.name)
        (staging / "done.json").write_text(json.dumps({"artifact": produced.name}))
        os.replace(staging, entry)  # atomic; a concurrent writer that got there first wins, this copy is dropped
    except OSError:
        pass
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    _trim(root)


def _size(p: Path) -> int:
    return sum(f.stat().st_size for f in p.rglob("*") if f.is_file())


def _trim(root: Path) -> None:
    """Keep the newest entries, at most KEEP of them and MAX_BYTES in all (the newest one always stays)."""
    try:
        entries = [p for p in root.iterdir() if (p / "done.json").is_file()]
        entries.sort(key=lambda p: (p / "done.json").stat().st_mtime, reverse=True)
        total = 0
        for i, entry in enumerate(entries):
            total += _size(entry)
            if i >= KEEP or (i and total > MAX_BYTES):
                shutil.rmtree(entry, ignore_errors=True)
    except OSError:
        pass
