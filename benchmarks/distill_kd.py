"""The distillation table (issue 4): one student trained the same N epochs, same recipe, same seed(s), with
no KD, with Ultralytics' own ``distill_model=`` (neck features, score-weighted L2), with each of our
losses alone and with our combination; then one bench run over every row, and a per-row mean / spread
over seeds.

    # teacher -> student (train the teacher first: benchmarks/zoo.py --model yolov8s)
    YOLO_OFFLINE=1 .venv/bin/python benchmarks/distill_kd.py --teacher benchmarks/zoo/yolov8s-garbage320.pt --epochs 16
    # self-distillation recovery of the 50%-GFLOPs pruned model, the unpruned input as teacher
    # (BENCHMARKS.md section 6a: teacher = the input trained 16 more epochs, student = that model pruned to
    # half its GFLOPs with `yolo-compress prune $T --criterion l2 --target-flops 0.5 --imgsz 320 --out pruned.pt`)
    YOLO_OFFLINE=1 .venv/bin/python benchmarks/distill_kd.py --student pruned.pt --teacher $T --epochs 8 \\
        --rows plain,ultralytics,combo --seeds 0,1,2
    # on a GPU machine: --device 0 (the 16-epoch table of BENCHMARKS.md 6b: --seeds 0,1,2,3,4, trained on an
    # H100 with --device 0 --workers 3, four rows at a time; benched here on CPU)

Every row starts from the same ``--student`` checkpoint and uses the ``FinetuneConfig`` recovery recipe
(AdamW lr0 0.002, cosine, 1 warm-up epoch with ``warmup_bias_lr`` 0), so "plain" is the fair baseline: the
student trained for the same extra epochs. Rows report the **last** epoch (val is also the test split).

Resumable: each row is an Ultralytics run folder under
``benchmarks/results/distill-kd-<student>-<teacher>-<N>ep/<row>-s<seed>/``; re-running continues
interrupted rows and skips finished ones. ``--no-bench`` trains only.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
from pathlib import Path

from yolo_compress.config import DistillConfig
from yolo_compress.distill.distill import distill
from yolo_compress.distill.losses import list_losses
from yolo_compress.train import (
    FinetuneConfig,
    KeepArchitectureTrainer,
    finetune,
    finished_run,
)

HEADLINE = ("plain", "ultralytics", "combo")
DEFAULT_ROWS = ",".join(HEADLINE) + "," + ",".join(list_losses())  # the headline rows first


def train_row(row: str, a, seed: int, out: Path) -> Path:
    """Train one row into its run folder (resuming an interrupted one); returns its last.pt."""
    run = (out / f"{row}-s{seed}").resolve()
    last = run / "weights" / "last.pt"
    if finished_run(run, a.epochs):
        return last
    cfg = FinetuneConfig(epochs=a.epochs, imgsz=a.imgsz, batch=a.batch, workers=a.workers, device=a.device,
                         seed=seed, fraction=a.fraction)
    resume = last.exists()
    print(f"== {row} seed {seed}{' (resuming)' if resume else ''}", flush=True)
    if row == "plain":
        finetune(a.student, a.data, cfg, run, resume=resume)
    elif row == "ultralytics":
        finetune(a.student, a.data, cfg, run, resume=resume, trainer=KeepArchitectureTrainer,
                 extra={"distill_model": str(a.teacher.resolve())})
    else:
        spec = a.combo if row == "combo" else f"{row}=1"
        losses = tuple((k, float(v)) for k, v in (x.split("=") for x in spec.split(",")))
        kd = DistillConfig(losses=losses, temperature=a.temperature, feature_temperature=a.feature_temperature)
        distill(a.student, a.teacher, a.data, kd, cfg, run, resume=resume)
    return last


def label(row: str, a) -> str:
    if row == "plain":
        return f"student + {a.epochs} ep, no KD (fair baseline)"
    if row == "ultralytics":
        return f"student + {a.epochs} ep, Ultralytics distill_model= (dis 6)"
    if row == "combo":
        tau = f", tau {a.feature_temperature:g}" if a.feature_temperature != 1.0 else ""
        return f"student + {a.epochs} ep, ours {a.combo}{tau}"
    return f"student + {a.epochs} ep, ours {row}=1"


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--student", type=Path, default=Path("../shared/models/yolov8n-garbage320.pt"))
    ap.add_argument("--teacher", type=Path, default=Path("benchmarks/zoo/yolov8s-garbage320.pt"))
    ap.add_argument("--data", type=Path, default=Path("../shared/datasets/garbage-320/data.yaml"))
    ap.add_argument("--epochs", type=int, default=16)
    ap.add_argument("--rows", default=DEFAULT_ROWS, help=f"comma-separated (default {DEFAULT_ROWS})")
    ap.add_argument("--combo", default="cls_kl=1,ld=1,cwd=10", help="our combination, loss=weight,...")
    ap.add_argument("--temperature", type=float, default=2.0, help="head (logit, LD) temperature")
    ap.add_argument("--feature-temperature", type=float, default=1.0, help="cwd temperature (tau)")
    ap.add_argument("--seeds", default="0", help="comma-separated training seeds of plain, ultralytics and combo")
    ap.add_argument("--loss-seeds", default=None, help="seeds of the single-loss rows (default: the first of --seeds)")
    ap.add_argument("--imgsz", type=int, default=320)
    ap.add_argument("--batch", type=int, default=16)
    ap.add_argument("--workers", type=int, default=2)
    ap.add_argument("--device", default="cpu")
    ap.add_argument("--fraction", type=float, default=1.0, help="of the train split (smoke runs only)")
    ap.add_argument("--out", type=Path, default=None)
    ap.add_argument("--no-bench", action="store_true")
    a = ap.parse_args()
    for p, what in ((a.student, "--student"), (a.teacher, "--teacher"), (a.data, "--data")):
        if not p.exists():
            raise SystemExit(f"error: {what} {p} does not exist"
                             + ("; train it first: benchmarks/zoo.py --model yolov8s" if what == "--teacher" else ""))
    rows = [r for r in a.rows.split(",") if r]
    bad = [r for r in rows if r not in ("plain", "ultralytics", "combo", *list_losses())]
    if bad:
        raise SystemExit(f"error: unknown row(s) {', '.join(bad)}; choose from {DEFAULT_ROWS}")
    seeds = [int(s) for s in a.seeds.split(",") if s]
    loss_seeds = [int(s) for s in (a.loss_seeds or str(seeds[0])).split(",") if s]
    row_seeds = {r: seeds if r in HEADLINE else loss_seeds for r in rows}
    out = a.out or Path(f"benchmarks/results/distill-kd-{a.student.stem}-{a.teacher.stem}-{a.epochs}ep")
    out.mkdir(parents=True, exist_ok=True)
    done = {(r, s): train_row(r, a, s, out) for s in sorted({*seeds, *loss_seeds}) for r in rows if s in row_seeds[r]}
    if a.no_bench:
        return
    # the export/bench stack, imported late: training alone needs only Ultralytics + torch
    from _common import bench_rows

    bench = [(a.student, "student (input)"), (a.teacher, "teacher")]
    bench += [(pt, f"{label(r, a)}, seed {s}") for (r, s), pt in done.items()]
    bench_rows(bench, out, a.data, a.imgsz)
    maps = {row["name"]: row["eval_map50_95"] for row in json.loads((out / "bench.json").read_text())["rows"]}
    lines = [(f"mAP50-95 of the last epoch ({a.epochs} ep, same recipe), per row over its seeds; our evaluator, "
              "from bench.json beside this file. Δ: mean of the row minus mean of the no-KD row over the same seeds."),
             "",
             "| row | seeds | mean | min | max | Δ vs no KD, same seeds (pt) |", "|---|---|---|---|---|---|"]
    for r in rows:
        v = [maps[f"{label(r, a)}, seed {s}"] for s in row_seeds[r]]
        base = [maps.get(f"{label('plain', a)}, seed {s}") for s in row_seeds[r]] if "plain" in rows else [None]
        d = f"{100 * (statistics.mean(v) - statistics.mean(base)):+.2f}" if None not in base else "—"
        lines.append(f"| {label(r, a)} | {','.join(map(str, row_seeds[r]))} | {statistics.mean(v):.4f} | "
                     f"{min(v):.4f} | {max(v):.4f} | {d} |")
    (out / "summary.md").write_text("\n".join(lines) + "\n")
    print("\n".join(lines))


if __name__ == "__main__":
    os.environ.setdefault("YOLO_OFFLINE", "1")
    main()
