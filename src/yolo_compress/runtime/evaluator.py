"""The one evaluator: same NMS and metrics for every runtime, plus a COCO-standard cross-check.

* NMS: Ultralytics' ``non_max_suppression`` (conf 0.001, IoU 0.7, max_det 300, multi-label), the
  settings of ``YOLO.val()``; NMS-free (end2end) heads are only filtered by confidence.
* mAP50 / mAP50-95: Ultralytics' matching and ``ap_per_class`` (the numbers ``YOLO.val()`` prints).
* Cross-check: faster-coco-eval (pycocotools-compatible COCO protocol, 101-point interpolation) on the
  same predictions, so a reader can compare with COCO-style numbers from elsewhere.
* Ground truth: the data adapter's verified labels (Ultralytics' own ``verify_image_label`` rules), so the
  images scored are the ones ``YOLO.val()`` scores. :func:`ultralytics_val` runs ``YOLO.val()`` itself on
  the same artifact and images (``bench --crosscheck``); :func:`crosscheck` fails when the two disagree.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Callable, Iterable

import numpy as np

from ..data import DataSpec, Letterbox, preprocess
from ..errors import CrosscheckError, DataError, UnsupportedError

CONF, IOU, MAX_DET = 0.001, 0.7, 300
CROSSCHECK_TOL = 0.002  # |ours - Ultralytics val()| allowed on mAP50 and on mAP50-95


@dataclass(frozen=True)
class EvalResult:
    images: int
    instances: int
    precision: float
    recall: float
    map50: float
    map50_95: float
    coco_map50: float
    coco_map50_95: float
    # class name -> {"instances", "ap50", "ap50_95"} for the classes with ground truth (the report's table)
    per_class: dict | None = None

    def as_dict(self) -> dict:
        return asdict(self)


def postprocess(
    raw: np.ndarray, boxes: list[Letterbox], end2end: bool, conf: float = CONF, iou: float = IOU, max_det: int = MAX_DET
) -> list[np.ndarray]:
    """Raw head output -> per image (n, 6) [x1, y1, x2, y2, conf, cls] in original-image pixels.

    Boxes are not clipped to the image (as in ``YOLO.val()``'s matching); the COCO cross-check clips."""
    import torch
    from ultralytics.utils import nms

    out = nms.non_max_suppression(
        torch.from_numpy(np.ascontiguousarray(raw)), conf, iou, multi_label=True, max_det=max_det, end2end=end2end
    )
    dets = []
    for d, lb in zip(out, boxes):
        d = d[:, :6].numpy().astype(np.float64)
        d[:, [0, 2]] = (d[:, [0, 2]] - lb.pad[0]) / lb.gain
        d[:, [1, 3]] = (d[:, [1, 3]] - lb.pad[1]) / lb.gain
        dets.append(d)
    return dets


def labels_to_xyxy(labels: np.ndarray, shape: tuple[int, int]) -> np.ndarray:
    h, w = shape
    xyxy = np.empty((len(labels), 4), dtype=np.float64)
    xyxy[:, 0] = (labels[:, 1] - labels[:, 3] / 2) * w
    xyxy[:, 1] = (labels[:, 2] - labels[:, 4] / 2) * h
    xyxy[:, 2] = (labels[:, 1] + labels[:, 3] / 2) * w
    xyxy[:, 3] = (labels[:, 2] + labels[:, 4] / 2) * h
    return xyxy


def box_iou(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """IoU matrix between (N,4) and (M,4) xyxy boxes."""
    tl = np.maximum(a[:, None, :2], b[None, :, :2])
    br = np.minimum(a[:, None, 2:4], b[None, :, 2:4])
    inter = np.prod(np.clip(br - tl, 0, None), axis=2)
    area_a = np.prod(a[:, 2:4] - a[:, :2], axis=1)
    area_b = np.prod(b[:, 2:4] - b[:, :2], axis=1)
    return inter / (area_a[:, None] + area_b[None, :] - inter + 1e-9)


class _Matcher:
    """Ultralytics' greedy matching at IoU 0.50:0.95, borrowed from its validator (one place to update)."""

    def __init__(self):
        import torch

        self.iouv = torch.linspace(0.5, 0.95, 10)

    def __call__(self, pred_cls: np.ndarray, true_cls: np.ndarray, iou: np.ndarray) -> np.ndarray:
        import torch
        from ultralytics.engine.validator import BaseValidator

        if len(pred_cls) == 0 or len(true_cls) == 0:
            return np.zeros((len(pred_cls), 10), dtype=bool)
        return BaseValidator.match_predictions(
            self, torch.from_numpy(pred_cls), torch.from_numpy(true_cls), torch.from_numpy(iou)
        ).numpy()


class Accumulator:
    """Collects predictions and targets image by image; computes both metric families at the end."""

    def __init__(self, names: dict[int, str]):
        self.names = names
        self.match = _Matcher()
        self.stats: dict[str, list] = {"tp": [], "conf": [], "pred_cls": [], "target_cls": [], "target_img": []}
        self.coco_images: list[dict] = []
        self.coco_gt: list[dict] = []
        self.coco_dt: list[dict] = []

    def add(self, dets: np.ndarray, labels: np.ndarray, shape: tuple[int, int]) -> None:
        img_id = len(self.coco_images) + 1
        h, w = shape
        self.coco_images.append({"id": img_id, "width": int(w), "height": int(h)})
        gt = labels_to_xyxy(labels, shape)
        tcls = labels[:, 0].astype(np.int64)
        for b, c in zip(gt, tcls):
            bw, bh = b[2] - b[0], b[3] - b[1]
            self.coco_gt.append(
                {"id": len(self.coco_gt) + 1, "image_id": img_id, "category_id": int(c) + 1,
                 "bbox": [float(b[0]), float(b[1]), float(bw), float(bh)], "area": float(bw * bh), "iscrowd": 0}
            )
        pcls = dets[:, 5].astype(np.int64)
        clipped = dets.copy()
        clipped[:, [0, 2]] = clipped[:, [0, 2]].clip(0, w)
        clipped[:, [1, 3]] = clipped[:, [1, 3]].clip(0, h)
        for d in clipped:
            self.coco_dt.append(
                {"image_id": img_id, "category_id": int(d[5]) + 1, "score": float(d[4]),
                 "bbox": [float(d[0]), float(d[1]), float(d[2] - d[0]), float(d[3] - d[1])]}
            )
        iou = box_iou(gt, dets[:, :4]) if len(gt) and len(dets) else np.zeros((len(gt), len(dets)))
        self.stats["tp"].append(self.match(pcls, tcls, iou))
        self.stats["conf"].append(dets[:, 4])
        self.stats["pred_cls"].append(pcls)
        self.stats["target_cls"].append(tcls)
        self.stats["target_img"].append(np.unique(tcls))

    def result(self, coco: bool = True) -> EvalResult:
        from ultralytics.utils.metrics import DetMetrics

        metrics = DetMetrics(names=self.names)
        stats = {k: np.concatenate(v, 0) if v else np.zeros(0) for k, v in self.stats.items()}
        if len(stats["target_cls"]) == 0:
            p = r = m50 = m = 0.0
        else:
            for k in metrics.stats:
                metrics.stats[k] = [stats[k]]
            metrics.process()
            p, r, m50, m = (float(v) for v in metrics.mean_results())
        per_class = {}
        if len(stats["target_cls"]):
            counts = np.bincount(stats["target_cls"].astype(np.int64))
            for i, c in enumerate(metrics.box.ap_class_index):  # Ultralytics' ap_per_class, class by class
                per_class[self.names.get(int(c), str(int(c)))] = {
                    "instances": int(counts[int(c)]), "ap50": float(metrics.box.all_ap[i, 0]),
                    "ap50_95": float(metrics.box.all_ap[i].mean())}
        c50, c = self._coco() if coco else (float("nan"), float("nan"))
        return EvalResult(len(self.coco_images), int(len(stats["target_cls"])), p, r, m50, m, c50, c, per_class)

    def _coco(self) -> tuple[float, float]:
        if not self.coco_gt or not self.coco_dt:
            return 0.0, 0.0
        from faster_coco_eval import COCO, COCOeval_faster

        gt = COCO()
        gt.dataset = {
            "images": self.coco_images,
            "annotations": self.coco_gt,
            "categories": [{"id": int(i) + 1, "name": n} for i, n in self.names.items()],
        }
        gt.createIndex()
        dt = gt.loadRes(self.coco_dt)
        ev = COCOeval_faster(gt, dt, iouType="bbox", print_function=lambda *a, **k: None)
        ev.evaluate()
        ev.accumulate()
        ev.summarize()
        return float(ev.stats[1]), float(ev.stats[0])


def checked_split(data: DataSpec, split: str = "val", limit: int | None = None):
    """The split as it will be scored (:meth:`DataSpec.check`); a split without a single box is a
    :class:`DataError`, not a silent 0.0 mAP. Cached: call it first, before any work."""
    chk = data.check(split, limit)
    if chk.boxes == 0:
        raise DataError(
            f"dataset '{data.yaml_path}': none of the {chk.scored} scored {split} images has a box "
            f"({chk.missing} label files missing, {chk.empty} empty); mAP would read 0.0 -- put YOLO label "
            f"files in the 'labels' folder beside 'images'"
        )
    return chk


def evaluate(
    runner: Callable[[np.ndarray], np.ndarray],
    data: DataSpec,
    imgsz: int,
    end2end: bool = False,
    split: str = "val",
    limit: int | None = None,
    progress: Callable[[Iterable], Iterable] | None = None,
) -> EvalResult:
    """mAP of ``runner`` on a dataset split, batch 1, the one pre/post-processing path.

    Scores the images Ultralytics' val would score (``data.check``); a split without a single box is a
    :class:`DataError`, not a silent 0.0."""
    checked_split(data, split, limit)
    samples = data.samples(split, limit)
    if progress is not None:
        samples = progress(samples)
    return evaluate_samples(runner, samples, data.names, imgsz, end2end)


def evaluate_samples(runner: Callable[[np.ndarray], np.ndarray], samples: Iterable, names: dict[int, str], imgsz: int,
                     end2end: bool = False, coco: bool = True) -> EvalResult:
    """mAP of ``runner`` on given samples (e.g. held-out train images for accuracy-aware quantization)."""
    acc = Accumulator(names)
    for s in samples:
        x, lbs = preprocess([s.image], imgsz)
        dets = postprocess(runner(x), lbs, end2end)[0]
        acc.add(dets, s.labels, s.shape)
    return acc.result(coco)


@dataclass(frozen=True)
class ValResult:
    """What Ultralytics' own ``YOLO.val()`` reads on an artifact."""

    images: int  # images scored (Ultralytics' ``seen``)
    instances: int
    map50: float
    map50_95: float

    def as_dict(self) -> dict:
        return asdict(self)


def ultralytics_val(artifact: str | Path, data: DataSpec, imgsz: int, split: str = "val", limit: int | None = None,
                    workdir: Path | None = None) -> ValResult:
    """``YOLO(artifact).val()`` on exactly the images we list for ``split`` (a list file in a temp folder),
    with our NMS settings, square letterbox (rect=False, as fixed-shape exports need), batch 1, CPU, no
    plots. Ultralytics writes its label ``.cache`` beside the labels, as any ``yolo val`` does."""
    import tempfile

    import yaml
    from ultralytics import YOLO

    from ..errors import YoloCompressError
    from ..models import load_model

    seen: dict = {}

    def grab(validator) -> None:
        seen["images"] = int(validator.seen)
        nt = validator.metrics.nt_per_class
        seen["instances"] = 0 if nt is None else int(np.sum(nt))

    with tempfile.TemporaryDirectory(prefix="yc-crosscheck-", dir=workdir) as tmp:
        t = Path(tmp)
        lst = t / f"{split}.txt"
        lst.write_text("".join(f"{f}\n" for f in data.images(split, limit)))
        y = t / "data.yaml"
        y.write_text(yaml.safe_dump({"path": str(t), "train": str(lst), "val": str(lst), "names": data.names},
                                    sort_keys=False))
        try:
            # a .pt through our loader (weights-only unless trusted); exports as Ultralytics opens them
            model = load_model(artifact) if Path(artifact).suffix == ".pt" else YOLO(str(artifact), task="detect")
        except YoloCompressError:
            raise
        except Exception as e:  # noqa: BLE001 - Ultralytics' own loader decides what it can run
            raise UnsupportedError(f"--crosscheck: Ultralytics cannot load '{artifact}' ({str(e).splitlines()[0]}); "
                                   "cross-check the .pt or ONNX export instead") from None
        model.add_callback("on_val_end", grab)
        try:
            m = model.val(data=str(y), split="val", imgsz=imgsz, batch=1, conf=CONF, iou=IOU, max_det=MAX_DET,
                          rect=False, half=False, device="cpu", workers=0, plots=False, save_json=False,
                          verbose=False, project=str(t), name="val", exist_ok=True)
        except Exception as e:  # noqa: BLE001 - its failure is not our evaluator's; say whose it is
            msg = str(e).strip().splitlines()[0] if str(e).strip() else type(e).__name__
            raise UnsupportedError(f"--crosscheck: Ultralytics val() failed on '{artifact}' ({msg}); cross-check the "
                                   ".pt or ONNX export instead") from None
    return ValResult(seen.get("images", -1), seen.get("instances", -1), float(m.box.map50), float(m.box.map))


def crosscheck(name: str, ours: EvalResult, theirs: ValResult, tol: float = CROSSCHECK_TOL) -> None:
    """Raise :class:`CrosscheckError` (one line, both numbers) when ours and Ultralytics' differ."""
    d50, d = abs(ours.map50 - theirs.map50), abs(ours.map50_95 - theirs.map50_95)
    if d50 > tol or d > tol or ours.images != theirs.images:
        raise CrosscheckError(
            f"crosscheck failed for '{name}': ours mAP50 {ours.map50:.4f} mAP50-95 {ours.map50_95:.4f} on "
            f"{ours.images} images, Ultralytics val() {theirs.map50:.4f} / {theirs.map50_95:.4f} on "
            f"{theirs.images} images (allowed difference {tol}); report it with the dataset, or bench without "
            f"--crosscheck"
        )
