"""Pruning + recovery on the reference YOLOv8n (garbage-320): prune to a GFLOPs target, fine-tune N
epochs, and fine-tune the *unpruned* input model for the same N epochs as the fair baseline (the
reference model is not converged: extra epochs alone raise mAP). Then one bench run over all of them
(mAP through the one evaluator, ONNX Runtime latency ratios from the same run).

    YOLO_OFFLINE=1 .venv/bin/python benchmarks/prune_recovery.py --criterion l2 --target-flops 0.5 --epochs 8

Resumable: re-running the same command continues interrupted fine-tunes and skips finished ones.
Outputs under --out: pruned.pt, ft-pruned/, ft-baseline/, onnx exports, bench.md / bench.json.
"""

from __future__ import annotations

import argparse
import os
from pathlib import Path

from _common import bench_rows, trained
from yolo_compress.api import PruneConfig, prune_checkpoint
from yolo_compress.train import FinetuneConfig


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--model", type=Path, default=Path("../shared/models/yolov8n-garbage320.pt"))
    ap.add_argument("--data", type=Path, default=Path("../shared/datasets/garbage-320/data.yaml"))
    ap.add_argument("--criterion", default="l2")
    ap.add_argument("--target-flops", type=float, default=0.5)
    ap.add_argument("--global", dest="global_pruning", action="store_true")
    ap.add_argument("--epochs", type=int, default=8)
    ap.add_argument("--lr0", type=float, default=FinetuneConfig.lr0)
    ap.add_argument("--imgsz", type=int, default=320)
    ap.add_argument("--skip-baseline", action="store_true")
    ap.add_argument("--ft", action="append", default=[], metavar="KEY=VALUE",
                    help="another FinetuneConfig field for both trainings, e.g. --ft mosaic=0 --ft bn_freeze_epochs=1")
    ap.add_argument("--skip-bench", action="store_true", help="train only (Ultralytics val in results.csv)")
    ap.add_argument("--out", type=Path, default=None)
    a = ap.parse_args()
    lr = "" if a.lr0 == FinetuneConfig.lr0 else f"-lr{a.lr0:g}"
    import yaml

    over = {k: yaml.safe_load(v) for k, v in (kv.split("=", 1) for kv in a.ft)}
    lr += "".join(f"-{k}{v}" for k, v in over.items())
    alloc = "-global" if a.global_pruning else ""
    out = a.out or Path(f"benchmarks/results/prune-{a.criterion}{alloc}-{a.target_flops:.2f}-{a.epochs}ep{lr}")
    out.mkdir(parents=True, exist_ok=True)

    pruned = out / "pruned.pt"
    if not pruned.exists():
        res, _ = prune_checkpoint(a.model, PruneConfig(target_flops=a.target_flops, criterion=a.criterion,
                                                       global_pruning=a.global_pruning, imgsz=a.imgsz), pruned)
        (out / "prune.txt").write_text(res.summary() + "\n")
    ft = FinetuneConfig(epochs=a.epochs, imgsz=a.imgsz, batch=16, workers=2, lr0=a.lr0, **over)
    rows = [(a.model, "input (reference YOLOv8n)"), (pruned, f"pruned {a.criterion} (no fine-tune)")]
    rows.append((trained(pruned, a.data, ft, out / "ft-pruned"), f"pruned + {a.epochs} ep fine-tune"))
    if not a.skip_baseline:
        rows.append((trained(a.model, a.data, ft, out / "ft-baseline"),
                     f"input + same {a.epochs} ep (baseline)"))
    if not a.skip_bench:
        bench_rows(rows, out, a.data, a.imgsz)

if __name__ == "__main__":
    os.environ.setdefault("YOLO_OFFLINE", "1")
    main()
