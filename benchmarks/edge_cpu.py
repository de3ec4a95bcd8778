"""The built-in ``edge-cpu`` recipe on garbage-320 (reference YOLOv8n), with the fair baseline beside it.

1. ``yolo-compress run edge-cpu`` into --run-dir (resumed if it exists: finished stages are not redone);
2. the *input* model trained for the same extra epochs as the recipe's training stages, plain fine-tune,
   then the same INT8 quantizations: what extra epochs alone give, so that the gain is not credited to
   compression;
3. the ablation: for a recipe that distills, the recipe's pruned model (its first stage's output) plain
   fine-tuned for the same epochs instead, to show what the distillation adds; for one that fine-tunes,
   ``--ablation PATH`` benches a checkpoint you trained otherwise (e.g. recovery_methods' row a: the uniform
   L2 cut at the same level, same epochs);
4. one bench run (--rounds interleaved timing rounds) over: input FP32 (ORT, OpenVINO), the recipe's
   INT8 artifacts, the baseline FP32 and INT8. Latency ratios are against the input's ORT FP32 in that run.

    YOLO_OFFLINE=1 .venv/bin/python benchmarks/edge_cpu.py                 # all (resumable)
    YOLO_OFFLINE=1 .venv/bin/python benchmarks/edge_cpu.py --baseline-only # only step 2's training
    YOLO_OFFLINE=1 .venv/bin/python benchmarks/edge_cpu.py --ablation-only # only step 3's training
    # the converged reference (issue 20), reusing the input + 20 ep and the plain-L2 row already trained:
    YOLO_OFFLINE=1 .venv/bin/python benchmarks/edge_cpu.py --model benchmarks/zoo/yolov8n-garbage320-200ep.pt \
        --out benchmarks/results/edge-cpu-converged --run-dir runs/edge-cpu-converged \
        --baseline benchmarks/zoo/yolov8n-garbage320-200ep-extra20/seed0/weights/last.pt \
        --ablation benchmarks/results/recovery-yolov8n-garbage320-200ep-0.40-20ep/a-s0/weights/last.pt --rounds 3

Outputs under --out (default benchmarks/results/edge-cpu/): report.md / report.html / plot.svg copied from the run,
bench.md / bench.json, table.md, ft-baseline-<E>ep/ and ft-ablation-<E>ep/ (training runs, gitignored).
A run folder made by an earlier version of the recipe cannot be resumed (the runner refuses a changed
recipe): pass a new --run-dir.
"""

from __future__ import annotations

import argparse
import dataclasses
import os
import shutil
import subprocess
import sys
from pathlib import Path

from _common import trained

from yolo_compress.api import BenchConfig, ExportConfig, bench, export, quantize
from yolo_compress.pipeline.recipe import builtin_recipe, load_recipe

OUT = Path("benchmarks/results/edge-cpu")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--model", type=Path, default=Path("../shared/models/yolov8n-garbage320.pt"))
    ap.add_argument("--data", type=Path, default=Path("../shared/datasets/garbage-320/data.yaml"))
    ap.add_argument("--recipe", default="edge-cpu")
    ap.add_argument("--run-dir", type=Path, help="the recipe's run folder (default <out>/run)")
    ap.add_argument("--rounds", type=int, default=5)
    ap.add_argument("--out", type=Path, default=OUT, help="where the table, bench and exports go")
    ap.add_argument("--baseline", type=Path, help="the input already trained the same extra epochs (not retrained)")
    ap.add_argument("--ablation", type=Path, help="a checkpoint to bench as the ablation row (not trained here)")
    ap.add_argument("--ablation-name", default="uniform L2 cut at the same level, same fine-tune",
                    help="what --ablation is, for its row name")
    ap.add_argument("--baseline-only", action="store_true")
    ap.add_argument("--ablation-only", action="store_true")
    a = ap.parse_args()
    for given in (a.baseline, a.ablation):
        if given and not given.exists():
            sys.exit(f"edge_cpu: '{given}' not found; give a trained .pt or leave the option out (then it is trained)")
    out = a.out
    out.mkdir(parents=True, exist_ok=True)
    a.run_dir = a.run_dir or out / "run"
    recipe = load_recipe(builtin_recipe(a.recipe) or a.recipe)
    trains = [s.config.train if s.kind == "distill" else s.config for s in recipe.stages
              if s.kind in ("finetune", "distill")]
    epochs = sum(t.epochs for t in trains)
    base_cfg = dataclasses.replace(trains[0], epochs=epochs)
    if a.ablation_only:
        trained(a.run_dir / "01-prune" / "model.pt", a.data, base_cfg, out / f"ft-ablation-{epochs}ep")
        return
    baseline = a.baseline or trained(a.model, a.data, base_cfg, out / f"ft-baseline-{epochs}ep")
    if a.baseline_only:
        return
    cmd = [sys.executable, "-m", "yolo_compress.cli", "run", a.recipe, "--model", str(a.model), "--data", str(a.data),
           "--out", str(a.run_dir)]
    if a.run_dir.exists():
        cmd.append("--resume")
    subprocess.run(cmd, check=True)
    for f in ("report.md", "report.html", "plot.svg"):
        shutil.copy(a.run_dir / f, out / f)
    distills = any(s.kind == "distill" for s in recipe.stages)
    ablation = a.ablation or (trained(a.run_dir / "01-prune" / "model.pt", a.data, base_cfg, out / f"ft-ablation-{epochs}ep")
                              if distills else None)

    base_art = []
    for s in recipe.stages:
        if s.kind != "quantize":
            continue
        q = dataclasses.replace(s.config, data=str(a.data))
        dest = out / ("baseline_int8_openvino_model" if q.backend == "openvino" else "baseline_int8.onnx")
        if not dest.exists():
            quantize(baseline, q, dest)
        base_art.append((dest, f"input + same {epochs} ep, INT8 {q.backend}"))
    recovered = sorted([*a.run_dir.glob("[0-9][0-9]-distill/model.pt"), *a.run_dir.glob("[0-9][0-9]-finetune/model.pt")])
    fp32 = [(a.model, "onnx", out / "input.onnx", "input FP32"),
            (a.model, "openvino", out / "input_openvino_model", "input FP32"),
            (recovered[-1], "onnx", out / "distilled.onnx" if distills else out / "recovered.onnx",
             f"edge-cpu {'distill' if distills else 'finetune'} stage FP32")]
    if ablation:
        what = f"pruned + {epochs} ep plain fine-tune" if not a.ablation else a.ablation_name
        fp32.append((ablation, "onnx", out / "ablation.onnx", f"ablation: {what} FP32"))
    rows = []
    for pt, fmt, dest, name in fp32:  # exported once; reruns reuse them
        if not dest.exists():
            export(pt, ExportConfig(format=fmt, imgsz=recipe.imgsz), out=dest)
        rows.append((dest, name))
    run_arts = sorted(x for d in a.run_dir.glob("[0-9][0-9]-quantize*") for x in d.iterdir()
                      if x.name.startswith("model_") and (x.suffix == ".onnx" or x.is_dir()))
    rows += [(p, f"edge-cpu {p.parent.name} ({'OpenVINO' if p.is_dir() else 'ORT'} INT8)") for p in run_arts]
    base_onnx = out / "baseline.onnx"
    if not base_onnx.exists():
        export(baseline, ExportConfig(format="onnx", imgsz=recipe.imgsz), out=base_onnx)
    rows += [(base_onnx, f"input + same {epochs} ep FP32")] + base_art
    from rich.console import Console

    console = Console(width=220)
    report = bench([p for p, _ in rows], BenchConfig(data=str(a.data), imgsz=recipe.imgsz, threads=2, runs=100,
                                                      rounds=a.rounds),
                   names=[n for _, n in rows], out_dir=out, console=console)
    report.print(console)
    ref = report.rows[0]
    lines = ["| artifact | runtime | size MB | x smaller | GFLOPs | ORT-FP32-relative latency (p50) | mAP50-95 | "
             "Δ vs input (pt) |", "|---|---|---|---|---|---|---|---|"]
    for r in report.rows:
        lines.append(f"| {r.name} | {r.runtime} | {r.size_mb:.2f} | {ref.size_mb / r.size_mb:.1f}x | {r.gflops:.3f} | "
                     f"{r.timing.p50_ms / ref.timing.p50_ms:.2f}x | {r.eval.map50_95:.4f} | "
                     f"{(r.eval.map50_95 - ref.eval.map50_95) * 100:+.2f} |")
    (out / "table.md").write_text("\n".join(lines) + f"\n\n{report.date}, {report.machine.get('cpu', '')}, "
                                  f"{a.rounds} interleaved timing rounds\n")
    print("\n".join(lines))


if __name__ == "__main__":
    os.environ.setdefault("YOLO_OFFLINE", "1")
    main()
