"""Self-distillation recovery of a pruned model: the 50%-GFLOPs l2 pruned reference YOLOv8n, fine-tuned for
N epochs with the unpruned reference as teacher (our KD losses), against the same N epochs of plain
fine-tuning (benchmarks/prune_recovery.py, same recipe, seed and pruned checkpoint) and the unpruned input
trained for the same N epochs. One bench run over all rows.

    YOLO_OFFLINE=1 .venv/bin/python benchmarks/distill_recovery.py --epochs 8 --loss cls_kl=1,ld=1,cwd=1

Resumable: re-running continues an interrupted distillation.
"""

from __future__ import annotations

import argparse
import os
from pathlib import Path

from _common import bench_rows
from yolo_compress.api import DistillConfig, distill
from yolo_compress.train import FinetuneConfig, finished_run


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--teacher", type=Path, default=Path("../shared/models/yolov8n-garbage320.pt"))
    ap.add_argument("--data", type=Path, default=Path("../shared/datasets/garbage-320/data.yaml"))
    ap.add_argument("--plain", type=Path, default=Path("benchmarks/results/prune-l2-0.50-8ep"),
                    help="prune_recovery.py output with pruned.pt, ft-pruned/ and ft-baseline/")
    ap.add_argument("--epochs", type=int, default=8)
    ap.add_argument("--loss", default="cls_kl=1,ld=1,cwd=1")
    ap.add_argument("--temperature", type=float, default=2.0)
    ap.add_argument("--imgsz", type=int, default=320)
    ap.add_argument("--no-bench", action="store_true")
    a = ap.parse_args()
    losses = tuple((k, float(v)) for k, v in (x.split("=") for x in a.loss.split(",")))
    tag = a.loss.replace("=", "").replace(",", "-")
    out = Path(f"benchmarks/results/distill-recovery-{a.epochs}ep-{tag}")
    out.mkdir(parents=True, exist_ok=True)
    run = (out / "kd").resolve()
    last = run / "weights" / "last.pt"
    if not finished_run(run, a.epochs):
        distill(a.plain / "pruned.pt", a.teacher, a.data, DistillConfig(losses=losses, temperature=a.temperature),
                FinetuneConfig(epochs=a.epochs, imgsz=a.imgsz, batch=16, workers=2), run, resume=last.exists())
    if a.no_bench:
        return
    rows = [(a.teacher, "input (reference YOLOv8n)"),
            (a.plain / "ft-pruned" / "weights" / "last.pt", f"pruned 50% + {a.epochs} ep plain fine-tune"),
            (last, f"pruned 50% + {a.epochs} ep self-distillation ({a.loss}, T {a.temperature:g})"),
            (a.plain / "ft-baseline" / "weights" / "last.pt", f"input + same {a.epochs} ep (baseline)")]
    bench_rows(rows, out, a.data, a.imgsz)

if __name__ == "__main__":
    os.environ.setdefault("YOLO_OFFLINE", "1")
    main()
