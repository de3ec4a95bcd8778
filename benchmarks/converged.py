"""Is a zoo model converged? Issue 20's two tests, on a zoo run folder:

1. its curve: the last 30 epochs add less than 0.3 point of val mAP50-95 (the final epoch vs. the best
   epoch up to 30 epochs before the end; Ultralytics' val in results.csv);
2. ``--extra``: the checkpoint (last epoch) trained 20 more epochs with the fine-tune recipe gains less than
   0.5 point (our evaluator, ONNX Runtime, garbage-320 val). That row ("input + 20 ep") stays in every table.

    .venv/bin/python benchmarks/converged.py benchmarks/zoo/yolov8n-garbage320-200ep
    .venv/bin/python benchmarks/converged.py benchmarks/zoo/yolov8n-garbage320-200ep --extra 20

Resumable (the extra training continues where it stopped). Writes <run>/converged.json.
"""

from __future__ import annotations

import argparse
import csv
import json
import os
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
WINDOW, CURVE_BAR, EXTRA_BAR = 30, 0.3, 0.5  # epochs, points, points


def curve(run: Path) -> dict:
    rows = list(csv.DictReader((run / "results.csv").open(newline="")))
    key = next(k for k in rows[0] if "mAP50-95" in k)
    m = [float(r[key]) for r in rows]
    if len(m) <= WINDOW:
        return {"epochs": len(m), "verdict": f"too short: {len(m)} epochs <= {WINDOW}"}
    before = max(m[:-WINDOW])
    gain = 100 * (m[-1] - before)
    planned = _planned_epochs(run)
    unfinished = f" (unfinished: {len(m)} of {planned} epochs, not a verdict)" if planned and len(m) < planned else ""
    return {"epochs": len(m), "planned_epochs": planned, "finished": not unfinished, "final": m[-1], "best_before_last_window": before, "window": WINDOW,
            "gain_pt": round(gain, 2), "passed": gain < CURVE_BAR,
            "verdict": f"last {WINDOW} epochs add {gain:+.2f} pt ({'<' if gain < CURVE_BAR else '>='} {CURVE_BAR})"
                       f"{unfinished}"}


def _planned_epochs(run: Path) -> int | None:
    import yaml

    args = run / "args.yaml"
    return int(yaml.safe_load(args.read_text()).get("epochs")) if args.exists() else None


def last_epoch_weights(run: Path) -> Path:
    """The run's last-epoch weights: ``weights/last.pt`` where the training left it, else the copies that stand for
    it on a fresh checkout (weights/ is not in git): ``<run>/final.pt`` (a benchmark row, see ``_common.kept_run``)
    or ``<run>.pt`` beside the folder (``zoo.py`` copies last.pt there when the run finishes). Exits with one line
    when none exists."""
    for p in (run / "weights" / "last.pt", run / "final.pt", run.parent / f"{run.name}.pt"):
        if p.exists():
            return p
    sys.exit(f"converged: no last-epoch weights for '{run}' (looked for weights/last.pt, final.pt and "
             f"{run.name}.pt beside it); is the run finished?")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("run", type=Path, help="zoo run folder (results.csv, weights/last.pt)")
    ap.add_argument("--extra", type=int, default=0, help="also train the last epoch's weights this many more epochs")
    ap.add_argument("--data", type=Path, default=REPO.parent / "shared/datasets/garbage-320/data.yaml")
    ap.add_argument("--imgsz", type=int, default=320)
    ap.add_argument("--seed", type=int, default=0)
    a = ap.parse_args()
    if not (a.run / "results.csv").exists():
        sys.exit(f"converged: '{a.run}/results.csv' not found; pass a zoo run folder")
    out = {"curve": curve(a.run)}
    print(f"{a.run.name}: {out['curve']['verdict']}")
    if a.extra:
        sys.path.insert(0, str(Path(__file__).parent))
        from _common import bench_rows, trained
        from yolo_compress.train import FinetuneConfig

        last = last_epoch_weights(a.run)
        extra = a.run.parent / f"{a.run.name}-extra{a.extra}" / (f"seed{a.seed}")
        ft = FinetuneConfig(epochs=a.extra, imgsz=a.imgsz, batch=16, workers=2, seed=a.seed)
        more = trained(last, a.data, ft, extra)
        rep = bench_rows([(last, "input (last epoch)"), (more, f"input + {a.extra} ep fine-tune (seed {a.seed})")],
                         extra.parent, a.data, a.imgsz, rounds=1)
        m0, m1 = (r.eval.map50_95 for r in rep.rows)
        gain = 100 * (m1 - m0)
        out["extra"] = {"epochs": a.extra, "seed": a.seed, "input": m0, "after": m1, "gain_pt": round(gain, 2),
                        "passed": gain < EXTRA_BAR, "finetune": ft.as_dict()}
        print(f"{a.run.name}: +{a.extra} epochs of the fine-tune recipe: {m0:.4f} -> {m1:.4f} ({gain:+.2f} pt; "
              f"{'<' if gain < EXTRA_BAR else '>='} {EXTRA_BAR})")
    (a.run / "converged.json").write_text(json.dumps(out, indent=2) + "\n")


if __name__ == "__main__":
    os.environ.setdefault("YOLO_OFFLINE", "1")
    main()
