"""The embedded default: a YOLOv8n trained on garbage-320 and 60 of its val images (CC BY 4.0, see
``assets/ATTRIBUTION.md``), so ``yolo-compress demo`` works on a fresh machine with no arguments.

The demo runs the ``demo`` recipe (``assets/recipes/demo.yaml``): prune, self-distill, INT8 for ONNX
Runtime and OpenVINO, one bench run over every stage, and the report.
"""

from __future__ import annotations

import datetime as _dt
from importlib import resources
from pathlib import Path

import numpy as np

ASSETS = Path(str(resources.files("yolo_compress") / "assets"))
DEFAULT_MODEL = ASSETS / "yolov8n-garbage320.pt"
DEFAULT_DATA = ASSETS / "garbage60" / "data.yaml"
DEFAULT_IMGSZ = 320


def demo_images(n: int = 8) -> list[np.ndarray]:
    """Real images for parity checks when the user gives no dataset."""
    from .data import load_data

    return [s.image for s in load_data(DEFAULT_DATA).samples("val", n)]


def new_run_dir(root: Path, name: str) -> Path:
    stamp = _dt.datetime.now().strftime("%Y%m%d-%H%M%S")
    d = root / f"{name}-{stamp}"
    i = 1
    while d.exists():
        i += 1
        d = root / f"{name}-{stamp}-{i}"
    d.mkdir(parents=True)
    return d


def run_demo(out_root: Path = Path("runs"), threads: int | None = 2, console=None) -> Path:
    """The main job on the built-in model and images: the ``demo`` recipe (edge-cpu with short budgets)."""
    from .pipeline.runner import run_recipe

    run = new_run_dir(out_root, "demo")
    if console is not None:
        console.print(f"report (when done): {run / 'report.html'} and {run / 'report.md'}", highlight=False)
    return run_recipe("demo", run, console=console, threads=threads)
