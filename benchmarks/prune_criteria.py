"""Every pruning criterion at 30% and 50% GFLOPs reduction, uniform and global allocation, on the
reference YOLOv8n (garbage-320, imgsz 320), *before* fine-tuning: params, GFLOPs, size, mAP50-95 and
ONNX Runtime latency ratio vs. the unpruned model, all in one bench run.

    YOLO_OFFLINE=1 .venv/bin/python benchmarks/prune_criteria.py

(taylor uses 64 train images for its gradients, hessian 8 single images). Outputs: benchmarks/results/prune-criteria/bench.md
"""

from __future__ import annotations

import argparse
from pathlib import Path

from yolo_compress.api import BenchConfig, ExportConfig, PruneConfig, bench, export, list_criteria, prune_checkpoint
from yolo_compress.errors import YoloCompressError
from yolo_compress.prune.importance import CRITERIA


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--model", type=Path, default=Path("../shared/models/yolov8n-garbage320.pt"))
    ap.add_argument("--data", type=Path, default=Path("../shared/datasets/garbage-320/data.yaml"))
    ap.add_argument("--imgsz", type=int, default=320)
    ap.add_argument("--keep", default="0.7,0.5", help="GFLOPs shares kept")
    ap.add_argument("--criteria", default=",".join(list_criteria()))
    ap.add_argument("--out", type=Path, default=Path("benchmarks/results/prune-criteria"))
    a = ap.parse_args()
    a.out.mkdir(parents=True, exist_ok=True)
    onnx, names, notes = [], [], []
    base = a.out / "unpruned.onnx"
    export(a.model, ExportConfig(format="onnx", imgsz=a.imgsz), out=base)
    onnx.append(base)
    names.append("unpruned")
    for keep in (float(k) for k in a.keep.split(",")):
        for glob in (False, True):
            for crit in a.criteria.split(","):
                tag = f"{crit}-{'global' if glob else 'uniform'}-keep{keep:.2f}"
                cfg = PruneConfig(target_flops=keep, criterion=crit, global_pruning=glob, imgsz=a.imgsz,
                                  data=str(a.data) if CRITERIA[crit].needs_gradients else None)
                try:
                    res, pt = prune_checkpoint(a.model, cfg, a.out / f"{tag}.pt")
                except YoloCompressError as e:
                    notes.append(f"{tag}: {e}")
                    print(notes[-1])
                    continue
                dest = a.out / f"{tag}.onnx"
                export(pt, ExportConfig(format="onnx", imgsz=a.imgsz), out=dest)
                onnx.append(dest)
                names.append(tag)
                notes.append(f"{tag}: {res.summary()}")
                print(notes[-1])
    (a.out / "prune.txt").write_text("\n".join(notes) + "\n")
    from rich.console import Console

    console = Console(width=220)
    report = bench(onnx, BenchConfig(data=str(a.data), imgsz=a.imgsz, threads=2, runs=100, rounds=3), names=names,
                   out_dir=a.out, console=console)
    report.print(console)


if __name__ == "__main__":
    main()
