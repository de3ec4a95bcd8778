"""Foundation benchmark: the reference YOLOv8n on garbage-320 val through one measurement path.

Rows: PyTorch FP32, ONNX Runtime FP32, OpenVINO FP32 (our exports, parity-checked) and, as the peer a
user would pick today, Ultralytics' own INT8 exports (``export(format="onnx"|"openvino", quantize=8,
data=...)``, which calibrate on the val split by default) — all measured by ``yolo_compress.bench`` in
one process run (ratios are comparable, absolute times only roughly).

    YOLO_OFFLINE=1 .venv/bin/python benchmarks/foundation.py \
        --model ../shared/models/yolov8n-garbage320.pt \
        --data ../shared/datasets/garbage-320/data.yaml --out benchmarks/results/foundation

Writes ``bench.md`` / ``bench.json`` into ``--out`` (and the artifacts); BENCHMARKS.md quotes bench.md.

``--ours`` adds our own INT8 of the same model beside the peer's (static PTQ, minmax, 300 *train* images, parity-
checked; OpenVINO and ONNX Runtime), so both quantizers are timed in the same run: the side by side of issue 20
on the converged model:

    YOLO_OFFLINE=1 .venv/bin/python benchmarks/foundation.py --model benchmarks/zoo/yolov8n-garbage320-200ep.pt \
        --ours --out benchmarks/results/foundation-converged
"""

from __future__ import annotations

import argparse
import shutil
from pathlib import Path

from yolo_compress.api import BenchConfig, ExportConfig, bench, export


def ultralytics_int8(pt: Path, fmt: str, data: Path, imgsz: int) -> Path:
    """Ultralytics' own INT8 export, as a user would call it (its defaults, calibration on val)."""
    from ultralytics import YOLO

    return Path(YOLO(str(pt)).export(format=fmt, quantize=8, data=str(data), imgsz=imgsz, device="cpu",
                                     verbose=False))


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--model", type=Path, default=Path("../shared/models/yolov8n-garbage320.pt"))
    ap.add_argument("--data", type=Path, default=Path("../shared/datasets/garbage-320/data.yaml"))
    ap.add_argument("--imgsz", type=int, default=320)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--runs", type=int, default=100)
    ap.add_argument("--out", type=Path, default=Path("benchmarks/results/foundation"))
    ap.add_argument("--ours", action="store_true", help="also our INT8 (OpenVINO, ONNX Runtime) of the same model")
    a = ap.parse_args()

    a.out.mkdir(parents=True, exist_ok=True)
    pt = a.out / a.model.name
    shutil.copy2(a.model, pt)
    onnx = export(pt, ExportConfig(format="onnx", imgsz=a.imgsz), threads=a.threads).artifact.path
    ov = export(pt, ExportConfig(format="openvino", imgsz=a.imgsz), threads=a.threads).artifact.path
    peer_dir = a.out / "ultralytics-int8"
    peer_dir.mkdir(exist_ok=True)
    peer_pt = peer_dir / a.model.name
    shutil.copy2(a.model, peer_pt)
    u_onnx = ultralytics_int8(peer_pt, "onnx", a.data, a.imgsz)
    u_ov = ultralytics_int8(peer_pt, "openvino", a.data, a.imgsz)
    items = [pt, onnx, ov, u_onnx, u_ov]
    names = ["PyTorch FP32 (fused)", "ONNX Runtime FP32 (ours)", "OpenVINO FP32 (ours)",
             "Ultralytics ONNX INT8 (peer)", "Ultralytics OpenVINO INT8 (peer)"]
    if a.ours:
        from yolo_compress.api import QuantConfig, quantize

        for backend, name in (("onnxruntime", "ONNX Runtime INT8 (ours)"), ("openvino", "OpenVINO INT8 (ours)")):
            dest = a.out / "ours-int8" / (f"{pt.stem}_int8.onnx" if backend == "onnxruntime" else f"{pt.stem}_int8_openvino_model")
            if not dest.exists():  # resumable: a finished artifact is reused
                quantize(pt, QuantConfig(backend=backend, data=str(a.data), imgsz=a.imgsz), dest, threads=a.threads)
            items.append(dest)
            names.append(name)
    from rich.console import Console

    console = Console(width=200)
    report = bench(
        items,
        BenchConfig(data=str(a.data), imgsz=a.imgsz, threads=a.threads, runs=a.runs, warmup=10, rounds=3),
        names=names, out_dir=a.out, console=console,
    )
    report.print(console)
    print((a.out / "bench.md").read_text())


if __name__ == "__main__":
    main()
