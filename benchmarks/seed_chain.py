"""The seed article's chain on garbage-320 (issue 22): YOLOv9s teacher -> YOLOv9t student by distillation,
re-parameterization, static INT8, LiteRT; one table beside the article's own claims.

The article (seeds/000, COCO, Intel i5-10400F) distils YOLOv9-E into YOLOv9-S and quantizes it:

    YOLOv9-E            125.4 M params  242 MB  mAP50 54.8  86 ms
    distilled YOLOv9-S   11.2 M          22 MB  mAP50 52.3  12 ms
    quantized YOLOv9-S   11.2 M          5.8 MB mAP50 51.7   8 ms

i.e. 11x / 41.7x smaller, 7.2x / 10.8x faster, 95.4% / 94.3% of the teacher's mAP50 kept. We run the same
chain with the built-in recipe ``yolov9-seed`` (distill, reparam, LiteRT INT8) for each seed, and beside it
the row that tells the distillation's gain from the extra epochs': the student fine-tuned for the same
epochs with the same training settings and no teacher. All rows are exported to LiteRT (FP32, parity-checked)
and timed in ONE interleaved bench run on this CPU (LiteRT/XNNPACK, 2 threads); mAP by our evaluator on
the val split (also the test split: last-epoch weights, never best.pt).

    YOLO_OFFLINE=1 .venv/bin/python benchmarks/seed_chain.py \\
        --student benchmarks/zoo/yolov9t-garbage320.pt --teacher benchmarks/zoo/yolov9s-garbage320.pt \\
        --epochs 20 --seeds 0 1 2

Resumable: re-running the same command continues interrupted trainings and recipe runs (``run --resume``),
and re-uses finished exports. Outputs under --out: seed<N>/chain (the recipe's run folder with its own
report), seed<N>/baseline (the no-teacher fine-tune), tflite/ (FP32 exports), bench.md/json, table.md.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import statistics
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
SEED_CLAIMS = {  # seeds/000 table: (params M, size MB, mAP50 on COCO, latency ms on an i5-10400F)
    "teacher": (125.4, 242.0, 54.8, 86.0),
    "distilled": (11.2, 22.0, 52.3, 12.0),
    "int8": (11.2, 5.8, 51.7, 8.0),
}


def _recipe_for(seed: int, epochs: int, dest: Path, imgsz: int = 320) -> Path:
    """The built-in recipe with this run's seed, epochs and imgsz (written once; the run folder keeps a copy). The
    no-teacher baseline reads its training settings from the same file, so both train at ``imgsz``."""
    from yolo_compress.pipeline.recipe import builtin_recipe

    text = Path(builtin_recipe("yolov9-seed")).read_text()
    new = text.replace("distill: {epochs: 20,", f"distill: {{epochs: {epochs}, seed: {seed},")
    if "\nimgsz:" in new:  # (until 2026-12-05 it pinned 320; it names none since: the model's own size)
        new = "\n".join(ln for ln in new.split("\n") if not ln.startswith("imgsz:"))
    new = f"imgsz: {imgsz}\n" + new
    if new.count("distill: {epochs: ") != 1 or new.count("\nimgsz:") + new.startswith("imgsz:") != 1:
        sys.exit("seed_chain: the built-in yolov9-seed recipe changed shape; update _recipe_for")
    dest.parent.mkdir(parents=True, exist_ok=True)
    if not dest.exists() or dest.read_text() != new:
        dest.write_text(new)
    return dest


def _run_chain(recipe: Path, run: Path, a) -> Path:
    cmd = [sys.executable, "-m", "yolo_compress.cli", "run", str(recipe), "--model", str(a.student),
           "--teacher", str(a.teacher), "--data", str(a.data), "--out", str(run)]
    if (run / "recipe.yaml").exists():
        cmd.append("--resume")
    print("+", " ".join(cmd), flush=True)
    subprocess.run(cmd, check=True)
    return run


def _tflite(pt: Path, name: str, out: Path, imgsz: int) -> Path:
    from yolo_compress.api import ExportConfig, export

    dest = out / (re.sub(r"[^A-Za-z0-9]+", "-", name).strip("-") + ".tflite")
    if not dest.exists() or dest.stat().st_mtime < Path(pt).stat().st_mtime:
        dest.parent.mkdir(parents=True, exist_ok=True)
        export(pt, ExportConfig(format="tflite", imgsz=imgsz), out=dest)
    return dest


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--student", type=Path, required=True, help="trained YOLOv9t (converged reference)")
    ap.add_argument("--teacher", type=Path, required=True, help="trained YOLOv9s")
    ap.add_argument("--data", type=Path, default=REPO.parent / "shared/datasets/garbage-320/data.yaml")
    ap.add_argument("--epochs", type=int, default=20)
    ap.add_argument("--seeds", type=int, nargs="+", default=[0])
    ap.add_argument("--imgsz", type=int, default=320)
    ap.add_argument("--rounds", type=int, default=5)
    ap.add_argument("--out", type=Path, default=REPO / "benchmarks/results/seed-chain")
    a = ap.parse_args()
    for p in (a.student, a.teacher, a.data):
        if not p.exists():
            sys.exit(f"seed_chain: '{p}' not found (train it with benchmarks/zoo.py, see its docstring)")
    a.student, a.teacher, a.data = a.student.resolve(), a.teacher.resolve(), a.data.resolve()

    from yolo_compress.api import BenchConfig, bench
    from yolo_compress.pipeline.recipe import load_recipe
    from yolo_compress.train import FinetuneConfig

    sys.path.insert(0, str(Path(__file__).parent))
    from _common import trained

    rows: list[tuple[Path, str, str]] = []  # (artifact, name, group)
    tfl = a.out / "tflite"
    rows.append((_tflite(a.teacher, "teacher YOLOv9s", tfl, a.imgsz), "teacher YOLOv9s FP32", "teacher"))
    rows.append((_tflite(a.student, "student YOLOv9t", tfl, a.imgsz), "student YOLOv9t FP32 (input)", "input"))
    for s in a.seeds:
        recipe = _recipe_for(s, a.epochs, a.out / f"seed{s}" / "yolov9-seed.yaml", a.imgsz)
        train = load_recipe(recipe, overrides={"teacher": str(a.teacher)}).stages[0].config.train
        base = trained(a.student, a.data, FinetuneConfig(**{**train.as_dict(), "seed": s}), a.out / f"seed{s}" / "baseline")
        rows.append((_tflite(base, f"baseline s{s}", tfl, a.imgsz),
                     f"student + {a.epochs} ep, no teacher FP32 (s{s})", "baseline"))
        run = _run_chain(recipe, a.out / f"seed{s}" / "chain", a)
        rows.append((_tflite(run / "01-distill" / "model.pt", f"distill s{s}", tfl, a.imgsz),
                     f"distilled {a.epochs} ep FP32 (s{s})", "distilled"))
        rows.append((_tflite(run / "02-reparam" / "model.pt", f"reparam s{s}", tfl, a.imgsz),
                     f"distilled + reparam FP32 (s{s})", "reparam"))
        rows.append((run / "03-quantize" / "model_int8.tflite", f"distilled + reparam + INT8 (s{s})", "int8"))

    from rich.console import Console

    console = Console(width=220)
    rep = bench([r[0] for r in rows], BenchConfig(data=str(a.data), imgsz=a.imgsz, threads=2, runs=100,
                                                   rounds=a.rounds), names=[r[1] for r in rows],
                out_dir=a.out, console=console)
    rep.print(console)
    table = _table(rep, rows, a)
    (a.out / "table.md").write_text(table)
    print(table)


def _table(rep, rows, a) -> str:
    """Mean (min-max over seeds) per group; ratios vs the teacher as the article gives them."""
    by: dict[str, list] = {}
    for r, (_, _, group) in zip(rep.rows, rows):
        by.setdefault(group, []).append(r)
    t = by["teacher"][0]

    def agg(vals):
        m = statistics.mean(vals)
        return f"{m:.4f}" if len(vals) == 1 else f"{m:.4f} ({min(vals):.4f}-{max(vals):.4f})"

    lines = ["| row | params M | size MB | x smaller vs teacher | x faster vs teacher (LiteRT p50) | mAP50 | "
             "mAP50-95 | mAP50 kept vs teacher | seed article (x smaller / x faster / mAP50 kept) |",
             "|---|---|---|---|---|---|---|---|---|"]
    claims = {"distilled": SEED_CLAIMS["distilled"], "int8": SEED_CLAIMS["int8"]}

    def kept(rs) -> str:  # an untrained teacher (a smoke run) scores 0: no ratio
        return f"{100 * statistics.mean(r.eval.map50 for r in rs) / t.eval.map50:.1f}%" if t.eval.map50 else "n/a"
    T = SEED_CLAIMS["teacher"]
    for g in ("teacher", "input", "baseline", "distilled", "reparam", "int8"):
        rs = by.get(g, [])
        if not rs:
            continue
        r0 = rs[0]
        c = claims.get(g)
        claim = (f"{T[1] / c[1]:.1f}x / {T[3] / c[3]:.1f}x / {100 * c[2] / T[2]:.1f}%" if c else "")
        name = r0.name if len(rs) == 1 else re.sub(r" \(s\d+\)", f" ({len(rs)} seeds)", r0.name)
        lines.append(
            f"| {name} "
            f"| {r0.params_m:.3f} | {r0.size_mb:.2f} | {t.size_mb / r0.size_mb:.1f}x "
            f"| {statistics.mean(t.timing.p50_ms / r.timing.p50_ms for r in rs):.2f}x "
            f"| {agg([r.eval.map50 for r in rs])} | {agg([r.eval.map50_95 for r in rs])} "
            f"| {kept(rs)} | {claim} |")
    from yolo_compress.bench.bench import cpu_label

    lines.append("")
    lines.append(f"{a.data} val ({t.eval.images} images), imgsz {a.imgsz}, {a.epochs} epoch(s) per training, "
                 f"seed(s) {' '.join(map(str, a.seeds))}, last-epoch weights; latency: LiteRT, 2 threads, one "
                 f"interleaved bench run ({a.rounds} rounds) on {cpu_label(rep.machine)}, {rep.date}. The article's "
                 f"ratios are YOLOv9-E -> S on COCO (mAP50) on an Intel i5-10400F.")
    return "\n".join(lines) + "\n"


if __name__ == "__main__":
    os.environ.setdefault("YOLO_OFFLINE", "1")
    main()
