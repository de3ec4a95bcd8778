"""Where does recovery start? mAP50-95 of pruned checkpoints *before* any training, as cut and after
re-estimating their BatchNorm statistics on train images (no gradient step): is a 50% cut a trim that BN
recalibration repairs, or a re-training? And how fast does a cut of the input destroy it (``--input`` with
``--ratios``: uniform per-layer channel ratios, ``--round-to 1``, scored as cut)?

    YOLO_OFFLINE=1 .venv/bin/python benchmarks/pruned_start.py --input src/yolo_compress/assets/yolov8n-garbage320-200ep.pt \\
        --ratios 0.02,0.05,0.1 --criteria l2,random
    # which part of the network is sensitive: the same cut with the head, or the backbone (layers 0-9), kept whole
    YOLO_OFFLINE=1 .venv/bin/python benchmarks/pruned_start.py --input src/yolo_compress/assets/yolov8n-garbage320-200ep.pt \\
        --ratios 0.05 --criteria none --ignore-sets "model.22;model.0,model.1,model.2,model.3,model.4,model.5,model.6,model.7,model.8,model.9"
    YOLO_OFFLINE=1 .venv/bin/python benchmarks/pruned_start.py \\
        benchmarks/results/recovery-yolov8n-garbage320-200ep-0.50-20ep/pruned-criteriontaylor.pt \\
        benchmarks/results/recovery-yolov8n-garbage320-200ep-0.50-20ep/pruned-l2.pt

Our evaluator (one preprocessing path, batch 1) on the val split; recalibration: BN running statistics reset
and averaged over ``--batches`` batches of 16 train images (letterboxed, no augmentation).
"""

from __future__ import annotations

import argparse
import copy
import os
import sys
from pathlib import Path

os.environ.setdefault("YOLO_OFFLINE", "1")
REPO = Path(__file__).resolve().parents[1]


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("models", nargs="*", type=Path)
    ap.add_argument("--input", type=Path, help="an unpruned checkpoint to cut at --ratios and score as cut")
    ap.add_argument("--ratios", default="0.02,0.05,0.1")
    ap.add_argument("--criteria", default="l2,random")
    ap.add_argument("--ignore-sets", default="", help="';'-separated sets of layers kept whole, each cut at every "
                    "ratio with L2, e.g. 'model.22;model.0,model.1,...' (the head; the backbone)")
    ap.add_argument("--data", type=Path, default=REPO.parent / "shared/datasets/garbage-320/data.yaml")
    ap.add_argument("--imgsz", type=int, default=320)
    ap.add_argument("--batches", type=int, default=16)
    a = ap.parse_args()

    import torch

    from yolo_compress.data import load_data, loss_batches
    from yolo_compress.models import load_model
    from yolo_compress.runtime.evaluator import evaluate

    spec = load_data(a.data, ("train", "val"))

    def score(m) -> float:
        mm = copy.deepcopy(m).float().fuse().eval()

        def run(x):
            with torch.inference_mode():
                y = mm(torch.from_numpy(x))
            return (y[0] if isinstance(y, (list, tuple)) else y).numpy()

        return evaluate(run, spec, a.imgsz).map50_95

    if a.input:
        from yolo_compress.config import PruneConfig
        from yolo_compress.prune import prune

        y = load_model(a.input)
        print(f"{a.input.name}: as trained {score(y.model):.4f}", flush=True)
        cuts = [(c, ()) for c in a.criteria.split(",") if c != "none"]
        cuts += [("l2", tuple(x.split(","))) for x in a.ignore_sets.split(";") if x]
        for crit, ignore in cuts:
            for r in (float(v) for v in a.ratios.split(",")):
                res = prune(y, PruneConfig(ratio=r, round_to=1, imgsz=a.imgsz, criterion=crit, ignore=ignore))
                kept = f", kept whole: {ignore[0]}..{ignore[-1]}" if ignore else ""
                print(f"  {crit} ratio {r:.2f} (round-to 1{kept}): {res.flops_kept:.1%} of the GFLOPs, as cut "
                      f"{score(res.model.model):.4f}", flush=True)
    for p in a.models:
        m = load_model(p).model
        before = score(m)
        for mod in m.modules():
            if isinstance(mod, torch.nn.BatchNorm2d):
                mod.reset_running_stats()
                mod.momentum = None  # a cumulative average over the batches
        m.train()
        with torch.no_grad():
            for b in loss_batches(spec, a.imgsz, a.batches, 16, "train"):
                m(b["img"])
        print(f"{p.name}: as cut {before:.4f}, BN recalibrated on {a.batches * 16} train images {score(m):.4f}",
              flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
