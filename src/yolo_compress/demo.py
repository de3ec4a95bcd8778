"""The embedded default: a YOLOv8n trained on garbage-320 and 60 of its val images (CC BY 4.0, see
``assets/ATTRIBUTION.md``), so ``yolo-compress demo`` works on a fresh machine with no arguments.

The demo runs the ``demo`` recipe (``assets/recipes/demo.yaml``): static INT8 (minmax calibration on the
100 shipped train images) for ONNX Runtime and for OpenVINO, one bench run of the input and both artifacts on
the 60 shipped val images, and the report, whose targets (>= 3x smaller, faster than the input on the same
runtime, <= 2 points of mAP50-95 lost) are met by that run. It then names the one command that runs the full
``edge-cpu`` chain (prune, fine-tune, INT8) on the user's own model and data
(:func:`full_chain_command`): pruning needs a recovery on the user's full train set, not a demo's budget
(``assets/recipes/demo.yaml`` says what the short one cost).
"""

from __future__ import annotations

import shutil
import sys
from pathlib import Path

from .io import new_run_dir
from .shipped import ASSETS, DEFAULT_DATA, DEFAULT_IMGSZ, DEFAULT_MODEL, demo_images  # noqa: F401  (old home)


def _cli() -> str:
    """How the user reaches the CLI: ``yolo-compress`` when that is on PATH, else the path they ran
    (``.venv/bin/yolo-compress`` after ``make demo``)."""
    argv0 = Path(sys.argv[0]) if sys.argv and sys.argv[0] else None
    on_path = shutil.which("yolo-compress")
    if argv0 is None or argv0.name != "yolo-compress" or (on_path and Path(on_path).resolve() == argv0.resolve()):
        return "yolo-compress"
    try:
        return str(argv0.resolve().relative_to(Path.cwd().resolve()))
    except ValueError:
        return str(argv0)


def full_chain_command(cli: str | None = None) -> str:
    """The one command that runs the full ``edge-cpu`` chain on the user's model and data."""
    return f"{cli or _cli()} run edge-cpu --model YOUR_MODEL.pt --data YOUR_DATA.yaml --out runs/edge-cpu"


def _describe(stage) -> str:
    o = stage.options
    if stage.kind == "prune" and o.get("target_flops"):
        how = [o.get("criterion", "l2")]
        if o.get("allocation", "flops") != "flops":
            how.append(f"{o['allocation']} allocation")
        if o.get("soft_epochs"):
            how.append(f"channels faded over {o['soft_epochs']} epochs first")
        return f"prune to {o['target_flops']:.0%} of the GFLOPs ({', '.join(how)})"
    if stage.kind in ("distill", "finetune"):
        what = "self-distillation from your model" if stage.kind == "distill" else "fine-tuning"
        return f"{o.get('epochs', 10)} epochs of {what}"
    if stage.kind == "quantize":
        return f"INT8 for {dict(onnxruntime='ONNX Runtime', openvino='OpenVINO').get(o.get('backend'), o.get('backend'))}"
    return stage.kind


def next_step(cli: str | None = None) -> str:
    """What the demo prints last: what the full ``edge-cpu`` chain does (read from its recipe) and the command."""
    from .pipeline.recipe import load_recipe

    r = load_recipe("edge-cpu", check=False)
    return (f"next: the full edge-cpu chain ({', '.join(_describe(s) for s in r.stages)}, then bench and report) "
            f"on your model and data:\n  {full_chain_command(cli)}")


def run_demo(out_root: Path = Path("runs"), threads: int | None = 2, console=None) -> Path:
    """The main job on the built-in model and images: the ``demo`` recipe (INT8 for both CPU runtimes,
    bench, report with targets)."""
    from .pipeline.runner import run_recipe

    run = new_run_dir(out_root, "demo")
    if console is not None:
        console.print(f"report (when done): {run / 'report.html'} and {run / 'report.md'}", highlight=False)
    return run_recipe("demo", run, console=console, threads=threads)
