"""Every pruning criterion at 30% and 50% GFLOPs reduction, uniform and global, *after* the same short
fine-tune budget: the pruned checkpoints of benchmarks/prune_criteria.py are each fine-tuned for --epochs
(same recipe and seed), the last epoch's weights exported to ONNX and benched in one run, and joined with
the before-fine-tune mAP of prune_criteria's bench.json.

    YOLO_OFFLINE=1 .venv/bin/python benchmarks/prune_table.py --epochs 2            # train what is missing, bench
    YOLO_OFFLINE=1 .venv/bin/python benchmarks/prune_table.py --epochs 2 --no-bench # train only (resumable)

Outputs under benchmarks/results/prune-table-<E>ep/: ft-<tag>/ (Ultralytics runs), <tag>.onnx, bench.md/json,
table.md (the joined table).
"""

from __future__ import annotations

import argparse
import json
import os
from pathlib import Path

from yolo_compress.api import BenchConfig, ExportConfig, bench, export, list_criteria
from _common import trained
from yolo_compress.train import FinetuneConfig

SRC = Path("benchmarks/results/prune-criteria")


def tags(order: str) -> list[str]:
    out = []
    for part in order.split(","):
        alloc, keep = part.split("-")
        out += [f"{c}-{alloc}-keep{float(keep):.2f}" for c in list_criteria()]
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--data", type=Path, default=Path("../shared/datasets/garbage-320/data.yaml"))
    ap.add_argument("--imgsz", type=int, default=320)
    ap.add_argument("--epochs", type=int, default=2)
    ap.add_argument("--order", default="uniform-0.5,uniform-0.7,global-0.5,global-0.7")
    ap.add_argument("--no-bench", action="store_true")
    a = ap.parse_args()
    out = Path(f"benchmarks/results/prune-table-{a.epochs}ep")
    out.mkdir(parents=True, exist_ok=True)
    cfg = FinetuneConfig(epochs=a.epochs, imgsz=a.imgsz, batch=16, workers=2)
    for tag in tags(a.order):
        print(f"== {tag}", flush=True)
        trained(SRC / f"{tag}.pt", a.data, cfg, out / f"ft-{tag}")
    if a.no_bench:
        return
    rows = [(SRC / "unpruned.onnx", "unpruned")]
    for tag in tags(a.order):
        last = out / f"ft-{tag}" / "weights" / "last.pt"
        if not last.exists():
            continue
        dest = out / f"{tag}.onnx"
        if not dest.exists():
            export(last, ExportConfig(format="onnx", imgsz=a.imgsz), out=dest)
        rows.append((dest, tag))
    from rich.console import Console

    console = Console(width=220)
    report = bench([p for p, _ in rows], BenchConfig(data=str(a.data), imgsz=a.imgsz, threads=2, runs=100, rounds=3),
                   names=[n for _, n in rows], out_dir=out, console=console)
    report.print(console)
    before = {r["name"]: r["eval_map50_95"] for r in json.loads((SRC / "bench.json").read_text())["rows"]}
    lines = [f"| criterion | allocation | GFLOPs kept | params M | size MB | ORT latency vs unpruned | "
             f"mAP50-95 before FT | after {a.epochs} ep FT |", "|---|---|---|---|---|---|---|---|"]
    base = report.rows[0]
    for r in report.rows[1:]:
        crit, alloc, keep = r.name.split("-")
        lines.append(f"| {crit} | {alloc} | {r.gflops / base.gflops:.1%} | {r.params_m:.3f} | {r.size_mb:.2f} | "
                     f"{r.timing.p50_ms / base.timing.p50_ms:.2f}x | {before.get(r.name, float('nan')):.4f} | "
                     f"{r.eval.map50_95:.4f} |")
    (out / "table.md").write_text("\n".join(lines) + f"\n\n{report.date}, {report.machine.get('cpu', '')}\n")
    print("\n".join(lines))


if __name__ == "__main__":
    os.environ.setdefault("YOLO_OFFLINE", "1")
    main()
