"""Atomic file and folder writes: a crash or a failed check never leaves a half-written output, and an
earlier output at the same path stays untouched until the new one is complete."""

from __future__ import annotations

import os
import shutil
import tempfile
from pathlib import Path


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


def atomic_write_text(path: Path, text: str) -> Path:
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "w") as f:
            f.write(text)
        os.chmod(tmp, 0o666 & ~_umask())
        os.replace(tmp, path)
    finally:
        if os.path.exists(tmp):
            os.unlink(tmp)
    return path


def atomic_move(src: Path, dst: Path) -> Path:
    """Move a finished file or folder into place, replacing ``dst`` only once ``src`` is complete."""
    src, dst = Path(src), Path(dst)
    dst.parent.mkdir(parents=True, exist_ok=True)
    if src.is_dir():
        staging = dst.parent / f".{dst.name}.incoming"
        if staging.exists():
            shutil.rmtree(staging)
        shutil.copytree(src, staging)
        old = dst.parent / f".{dst.name}.old"
        if dst.exists():
            if old.exists():
                shutil.rmtree(old)
            os.replace(dst, old)
        os.replace(staging, dst)
        if old.exists():
            shutil.rmtree(old)
    else:
        staging = dst.parent / f".{dst.name}.incoming"
        shutil.copy2(src, staging)
        os.replace(staging, dst)
    return dst
