"""Does the fine-tune recipe wreck a trained model? The first epochs of a fine-tune of the *unpruned* input.

Issue 20 (g): a recovery recipe must not first destroy what it should keep. This trains the unpruned input
with a fine-tune recipe laid out for ``--schedule`` epochs (warm-up and LR schedule as in a real run of that
length), stops after ``--stop-after`` epochs, and records Ultralytics' val mAP50-95 after each epoch
(results.csv, the EMA model Ultralytics validates) beside the input's own val mAP. One row per variant:

    YOLO_OFFLINE=1 .venv/bin/python benchmarks/finetune_dip.py --variants default,lr5e-4,lr2e-4,lr2e-4_bn1

Variants: ``default`` (FinetuneConfig as shipped), ``lrX`` (lr0 = X), ``_bnN`` (BN statistics frozen for
N epochs), ``_sgd`` (SGD, momentum 0.937), ``_wu0`` (no warm-up). Results go to ``--out`` (one run folder
per variant; ``dip.json`` collects them). Resumable: a variant whose run folder has its epochs is reused.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import sys
from pathlib import Path

os.environ.setdefault("YOLO_OFFLINE", "1")
REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "benchmarks"))


def variant_cfg(name: str, schedule: int, imgsz: int, seed: int):
    from yolo_compress.train import FinetuneConfig

    kw: dict = {"epochs": schedule, "imgsz": imgsz, "batch": 16, "seed": seed}
    extra: dict = {}
    for part in name.split("_"):
        if part == "default":
            continue
        if m := re.fullmatch(r"lr([0-9.e-]+)", part):
            kw["lr0"] = float(m.group(1))
        elif m := re.fullmatch(r"bn(\d+)", part):
            kw["bn_freeze_epochs"] = int(m.group(1))
        elif part == "sgd":
            kw["optimizer"] = "SGD"
        elif part == "wu0":
            kw["warmup_epochs"] = 0.0
        elif part == "mos0":
            kw["mosaic"] = 0.0
        else:
            raise SystemExit(f"finetune_dip: unknown variant part {part!r} in {name!r}")
    return FinetuneConfig(**kw), extra


def read_map(run: Path) -> list[float]:
    import csv

    f = run / "results.csv"
    if not f.exists():
        return []
    with f.open() as fh:
        return [float({k.strip(): v for k, v in r.items()}["metrics/mAP50-95(B)"]) for r in csv.DictReader(fh)]


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--model", type=Path, default=REPO.parent / "shared/models/yolov8n-garbage320.pt")
    p.add_argument("--data", type=Path, default=REPO.parent / "shared/datasets/garbage-320/data.yaml")
    p.add_argument("--variants", default="default,lr5e-4,lr2e-4,lr2e-4_bn1")
    p.add_argument("--schedule", type=int, default=20, help="epochs the recipe is laid out for")
    p.add_argument("--stop-after", type=int, default=2)
    p.add_argument("--imgsz", type=int, default=320)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--out", type=Path, default=REPO / "benchmarks/results/finetune-dip")
    a = p.parse_args()

    from ultralytics import YOLO

    from yolo_compress.models import load_model
    from yolo_compress.train import finetune

    a.out.mkdir(parents=True, exist_ok=True)
    summary_f = a.out / "dip.json"
    summary = json.loads(summary_f.read_text()) if summary_f.exists() else {}
    if "input" not in summary:
        m = YOLO(str(a.model)).val(data=str(a.data), imgsz=a.imgsz, batch=32, plots=False, device="cpu",
                                   project=str(a.out), name="input-val", exist_ok=True, verbose=False)
        summary["input"] = {"mAP50-95": m.box.map, "mAP50": m.box.map50}
    for name in a.variants.split(","):
        run = a.out / f"{name}-s{a.seed}"
        if len(read_map(run)) < a.stop_after:
            import shutil

            shutil.rmtree(run, ignore_errors=True)
            y = load_model(a.model)
            stop_after = a.stop_after

            def stop(trainer, n=stop_after):
                if trainer.epoch + 1 >= n:
                    trainer.stop = True

            y.add_callback("on_fit_epoch_end", stop)
            cfg, extra = variant_cfg(name, a.schedule, a.imgsz, a.seed)
            finetune(y, a.data, cfg, run, extra=extra)
        maps = read_map(run)[: a.stop_after]
        summary[f"{name}-s{a.seed}"] = {"schedule": a.schedule, "mAP50-95_per_epoch": maps,
                                        "drop_epoch1_pt": round(100 * (summary["input"]["mAP50-95"] - maps[0]), 2)}
        summary_f.write_text(json.dumps(summary, indent=2) + "\n")
        print(f"finetune_dip: {name}: input {summary['input']['mAP50-95']:.4f} -> per epoch "
              + ", ".join(f"{v:.4f}" for v in maps), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
