"""Identities of inputs for resumable work: a unit of work (pipeline stage, prune step, QAT run folder, bench
export cache) records the hashes of the files it read and its config, and is redone when they change."""

from __future__ import annotations

import hashlib
import os
from pathlib import Path

from .io import file_hash, fingerprint

__all__ = ["hash_file", "data_hash", "fingerprint"]

_MEMO: dict[tuple, str] = {}


def hash_file(path: str | os.PathLike) -> str:
    """sha256 of a file's (or folder's) bytes, memoized per (path, size, mtime) in this process."""
    p = Path(path).resolve()
    st = p.stat()
    key = (str(p), st.st_size, st.st_mtime_ns)
    if key not in _MEMO:
        _MEMO[key] = file_hash(p)
    return _MEMO[key]


def data_hash(data_yaml: str | os.PathLike) -> str:
    """A dataset's identity: the YAML's bytes and, for every split it names, the image names and sizes and
    the label files' bytes (images are not read: a changed image without a changed size goes unnoticed)."""
    import yaml

    from .data import IMG_SUFFIXES, label_path

    p = Path(data_yaml)
    h = hashlib.sha256(p.read_bytes())
    try:
        cfg = yaml.safe_load(p.read_text()) or {}
    except yaml.YAMLError:
        return h.hexdigest()
    if not isinstance(cfg, dict):
        return h.hexdigest()
    root = Path(cfg["path"]) if cfg.get("path") else Path(".")
    root = (root if root.is_absolute() else p.parent / root).resolve()
    for split in ("train", "val", "test", "holdout"):  # holdout: a recipe's held-out train images
        src = cfg.get(split)
        if not isinstance(src, str):
            continue
        src = Path(src) if Path(src).is_absolute() else root / src
        if src.is_dir():
            images = sorted(f for f in src.rglob("*") if f.suffix.lower() in IMG_SUFFIXES)
        elif src.is_file():
            h.update(src.read_bytes())
            images = [Path(x.strip()) if Path(x.strip()).is_absolute() else src.parent / x.strip()
                      for x in src.read_text().splitlines() if x.strip()]
        else:
            continue
        h.update(split.encode())
        for im in images:
            h.update(f"{im}\0{im.stat().st_size if im.exists() else -1}\0".encode())
            lab = label_path(im)
            if lab.exists():
                h.update(lab.read_bytes())
    return h.hexdigest()
