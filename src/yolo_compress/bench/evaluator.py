"""The one evaluator: same NMS and metrics for every runtime, plus a COCO-standard cross-check.

* NMS: Ultralytics' ``non_max_suppression`` (conf 0.001, IoU 0.7, max_det 300, multi-label), the
  settings of ``YOLO.val()``; NMS-free (end2end) heads are only filtered by confidence.
* mAP50 / mAP50-95: Ultralytics' matching and ``ap_per_class`` (the numbers ``YOLO.val()`` prints).
* Cross-check: faster-coco-eval (pycocotools-compatible COCO protocol, 101-point interpolation) on the
  same predictions, so a reader can compare with COCO-style numbers from elsewhere.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Callable, Iterable

import numpy as np

from ..data import DataSpec, Letterbox, preprocess

CONF, IOU, MAX_DET = 0.001, 0.7, 300


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
        c50, c = self._coco() if coco else (float("nan"), float("nan"))
        return EvalResult(len(self.coco_images), int(len(stats["target_cls"])), p, r, m50, m, c50, c)

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


def evaluate(
    runner: Callable[[np.ndarray], np.ndarray],
    data: DataSpec,
    imgsz: int,
    end2end: bool = False,
    split: str = "val",
    limit: int | None = None,
    progress: Callable[[Iterable], Iterable] | None = None,
) -> EvalResult:
    """mAP of ``runner`` on a dataset split, batch 1, the one pre/post-processing path."""
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
