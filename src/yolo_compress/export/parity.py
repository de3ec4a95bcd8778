"""Parity check: does an artifact reproduce the PyTorch model it came from?

Both run on the same pre-processed images. Reported: max and mean |artifact - torch| over the raw head
output, and the share of the reference's top detections (per image, after the shared NMS with no
confidence floor, so it also works for untrained models) that the artifact reproduces: a box of the same
class with IoU > 0.9 and at least half the reference's score among the artifact's candidates *before*
NMS (so a tie broken differently by NMS is not counted as a difference; untrained models are full of
ties). Each reference detection counts with its score: the 50 per image of a trained model run down to
scores near zero, and INT8 moves those faint boxes most (LiteRT static INT8 of a 115-epoch YOLOv8n matched
72% of them by count but 93% by score, at -0.6 point of mAP50-95); a lost confident box weighs what it
should. For an untrained model, whose scores are all alike, this is the plain count. A check fails when
the score-weighted share is below, or the difference above, the precision's tolerance.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, replace
from pathlib import Path
from typing import Sequence

import numpy as np

from ..config import ParityConfig
from ..data import preprocess
from ..errors import ParityError
from ..runtime.artifact import Artifact


@dataclass(frozen=True)
class ParityReport:
    artifact: str
    reference: str
    runtime: str
    precision: str
    images: int
    max_abs_diff: float
    mean_abs_diff: float
    reference_detections: int
    matched: int
    match_share: float
    score_share: float  # the matched detections' share of the reference's summed scores: what must reach min_match
    min_match: float
    max_abs_diff_allowed: float
    passed: bool

    def as_dict(self) -> dict:
        return asdict(self)

    def summary(self) -> str:
        verdict = "PASSED" if self.passed else "FAILED"
        return (
            f"parity {verdict}: {self.matched}/{self.reference_detections} detections matched ({self.match_share:.1%}), "
            f"{self.score_share:.1%} weighted by score (need >= {self.min_match:.0%}), max |diff| {self.max_abs_diff:.4g} "
            f"(allowed {self.max_abs_diff_allowed:g}), mean |diff| {self.mean_abs_diff:.3g} on {self.images} images "
            f"[{self.runtime}, {self.precision}]"
        )


def _top_dets(raw: np.ndarray, end2end: bool, k: int | None) -> list[np.ndarray]:
    from ..runtime.evaluator import postprocess
    from ..data import Letterbox

    ident = [Letterbox(1.0, (0, 0), (0, 0))] * raw.shape[0]
    dets = postprocess(raw, ident, end2end, conf=0.0)
    return [d[:k] if k else d for d in dets]  # NMS output is sorted by confidence


def _candidates(raw: np.ndarray, end2end: bool) -> tuple[np.ndarray, np.ndarray]:
    """Per-anchor boxes (A, 4) xyxy and class scores (A, nc) of one image, before NMS."""
    if end2end:  # (300, 6): x1 y1 x2 y2 score cls -> one-hot scores
        d = raw[0]
        scores = np.zeros((len(d), int(d[:, 5].max()) + 1 if len(d) else 1), dtype=np.float32)
        scores[np.arange(len(d)), d[:, 5].astype(int)] = d[:, 4]
        return d[:, :4], scores
    p = raw[0].T  # (A, 4 + nc): cx cy w h, scores
    xy, wh = p[:, :2], p[:, 2:4] / 2
    return np.concatenate([xy - wh, xy + wh], 1), p[:, 4:]


def check_parity(artifact: Artifact, reference, images: Sequence[np.ndarray], imgsz: int,
                 config: ParityConfig = ParityConfig(), runtime: str = "auto", threads: int | None = None) -> ParityReport:
    """Compare ``artifact`` with ``reference`` (a .pt path or an Ultralytics model) on ``images``."""
    from ..runtime.evaluator import box_iou
    from ..runtime.runtimes import TorchRunner, make_runner
    from ..runtime.artifact import inspect_artifact

    ref_art = inspect_artifact(reference) if isinstance(reference, (str, Path)) else reference
    # the reference runs the branch the artifact was exported from: NMS-free or one-to-many (ExportConfig.nms_free)
    ref = TorchRunner(replace(ref_art, end2end=artifact.end2end) if ref_art.format == "pytorch" else ref_art, threads)
    run = make_runner(artifact, runtime, threads)
    min_match, max_diff_allowed = config.thresholds(artifact.precision)
    max_diff, diffs, n_ref, n_match, w_ref, w_match = 0.0, [], 0, 0, 0.0, 0.0
    for im in images[: config.images]:
        x, _ = preprocess([im], imgsz)
        a, b = ref(x), run(x)
        if a.shape != b.shape:
            raise ParityError(
                f"artifact '{artifact.path}' outputs shape {tuple(b.shape)}, the model {tuple(a.shape)}: it is not an "
                f"export of this model (or of this imgsz); re-export it"
            )
        if artifact.end2end:  # (1, k, 6) after top-k: near-tied scores of the tail swap rows between runtimes (a
            # row-wise diff reads hundreds of pixels there), so compare the sorted scores; boxes are matched below
            d = np.abs(np.sort(a[..., 4], -1) - np.sort(b[..., 4], -1))
        else:
            d = np.abs(a - b)
        max_diff = max(max_diff, float(np.nan_to_num(d, nan=np.inf).max()))
        diffs.append(float(d.mean()))
        ra = _top_dets(a, artifact.end2end, config.top_k)[0]
        boxes, scores = _candidates(b, artifact.end2end)
        n_ref += len(ra)
        if len(ra) and len(boxes):
            iou = box_iou(ra[:, :4], boxes)  # (ref, anchors)
            cls = ra[:, 5].astype(int)
            cls_ok = cls < scores.shape[1]
            s = scores[:, np.minimum(cls, scores.shape[1] - 1)].T  # (ref, anchors): score of the ref's class
            ok = (iou > config.iou) & (s >= 0.5 * ra[:, 4:5]) & cls_ok[:, None]
            hit = ok.any(1)
            n_match += int(hit.sum())
            w_match += float(ra[hit, 4].sum())
        w_ref += float(ra[:, 4].sum())
    share = n_match / n_ref if n_ref else 1.0
    wshare = w_match / w_ref if w_ref > 0 else share
    passed = wshare >= min_match and max_diff <= max_diff_allowed
    return ParityReport(
        artifact=str(artifact.path), reference=str(ref_art.path), runtime=run.name, precision=artifact.precision,
        images=min(len(images), config.images), max_abs_diff=max_diff, mean_abs_diff=float(np.mean(diffs)),
        reference_detections=n_ref, matched=n_match, match_share=share, score_share=wshare, min_match=min_match,
        max_abs_diff_allowed=max_diff_allowed, passed=passed,
    )


def raise_if_failed(report: ParityReport) -> ParityReport:
    if not report.passed:
        raise ParityError(f"'{report.artifact}' {report.summary()}", report)
    return report


def write_report(report: ParityReport, path: Path) -> Path:
    from ..io import atomic_write_text

    return atomic_write_text(path, json.dumps(report.as_dict(), indent=2))
