"""LiteRT (TFLite) quantization on the reference YOLOv8n (garbage-320, imgsz 320): Ultralytics' own LiteRT
INT8 export (calibrated on the val split, what a user gets today) beside ours (static INT8 calibrated on 300
train images with the Detect head in float, FP16 weights, dynamic INT8), the FP32 .tflite and the ONNX
Runtime FP32 export, in one interleaved bench run.

    YOLO_OFFLINE=1 .venv/bin/python benchmarks/quant_litert.py             # artifacts (kept), then bench
    YOLO_OFFLINE=1 .venv/bin/python benchmarks/quant_litert.py --no-bench  # artifacts only
"""

from __future__ import annotations

import argparse
import os
import shutil
import tempfile
from pathlib import Path

from yolo_compress.api import BenchConfig, ExportConfig, QuantConfig, bench, export, quantize


def ultralytics_int8(model: Path, data: Path, imgsz: int, dest: Path) -> Path:
    """``YOLO(model).export(format='litert', int8=True, data=...)`` as a user runs it (calibrates on val)."""
    if dest.exists():
        return dest
    from ultralytics import YOLO

    with tempfile.TemporaryDirectory() as tmp:
        src = Path(tmp) / model.name
        shutil.copy2(model, src)
        out = YOLO(str(src)).export(format="litert", int8=True, data=str(data), imgsz=imgsz)
        shutil.move(out, dest)
    return dest


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--model", type=Path, default=Path("../shared/models/yolov8n-garbage320.pt"))
    ap.add_argument("--data", type=Path, default=Path("../shared/datasets/garbage-320/data.yaml"))
    ap.add_argument("--imgsz", type=int, default=320)
    ap.add_argument("--out", type=Path, default=Path("benchmarks/results/quant-litert"))
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--no-bench", action="store_true")
    a = ap.parse_args()
    a.out.mkdir(parents=True, exist_ok=True)
    data = str(a.data.resolve())
    rows: list[tuple[Path, str]] = []
    onnx = a.out / "fp32.onnx"
    if not onnx.exists():
        export(a.model, ExportConfig(format="onnx", imgsz=a.imgsz), out=onnx)
    rows.append((onnx, "FP32 ONNX Runtime"))
    fp32 = a.out / "fp32.tflite"
    if not fp32.exists():
        export(a.model, ExportConfig(format="tflite", imgsz=a.imgsz), out=fp32)
    rows.append((fp32, "FP32 LiteRT"))
    rows.append((ultralytics_int8(a.model, a.data, a.imgsz, a.out / "ultralytics_int8.tflite"),
                 "Ultralytics LiteRT INT8 (val calibration)"))
    for mode, name, label in [("ptq", "ours_int8.tflite", "ours LiteRT INT8 (300 train images, head float)"),
                              ("fp16", "ours_fp16.tflite", "ours LiteRT FP16 weights"),
                              ("dynamic", "ours_dynint8.tflite", "ours LiteRT dynamic INT8")]:
        dest = a.out / name
        if not dest.exists():
            quantize(a.model, QuantConfig(backend="litert", mode=mode, data=data, imgsz=a.imgsz), out=dest)
        rows.append((dest, label))
    if a.no_bench:
        return
    from rich.console import Console

    console = Console(width=220)
    rep = bench([p for p, _ in rows], BenchConfig(data=data, imgsz=a.imgsz, threads=2, runs=100, rounds=a.rounds),
                names=[n for _, n in rows], out_dir=a.out, console=console)
    rep.print(console)


if __name__ == "__main__":
    os.environ.setdefault("YOLO_OFFLINE", "1")
    main()
