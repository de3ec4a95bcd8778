"""``predict``: run any artifact (.pt, ONNX, OpenVINO, TorchScript, TFLite) on images, folders or video files and
draw its boxes, with the bench's own pre/post-processing (letterbox, Ultralytics NMS, un-letterbox), so
what a user sees is what the bench measured.

Outputs under ``out_dir``: one annotated image per input image (same name), one annotated ``.mp4`` per
video, and ``predictions.json`` (per image or frame: boxes in original pixels, confidence, class id and
name). Boxes are drawn with OpenCV's built-in font: nothing is downloaded (Ultralytics' annotator would
fetch a TrueType font).
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from .errors import ConfigError, InputError

IMAGE_SUFFIXES = {".jpg", ".jpeg", ".png", ".bmp", ".webp", ".tif", ".tiff"}
VIDEO_SUFFIXES = {".mp4", ".avi", ".mov", ".mkv", ".m4v", ".webm", ".mpg", ".mpeg", ".wmv"}


@dataclass(frozen=True)
class Detection:
    box: tuple[float, float, float, float]  # x1, y1, x2, y2 in original-image pixels, clipped to the image
    conf: float
    cls: int
    name: str


@dataclass
class PredictResult:
    artifact: Path
    runtime: str
    out_dir: Path
    frames: dict[str, list[Detection]] = field(default_factory=dict)  # "img.jpg" or "clip.mp4#17" -> boxes
    written: list[Path] = field(default_factory=list)

    @property
    def detections(self) -> int:
        return sum(len(v) for v in self.frames.values())

    def summary(self) -> str:
        return (f"{len(self.frames)} image(s)/frame(s), {self.detections} detection(s) with {self.artifact.name} "
                f"on {self.runtime}; written: {self.out_dir}")


def _sources(source: str | Path) -> list[Path]:
    p = Path(source).expanduser()
    if not p.exists():
        raise InputError(f"source '{source}' not found; pass an image, a folder of images or a video file")
    if p.is_dir():
        files = sorted(q for q in p.iterdir() if q.suffix.lower() in IMAGE_SUFFIXES | VIDEO_SUFFIXES)
        if not files:
            raise InputError(f"folder '{source}' has no images or videos "
                             f"({', '.join(sorted(IMAGE_SUFFIXES | VIDEO_SUFFIXES))}); pass another folder")
        return files
    if p.suffix.lower() not in IMAGE_SUFFIXES | VIDEO_SUFFIXES:
        raise InputError(f"source '{source}' is neither an image nor a video file; use one of "
                         f"{', '.join(sorted(IMAGE_SUFFIXES | VIDEO_SUFFIXES))}")
    return [p]


def _frames(path: Path) -> Iterator[tuple[np.ndarray, float]]:
    """BGR frames of a video and its FPS; a clear error when OpenCV cannot decode it."""
    import cv2

    cap = cv2.VideoCapture(str(path))
    ok, frame = cap.read() if cap.isOpened() else (False, None)
    if not ok:
        cap.release()
        raise InputError(f"video '{path}' cannot be decoded by OpenCV here; convert it to H.264 .mp4 or pass images")
    fps = cap.get(cv2.CAP_PROP_FPS) or 25.0
    try:
        while ok:
            yield frame, fps
            ok, frame = cap.read()
    finally:
        cap.release()


def _colour(cls: int) -> tuple[int, int, int]:
    palette = [(56, 56, 255), (151, 157, 255), (31, 112, 255), (29, 178, 255), (49, 210, 207), (10, 249, 72),
               (23, 204, 146), (134, 219, 61), (52, 147, 26), (187, 212, 0), (168, 153, 44), (255, 194, 0)]
    return palette[cls % len(palette)]


def draw(image: np.ndarray, dets: list[Detection]) -> np.ndarray:
    """A copy of ``image`` (BGR) with boxes and 'name conf' labels."""
    import cv2

    out = image.copy()
    lw = max(1, round(sum(image.shape[:2]) / 2 * 0.003))
    for d in dets:
        x1, y1, x2, y2 = (round(v) for v in d.box)
        c = _colour(d.cls)
        cv2.rectangle(out, (x1, y1), (x2, y2), c, lw, cv2.LINE_AA)
        label = f"{d.name} {d.conf:.2f}"
        scale = lw / 3
        (tw, th), base = cv2.getTextSize(label, cv2.FONT_HERSHEY_SIMPLEX, scale, max(1, lw - 1))
        top = y1 - th - base - 2 if y1 - th - base - 2 >= 0 else y1
        cv2.rectangle(out, (x1, top), (x1 + tw + 2, top + th + base + 2), c, -1, cv2.LINE_AA)
        cv2.putText(out, label, (x1 + 1, top + th + 1), cv2.FONT_HERSHEY_SIMPLEX, scale, (255, 255, 255),
                    max(1, lw - 1), cv2.LINE_AA)
    return out


def _detections(raw_dets: np.ndarray, shape: tuple[int, ...], names: dict[int, str]) -> list[Detection]:
    h, w = shape[:2]
    out = []
    for x1, y1, x2, y2, conf, cls in raw_dets:
        box = (float(np.clip(x1, 0, w)), float(np.clip(y1, 0, h)), float(np.clip(x2, 0, w)), float(np.clip(y2, 0, h)))
        out.append(Detection(box, float(conf), int(cls), names.get(int(cls), str(int(cls)))))
    return out


def _check_outputs(out: Path, files: list[Path], artifact: Path, save: bool) -> None:
    """Refuse, before any work, an ``--out`` where a file to be written is an input (``--out`` set to the
    source folder would replace the original images with their annotated copies)."""
    import os

    def ident(p: Path):  # a hard link or a symlink to an input is the input
        try:
            st = os.stat(p)
            return st.st_dev, st.st_ino
        except OSError:
            return p.resolve()

    inputs = {ident(p): p for p in [*files, artifact]}
    planned = [out / "predictions.json"]
    if save:
        planned += [out / (f.name if f.suffix.lower() in IMAGE_SUFFIXES else f"{f.stem}.mp4") for f in files]
    for dst in planned:
        src = inputs.get(ident(dst))
        if src is not None:
            raise InputError(f"--out '{out}' holds the input '{src}', which '{dst.name}' would overwrite; pass "
                             f"another --out folder (inputs are never overwritten)")


def predict(
    artifact: str | Path,
    source: str | Path,
    out_dir: str | Path | None = None,
    conf: float = 0.25,
    iou: float = 0.7,
    imgsz: int | None = None,
    runtime: str = "auto",
    threads: int | None = None,
    save: bool = True,
    console=None,
) -> PredictResult:
    """Detect objects in ``source`` (image, folder or video) with ``artifact``; write annotated copies and
    ``predictions.json`` to ``out_dir`` (default ``runs/predict-<time>``, made once the inputs are checked;
    with ``save=False`` only the JSON is written)."""
    import cv2

    from .runtime.evaluator import postprocess
    from .runtime.runtimes import make_runner, resolve_runtime
    from .data import preprocess, read_image
    from .runtime.artifact import inspect_artifact
    from .io import atomic_write_text
    from .progress import progress_bar

    if not 0 <= conf < 1:
        raise ConfigError(f"--conf {conf} is outside [0, 1); e.g. 0.25")
    if not 0 < iou <= 1:
        raise ConfigError(f"--iou {iou} is outside (0, 1]; e.g. 0.7")
    files = _sources(source)
    if out_dir is not None:
        _check_outputs(Path(out_dir), files, Path(artifact), save)
    for v in (f for f in files if f.suffix.lower() in VIDEO_SUFFIXES):  # fail before any output is written
        next(_frames(v))
    art = inspect_artifact(artifact)
    rt = resolve_runtime(art, runtime)
    size = imgsz or art.imgsz
    if size is None:
        raise ConfigError(f"'{artifact}' does not record its input size; pass --imgsz")
    if art.format != "pytorch" and art.imgsz and imgsz and imgsz != art.imgsz:  # exports have a fixed input size
        raise ConfigError(f"'{artifact}' was exported at imgsz {art.imgsz}; pass --imgsz {art.imgsz} or re-export")
    runner = make_runner(art, rt, threads)
    names = dict(art.names) or {}
    if out_dir is None:
        from .io import new_run_dir

        out = new_run_dir(Path("runs"), "predict")
    else:
        out = Path(out_dir)
        out.mkdir(parents=True, exist_ok=True)
    res = PredictResult(Path(artifact), rt, out)

    def infer(img: np.ndarray) -> list[Detection]:
        x, lbs = preprocess([img], size)
        return _detections(postprocess(runner(x), lbs, art.end2end, conf=conf, iou=iou)[0], img.shape, names)

    images = [f for f in files if f.suffix.lower() in IMAGE_SUFFIXES]
    videos = [f for f in files if f.suffix.lower() in VIDEO_SUFFIXES]
    with progress_bar("predict (images)", len(images), console) as wrap:
        for f in wrap(images):
            img = read_image(f)
            dets = infer(img)
            res.frames[f.name] = dets
            if save:
                dst = out / f.name
                tmp = dst.with_name(f".{dst.name}.partial{dst.suffix}")
                cv2.imwrite(str(tmp), draw(img, dets))
                tmp.replace(dst)
                res.written.append(dst)
    for v in videos:
        dst = out / f"{v.stem}.mp4"
        tmp = dst.with_name(f".{dst.stem}.partial.mp4")
        writer = None
        total = int(cv2.VideoCapture(str(v)).get(cv2.CAP_PROP_FRAME_COUNT)) or 0
        try:
            with progress_bar(f"predict ({v.name})", total, console) as wrap:
                for i, (frame, fps) in enumerate(wrap(_frames(v))):
                    dets = infer(frame)
                    res.frames[f"{v.name}#{i}"] = dets
                    if save:
                        if writer is None:
                            h, w = frame.shape[:2]
                            writer = cv2.VideoWriter(str(tmp), cv2.VideoWriter_fourcc(*"mp4v"), fps, (w, h))
                        writer.write(draw(frame, dets))
        finally:
            if writer is not None:
                writer.release()
        if save and tmp.exists():
            tmp.replace(dst)
            res.written.append(dst)
    payload = {"artifact": str(artifact), "runtime": rt, "imgsz": size, "conf": conf, "iou": iou,
               "frames": {k: [{"box": list(d.box), "conf": d.conf, "cls": d.cls, "name": d.name} for d in v]
                          for k, v in res.frames.items()}}
    atomic_write_text(out / "predictions.json", json.dumps(payload, indent=1))
    return res
