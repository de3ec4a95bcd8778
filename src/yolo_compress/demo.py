"""The embedded default: a YOLOv8n trained on garbage-320 and 60 of its val images (CC BY 4.0, see
``assets/ATTRIBUTION.md``), so ``yolo-compress demo`` works on a fresh machine with no arguments.

Until the compression stages exist, the demo exports the default model to ONNX and OpenVINO, verifies
parity, and benchmarks the three artifacts into a run folder.
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


def run_demo(out_root: Path = Path("runs"), threads: int | None = 2, runs: int = 50, console=None):
    from .bench.bench import bench
    from .config import BenchConfig, ExportConfig
    from .export.exporter import export

    run_dir = new_run_dir(out_root, "demo")
    model = run_dir / DEFAULT_MODEL.name
    model.write_bytes(DEFAULT_MODEL.read_bytes())
    exports = []
    for fmt in ("onnx", "openvino"):
        res = export(model, ExportConfig(format=fmt, imgsz=DEFAULT_IMGSZ), threads=threads)
        if console is not None and res.parity is not None:
            console.print(f"[green]{fmt}[/green]: {res.artifact.path.name} — {res.parity.summary()}")
        exports.append(res.artifact.path)
    report = bench([model, *exports], BenchConfig(data=str(DEFAULT_DATA), imgsz=DEFAULT_IMGSZ, threads=threads, runs=runs),
                   names=["PyTorch FP32", "ONNX Runtime FP32", "OpenVINO FP32"], out_dir=run_dir, console=console)
    return run_dir, report
