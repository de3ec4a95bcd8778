"""Surgery after recovery: the reference YOLOv8n with its k x k convolutions replaced (depthwise-separable by
default), distilled from the original for N epochs (our KD losses, the FinetuneConfig recovery recipe),
against the original trained for the same N epochs (the fair baseline, taken from
benchmarks/prune_recovery.py --epochs N, same recipe and seed). One bench run over all rows.

    YOLO_OFFLINE=1 .venv/bin/python benchmarks/surgery_recovery.py --kind dwsep --epochs 16
    YOLO_OFFLINE=1 .venv/bin/python benchmarks/surgery_recovery.py --kind dwsep --epochs 16 --no-bench  # train only

Resumable: re-running continues an interrupted distillation. Outputs under
benchmarks/results/surgery-<kind>-<N>ep/: <kind>.pt (before recovery), kd/ (the Ultralytics run),
bench.md/json.
"""

from __future__ import annotations

import argparse
import os
from pathlib import Path

from _common import bench_rows
from yolo_compress.api import DistillConfig, distill
from yolo_compress.surgery import surgery_checkpoint
from yolo_compress.train import FinetuneConfig, finished_run


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--model", type=Path, default=Path("../shared/models/yolov8n-garbage320.pt"))
    ap.add_argument("--data", type=Path, default=Path("../shared/datasets/garbage-320/data.yaml"))
    ap.add_argument("--kind", default="dwsep", help="dwsep | factorized | dynamic")
    ap.add_argument("--epochs", type=int, default=16)
    ap.add_argument("--baseline", type=Path, default=None,
                    help="the input trained the same epochs (default: prune-l2-0.50-<N>ep/ft-baseline)")
    ap.add_argument("--loss", default="cls_kl=1,ld=1,cwd=1")
    ap.add_argument("--imgsz", type=int, default=320)
    ap.add_argument("--no-bench", action="store_true")
    a = ap.parse_args()
    out = Path(f"benchmarks/results/surgery-{a.kind}-{a.epochs}ep")
    out.mkdir(parents=True, exist_ok=True)
    cut = out / f"{a.kind}.pt"
    if not cut.exists():
        res, _ = surgery_checkpoint(a.model, cut, a.kind, imgsz=a.imgsz)
        (out / "surgery.txt").write_text(res.summary() + "\n")
        print(res.summary(), flush=True)
    losses = tuple((k, float(v)) for k, v in (x.split("=") for x in a.loss.split(",")))
    run = (out / "kd").resolve()
    last = run / "weights" / "last.pt"
    if not finished_run(run, a.epochs):
        distill(cut, a.model, a.data, DistillConfig(losses=losses),
                FinetuneConfig(epochs=a.epochs, imgsz=a.imgsz, batch=16, workers=2), run, resume=last.exists())
    if a.no_bench:
        return
    baseline = a.baseline or Path(f"benchmarks/results/prune-l2-0.50-{a.epochs}ep/ft-baseline/weights/last.pt")
    rows = [(a.model, "input (reference YOLOv8n)"),
            (cut, f"{a.kind}, before recovery"),
            (last, f"{a.kind} + {a.epochs} ep distillation from the input ({a.loss})")]
    if baseline.exists():
        rows.append((baseline, f"input + the same {a.epochs} ep (fair baseline)"))
    else:
        print(f"no fair baseline at {baseline}: run benchmarks/prune_recovery.py --epochs {a.epochs} first")
    bench_rows(rows, out, a.data, a.imgsz)


if __name__ == "__main__":
    os.environ.setdefault("YOLO_OFFLINE", "1")
    main()
