"""The one data adapter: a detection dataset YAML -> images, labels and one preprocessing path.

Used identically by evaluation, parity checks, latency inputs (and later calibration, Taylor importance
and distillation). Deliberately free of torch imports at import time so that a runtime worker measuring
ONNX Runtime or OpenVINO memory does not carry PyTorch in its RSS.

Labels are read by Ultralytics' own per-image verification (``verify_image_label``, the function its
dataset cache runs), wrapped in :func:`verify_sample` -- the one place to change on an Ultralytics bump.
So polygons become boxes, files mixing polygon and box rows, out-of-range coordinates and corrupt images
are skipped, duplicate rows removed: exactly the images ``YOLO.val()`` scores are the ones we score.
Importing ``ultralytics.data.utils`` pulls torch (about 2 s), so it is imported lazily, only where labels
are read (evaluation, which needs torch for NMS anyway). One deliberate difference: a class index outside
``0..nc-1`` is a :class:`DataError` naming the file and line (Ultralytics warns and skips the image).
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Iterator, Sequence

import numpy as np

from .errors import ConfigError, DataError

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
    _checks: dict = field(default_factory=dict, compare=False, repr=False)  # (split, limit) -> SplitCheck

    @property
    def nc(self) -> int:
        return len(self.names)

    def images(self, split: str = "val", limit: int | None = None) -> list[Path]:
        if split not in self.splits:
            raise DataError(f"dataset '{self.yaml_path}' has no '{split}' split; add '{split}: images/{split}' to it")
        files = self.splits[split]
        return files[:limit] if limit else files

    def check(self, split: str = "val", limit: int | None = None) -> "SplitCheck":
        """Verify every image and label file of a split by Ultralytics' rules (cached on this spec).

        Raises :class:`DataError` (file and line) on a class index outside ``0..nc-1``, before any work."""
        key = (split, limit)
        if key not in self._checks:
            self._checks[key] = check_split(self.images(split, limit), self.nc, split, self.yaml_path)
        return self._checks[key]

    def samples(self, split: str = "val", limit: int | None = None) -> Iterator[Sample]:
        """The images Ultralytics' val would score, with their verified labels (skipped images left out)."""
        chk = self.check(split, limit)
        for f, labels in chk.labels.items():
            yield Sample(f, read_image(f), labels)

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


def read_labels(path: Path, nc: int | None = None, image: Path | None = None) -> np.ndarray:
    """The (n, 5) labels of one label file by Ultralytics' rules (polygons -> boxes, duplicates removed).

    With ``image`` the image is verified too; without, only the label rules apply. A file Ultralytics
    would skip as corrupt raises :class:`DataError` here (callers that must skip use :meth:`DataSpec.check`)."""
    path = Path(path)
    if nc is not None:
        check_class_indices(path, nc)
    v = verify_sample(image, path, nc)
    if v.labels is None:
        raise DataError(f"label file '{path}' is not in YOLO format (class x y w h, or class x1 y1 x2 y2 ... "
                        f"per line, normalised): {v.reason}; fix or remove it")
    return v.labels


# --------------------------------------------------------------------------- label verification (one adapter)
@dataclass(frozen=True)
class Verified:
    """What Ultralytics' ``verify_image_label`` decided for one image."""

    labels: np.ndarray | None  # (n, 5) cls, x, y, w, h; None when the image is skipped
    status: str  # "found" | "missing" | "empty" | "corrupt"
    reason: str = ""  # why it was skipped (corrupt), one line
    duplicates: int = 0  # duplicate rows removed
    polygons: bool = False  # the file held polygons, read as their boxes


_STAND_IN: list[Path] = []


def _stand_in_image() -> Path:
    """A valid 16x16 PNG, for applying Ultralytics' label rules when the image is checked separately."""
    if not _STAND_IN:
        import atexit
        import shutil
        import tempfile

        import cv2

        d = Path(tempfile.mkdtemp(prefix="yc-label-"))
        atexit.register(shutil.rmtree, d, True)
        cv2.imwrite(str(d / "stand-in.png"), np.zeros((16, 16, 3), np.uint8))
        _STAND_IN.append(d / "stand-in.png")
    return _STAND_IN[0]


def _jpeg_without_end_marker(image: Path) -> bool:
    if image.suffix.lower() not in (".jpg", ".jpeg"):
        return False
    try:
        with open(image, "rb") as f:
            f.seek(-2, 2)
            return f.read() != b"\xff\xd9"
    except OSError:
        return False  # too short or unreadable: Ultralytics' own check reports it


def _decode_fully(image: Path) -> str:
    """'' when PIL decodes every pixel of ``image`` (EXIF orientation applied), else why not."""
    from PIL import Image, ImageOps

    try:
        with Image.open(image) as im:
            ImageOps.exif_transpose(im).load()
        return ""
    except Exception as e:  # noqa: BLE001 - any decoder failure means the image is corrupt
        return f"image does not decode fully (truncated?): {e}"


def verify_sample(image: Path | None, label: Path, nc: int | None) -> Verified:
    """Ultralytics' ``verify_image_label`` on one image/label pair, without its side effect.

    Ultralytics rewrites a JPEG that lacks its end marker in place ("corrupt JPEG restored and saved"); we
    never modify a user's dataset, so such a JPEG is decoded fully here instead (a truncated one is skipped,
    as Ultralytics skips it when its restore fails) and the label rules run against a stand-in image."""
    from ultralytics.data.utils import verify_image_label

    image_arg = image
    if image is None:
        image_arg = _stand_in_image()
    elif _jpeg_without_end_marker(image):
        why = _decode_fully(image)
        if why:
            return Verified(None, "corrupt", why)
        image_arg = _stand_in_image()
    num_cls = nc if nc is not None else 1 << 30
    _, lb, _, segments, _, nm, nf, ne, ncorrupt, msg = verify_image_label(
        (str(image_arg), str(label), "", False, num_cls, 0, 0, False))
    if ncorrupt:
        reason = msg.split("ignoring corrupt image/label: ", 1)[-1].strip().splitlines()[0]
        return Verified(None, "corrupt", reason)
    status = "missing" if nm else "empty" if ne else "found"
    lb = np.asarray(lb, dtype=np.float32).reshape(-1, 5)
    dup = 0
    if status == "found" and "duplicate labels removed" in msg:
        dup = int(msg.rsplit(": ", 1)[-1].split()[0])
    return Verified(lb, status, "", dup, bool(segments))


def check_class_indices(label: Path, nc: int) -> None:
    """Our one deliberate difference from Ultralytics: a class index outside 0..nc-1 is an error (file:line)."""
    try:
        text = label.read_text(encoding="utf-8-sig")
    except (OSError, UnicodeDecodeError):
        return  # missing or unreadable: counted / skipped by verify_sample
    for i, line in enumerate(text.splitlines(), 1):
        parts = line.split()
        if not parts:
            continue
        try:
            c = float(parts[0])
        except ValueError:
            continue  # not a number: Ultralytics skips the file as corrupt
        if c != c or c < 0 or c >= nc:  # nan included
            raise DataError(
                f"label file '{label}' line {i}: class index {parts[0]} is outside 0..{nc - 1} (the dataset YAML "
                f"names {nc} classes); fix the label or add the class to 'names:'"
            )


_REASONS = (  # Ultralytics' corrupt-file messages -> a short reason for the one summary line
    ("mix segment and detection", "polygon and box rows mixed"),
    ("out of bounds", "coordinates > 1"),
    ("negative label", "negative coordinates"),
    ("non-integer class", "non-integer class"),
    ("columns", "wrong number of columns"),
    ("could not convert", "not numbers"),
    ("decode fully", "image truncated"),
    ("cannot identify image", "image unreadable"),
    ("<10 pixels", "image < 10 px"),
    ("Invalid image format", "image format"),
)


def _short_reason(reason: str) -> str:
    return next((short for key, short in _REASONS if key in reason), "corrupt")


@dataclass
class SplitCheck:
    """One split verified image by image: what is scored, what is skipped and why."""

    split: str
    listed: int  # images listed in the split (after any limit)
    labels: dict[Path, np.ndarray]  # the images scored, in order -> (n, 5) labels
    skipped: list[tuple[Path, str]] = field(default_factory=list)  # (image, reason)
    missing: int = 0  # label files missing (image scored as background)
    empty: int = 0  # label files empty (image scored as background)
    duplicates: int = 0  # duplicate rows removed
    polygon_files: int = 0  # label files holding polygons, read as their boxes

    @property
    def scored(self) -> int:
        return len(self.labels)

    @property
    def boxes(self) -> int:
        return int(sum(len(v) for v in self.labels.values()))

    def skipped_by_reason(self) -> dict[str, int]:
        out: dict[str, int] = {}
        for _, r in self.skipped:
            k = _short_reason(r)
            out[k] = out.get(k, 0) + 1
        return out

    def summary(self) -> str:
        """One line: scored / skipped and why, label files missing or empty, rows removed."""
        s = f"{self.split}: scored {self.scored} of {self.listed} images, {self.boxes} boxes"
        if self.skipped:
            why = ", ".join(f"{n} {k}" for k, n in self.skipped_by_reason().items())
            s += f"; skipped {len(self.skipped)} as Ultralytics does ({why})"
        else:
            s += "; skipped 0"
        extra = []
        if self.missing:
            extra.append(f"{self.missing} label file(s) missing")
        if self.empty:
            extra.append(f"{self.empty} empty")
        if self.missing or self.empty:
            extra[-1] += " (scored as background)"
        if self.duplicates:
            extra.append(f"{self.duplicates} duplicate row(s) removed")
        if self.polygon_files:
            extra.append(f"{self.polygon_files} polygon file(s) read as boxes")
        return s + ("; " + ", ".join(extra) if extra else "")

    def as_dict(self) -> dict:
        return {"split": self.split, "images_listed": self.listed, "images_scored": self.scored,
                "boxes": self.boxes, "images_skipped": len(self.skipped),
                "skipped_by_reason": self.skipped_by_reason(),
                "skipped": [{"image": str(p), "reason": r} for p, r in self.skipped],
                "label_files_missing": self.missing, "label_files_empty": self.empty,
                "duplicate_rows_removed": self.duplicates, "polygon_label_files": self.polygon_files,
                "summary": self.summary()}


def check_split(files: Sequence[Path], nc: int, split: str = "val", yaml_path: Path | None = None) -> SplitCheck:
    """Verify ``files`` (images) and their label files. Class indices of every file are checked first, so a
    bad one fails in one line before anything else is read."""
    pairs = [(Path(f), label_path(Path(f))) for f in files]
    for _, lab in pairs:
        check_class_indices(lab, nc)
    chk = SplitCheck(split, len(pairs), {})
    for img, lab in pairs:
        v = verify_sample(img, lab, nc)
        if v.labels is None:
            chk.skipped.append((img, v.reason))
            continue
        chk.labels[img] = v.labels
        chk.missing += v.status == "missing"
        chk.empty += v.status == "empty"
        chk.duplicates += v.duplicates
        chk.polygon_files += v.polygons
    if not chk.labels:
        first = chk.skipped[0] if chk.skipped else None
        raise DataError(
            f"dataset '{yaml_path}': all {len(pairs)} {split} images are skipped as corrupt"
            + (f" (first: '{first[0]}': {first[1]})" if first else "") + "; fix the images or their label files"
        )
    return chk


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
    """Read and check a detection data YAML (Ultralytics format). Raises :class:`DataError` with the fix.

    Every label file of the named splits is read once for its class indices (text only, no image decoded),
    so a class outside ``0..nc-1`` stops any command before its work; the full per-image verification
    (:meth:`DataSpec.check`) runs where labels are scored."""
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
        for f in resolved[split]:
            check_class_indices(label_path(f), len(names))
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
    checked = check_split(files[::step][: batches * batch_size], spec.nc, split, spec.yaml_path)
    chosen = list(checked.labels)  # the images Ultralytics' trainer would keep
    for start in range(0, len(chosen), batch_size):
        imgs, cls, boxes, idx = [], [], [], []
        for i, f in enumerate(chosen[start : start + batch_size]):
            im = read_image(f)
            x, (lb,) = preprocess([im], imgsz)
            imgs.append(x[0])
            lab = checked.labels[f]
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


# --------------------------------------------------------------------------- held-out train images
HOLDOUT_SPLIT = "holdout"


def check_holdout(n: int, n_train: int, yaml_path) -> None:
    """``holdout: n`` must leave at least half of the ``n_train`` train images to train on."""
    if not 0 < n <= n_train // 2:
        raise ConfigError(f"holdout {n}: dataset '{yaml_path}' has {n_train} train images; hold out at most half "
                          f"({n_train // 2}), e.g. 'holdout: {max(1, min(200, n_train // 5))}'")


def holdout_data(path: str | os.PathLike, n: int, directory: Path, seed: int = 0) -> Path:
    """A copy of the data YAML whose train split leaves out ``n`` train images, listed as split ``holdout``.

    A recipe's training stages then never see those images, and a ``quantize`` stage with ``max_drop`` measures
    its control mAP on them: images no stage of the recipe fit (train images read INT8's cost low after a
    fine-tune). The input model may have trained on them, and then they can still read it low (a YOLO26n cut:
    INT8 +0.2-0.3 on them, -0.5 to -0.8 on val; BENCHMARKS.md section 11). The draw is deterministic
    (``seed``), the list files hold absolute paths, the val split is the original one; written atomically into
    ``directory`` (the run folder)."""
    import yaml

    from .io import atomic_write_text

    spec = load_data(path, splits=("train", "val"))
    files = spec.images("train")
    check_holdout(n, len(files), spec.yaml_path)
    pick = set(np.random.default_rng(seed).permutation(len(files))[:n].tolist())
    held = [f for i, f in enumerate(files) if i in pick]
    kept = [f for i, f in enumerate(files) if i not in pick]
    directory = Path(directory)
    train_txt = atomic_write_text(directory / "train.txt", "".join(f"{f}\n" for f in kept))
    held_txt = atomic_write_text(directory / f"{HOLDOUT_SPLIT}.txt", "".join(f"{f}\n" for f in held))
    content = {"path": str(spec.root), "names": spec.names, "train": str(train_txt.resolve()),
               "val": str(spec.sources["val"]), HOLDOUT_SPLIT: str(held_txt.resolve()),
               "holdout_of": {"data": str(spec.yaml_path), "images": n, "seed": seed}}
    return atomic_write_text(directory / "data.yaml", yaml.safe_dump(content, sort_keys=False))
