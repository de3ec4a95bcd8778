"""The one data adapter: a detection dataset YAML -> images, labels and one preprocessing path.

Used identically by evaluation, parity checks, latency inputs (and later calibration, Taylor importance
and distillation). Deliberately free of torch imports so that a runtime worker measuring ONNX Runtime or
OpenVINO memory does not carry PyTorch in its RSS.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Iterator, Sequence

import numpy as np

from .errors import DataError

IMG_SUFFIXES = (".jpg", ".jpeg", ".png", ".bmp", ".webp", ".tif", ".tiff")


@dataclass(frozen=True)
class Sample:
    """One image and its ground truth. ``labels`` is (n, 5): class, x, y, w, h normalised to the image."""

    path: Path
    image: np.ndarray  # HxWx3 BGR uint8, as read
    labels: np.ndarray

    @property
    def shape(self) -> tuple[int, int]:
        return self.image.shape[:2]


@dataclass(frozen=True)
class DataSpec:
    """A resolved detection dataset: absolute split locations and class names."""

    yaml_path: Path
    root: Path
    names: dict[int, str]
    splits: dict[str, list[Path]] = field(default_factory=dict)  # split -> image files (sorted)
    sources: dict[str, Path] = field(default_factory=dict)  # split -> folder or list file as written

    @property
    def nc(self) -> int:
        return len(self.names)

    def images(self, split: str = "val", limit: int | None = None) -> list[Path]:
        if split not in self.splits:
            raise DataError(f"dataset '{self.yaml_path}' has no '{split}' split; add '{split}: images/{split}' to it")
        files = self.splits[split]
        return files[:limit] if limit else files

    def samples(self, split: str = "val", limit: int | None = None) -> Iterator[Sample]:
        for f in self.images(split, limit):
            yield Sample(f, read_image(f), read_labels(label_path(f)))

    def to_ultralytics_yaml(self, directory: Path) -> Path:
        """Write a copy with absolute paths, so Ultralytics never resolves against its own datasets dir."""
        import yaml

        directory.mkdir(parents=True, exist_ok=True)
        out = directory / f"{self.yaml_path.stem}.abs.yaml"
        content = {"path": str(self.root), "names": self.names}
        for split in self.splits:
            content[split] = str(self.sources[split])
        content.setdefault("train", content.get("val"))  # Ultralytics insists on both keys
        out.write_text(yaml.safe_dump(content, sort_keys=False))
        return out


def label_path(image: Path) -> Path:
    """Ultralytics' convention: .../images/x.jpg -> .../labels/x.txt."""
    sa, sb = f"{os.sep}images{os.sep}", f"{os.sep}labels{os.sep}"
    s = str(image)
    if sa in s:
        s = sb.join(s.rsplit(sa, 1))
    return Path(s).with_suffix(".txt")


def read_image(path: Path) -> np.ndarray:
    import cv2

    img = cv2.imread(str(path), cv2.IMREAD_COLOR)
    if img is None:
        raise DataError(f"image '{path}' cannot be read (corrupt or not an image); remove it from the dataset")
    return img


def read_labels(path: Path) -> np.ndarray:
    if not path.exists():
        return np.zeros((0, 5), dtype=np.float32)
    rows = [line.split() for line in path.read_text().splitlines() if line.strip()]
    try:
        arr = np.array([[float(v) for v in r[:5]] for r in rows if len(r) >= 5], dtype=np.float32)
    except ValueError as e:
        raise DataError(f"label file '{path}' is not in YOLO format (class x y w h per line): {e}") from None
    return arr.reshape(-1, 5)


def _list_images(src: Path, yaml_path: Path, split: str) -> list[Path]:
    if src.is_dir():
        files = sorted(p for p in src.rglob("*") if p.suffix.lower() in IMG_SUFFIXES)
    elif src.is_file() and src.suffix == ".txt":
        files = []
        for line in src.read_text().splitlines():
            line = line.strip()
            if line:
                p = Path(line)
                files.append(p if p.is_absolute() else (src.parent / p).resolve())
    else:
        raise DataError(
            f"dataset '{yaml_path}': {split} images '{src}' do not exist; fix '{split}:' in the YAML "
            f"(relative paths are resolved against 'path:' or the YAML's folder)"
        )
    if not files:
        raise DataError(f"dataset '{yaml_path}': {split} folder '{src}' holds no images ({', '.join(IMG_SUFFIXES)})")
    return files


def load_data(path: str | os.PathLike, splits: Sequence[str] = ("val",)) -> DataSpec:
    """Read and check a detection data YAML (Ultralytics format). Raises :class:`DataError` with the fix."""
    import yaml

    p = Path(path).expanduser()
    if not p.exists():
        raise DataError(f"dataset YAML '{path}' not found; pass the path to a data.yaml (train:, val:, names:)")
    if p.is_dir():
        raise DataError(f"dataset '{path}' is a folder; pass its data.yaml file instead")
    try:
        cfg = yaml.safe_load(p.read_text())
    except Exception as e:  # noqa: BLE001 - any parse failure is the user's YAML
        raise DataError(f"dataset YAML '{path}' does not parse: {str(e).splitlines()[0]}") from None
    if not isinstance(cfg, dict) or "names" not in cfg:
        raise DataError(f"dataset YAML '{path}' has no 'names:' mapping; list the class names")
    names = cfg["names"]
    if isinstance(names, list):
        names = dict(enumerate(names))
    if not isinstance(names, dict) or not names:
        raise DataError(f"dataset YAML '{path}': 'names:' must be a non-empty list or mapping")
    names = {int(k): str(v) for k, v in names.items()}
    root = Path(cfg["path"]) if cfg.get("path") else Path(".")
    root = (root if root.is_absolute() else p.parent / root).resolve()
    resolved: dict[str, list[Path]] = {}
    sources: dict[str, Path] = {}
    for split in splits:
        if not cfg.get(split):
            raise DataError(f"dataset YAML '{path}' has no '{split}:' entry; add the {split} image folder")
        src = Path(cfg[split])
        src = src if src.is_absolute() else root / src
        resolved[split] = _list_images(src, p, split)
        sources[split] = src
    return DataSpec(yaml_path=p.resolve(), root=root, names=names, splits=resolved, sources=sources)


# --------------------------------------------------------------------------- preprocessing (one path)
@dataclass(frozen=True)
class Letterbox:
    """How an image was mapped into the network input: x_in = x_orig * gain + pad."""

    gain: float
    pad: tuple[float, float]  # (left, top)
    shape: tuple[int, int]  # original (h, w)


def letterbox(image: np.ndarray, imgsz: int, color: int = 114) -> tuple[np.ndarray, Letterbox]:
    """Resize the long side to ``imgsz`` keeping aspect, pad to a square; same as Ultralytics' LetterBox
    (auto=False, centre padding, grey 114, bilinear)."""
    import cv2

    h, w = image.shape[:2]
    gain = min(imgsz / h, imgsz / w)
    nh, nw = int(round(h * gain)), int(round(w * gain))
    if (nh, nw) != (h, w):
        image = cv2.resize(image, (nw, nh), interpolation=cv2.INTER_LINEAR)
    dw, dh = (imgsz - nw) / 2, (imgsz - nh) / 2
    top, bottom = int(round(dh - 0.1)), int(round(dh + 0.1))
    left, right = int(round(dw - 0.1)), int(round(dw + 0.1))
    if top or bottom or left or right:
        image = cv2.copyMakeBorder(image, top, bottom, left, right, cv2.BORDER_CONSTANT, value=(color,) * 3)
    return image, Letterbox(gain=gain, pad=(left, top), shape=(h, w))


def preprocess(images: Sequence[np.ndarray], imgsz: int) -> tuple[np.ndarray, list[Letterbox]]:
    """BGR uint8 images -> float32 NCHW RGB in [0, 1], plus how each was letterboxed."""
    batch, boxes = [], []
    for im in images:
        lb_img, lb = letterbox(im, imgsz)
        batch.append(lb_img[:, :, ::-1].transpose(2, 0, 1))
        boxes.append(lb)
    x = np.ascontiguousarray(np.stack(batch)).astype(np.float32) / 255.0
    return x, boxes


def synthetic_images(n: int, imgsz: int, seed: int = 0) -> list[np.ndarray]:
    """Deterministic textured images (not noise) for when no dataset is given: shapes on a gradient."""
    import cv2

    rng = np.random.default_rng(seed)
    out = []
    for _ in range(n):
        yy, xx = np.mgrid[0:imgsz, 0:imgsz]
        base = ((xx + yy) * 255 / (2 * imgsz)).astype(np.uint8)
        img = np.dstack([base, base[::-1], base.T]).copy()
        for _ in range(4):
            c = tuple(int(v) for v in rng.integers(0, 255, 3))
            x0, y0 = (int(v) for v in rng.integers(0, imgsz * 3 // 4, 2))
            s = int(rng.integers(imgsz // 8, imgsz // 3))
            cv2.rectangle(img, (x0, y0), (x0 + s, y0 + s), c, -1)
        out.append(img)
    return out


def loss_batches(spec: DataSpec, imgsz: int, batches: int, batch_size: int = 8, split: str = "train"):
    """Batches in the layout Ultralytics' detection loss expects ({img, cls, bboxes, batch_idx}), through
    the same letterbox: for gradient-based importance (Taylor) and calibration. Imports torch lazily."""
    import torch

    files = spec.images(split)
    step = max(1, len(files) // max(1, batches * batch_size))  # spread over the split, deterministic
    chosen = files[::step][: batches * batch_size]
    for start in range(0, len(chosen), batch_size):
        imgs, cls, boxes, idx = [], [], [], []
        for i, f in enumerate(chosen[start : start + batch_size]):
            im = read_image(f)
            x, (lb,) = preprocess([im], imgsz)
            imgs.append(x[0])
            lab = read_labels(label_path(f))
            h, w = lb.shape
            xy = lab[:, 1:3] * [w, h] * lb.gain + lb.pad
            wh = lab[:, 3:5] * [w, h] * lb.gain
            boxes.append(np.concatenate([xy, wh], 1) / imgsz)
            cls.append(lab[:, :1])
            idx.append(np.full(len(lab), i, dtype=np.float32))
        yield {
            "img": torch.from_numpy(np.stack(imgs)),
            "cls": torch.from_numpy(np.concatenate(cls).astype(np.float32)),
            "bboxes": torch.from_numpy(np.concatenate(boxes).astype(np.float32)),
            "batch_idx": torch.from_numpy(np.concatenate(idx)),
        }
