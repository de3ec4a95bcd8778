"""Re-parameterization and the export targets side by side (issue 7): the reference YOLOv8n as a PyTorch
checkpoint, after ``reparam`` (Conv+BN folded, float64 exactness check), and exported to TorchScript, ONNX,
OpenVINO and LiteRT FP32; every export parity-checked, then one interleaved bench run (params, GFLOPs, size,
mAP50-95, latency vs the ONNX Runtime row). A second, in-process measurement times what ``reparam`` buys in
PyTorch eager mode, which the bench cannot show (its PyTorch runner always fuses): the unfused network vs
the folded one, alternating blocks of runs.

    YOLO_OFFLINE=1 .venv/bin/python benchmarks/export_targets.py --rounds 7
    YOLO_OFFLINE=1 .venv/bin/python benchmarks/export_targets.py --eager-only   # re-time eager mode only

Outputs under benchmarks/results/export-targets/: the artifacts (reused when present), bench.md/json,
reparam.txt, eager.md.
"""

from __future__ import annotations

import argparse
import copy
import os
import statistics
import time
from pathlib import Path


def eager_timing(model: Path, imgsz: int, threads: int, blocks: int, per_block: int) -> str:
    """Median latency of the unfused vs the folded network in PyTorch eager mode, alternating blocks."""
    import torch

    from yolo_compress.models import load_model

    torch.set_num_threads(threads)
    raw = load_model(model).model.float().eval()
    fused = copy.deepcopy(raw).fuse().eval()
    x = torch.rand(1, 3, imgsz, imgsz)
    times = {"unfused": [], "folded (reparam)": []}
    nets = {"unfused": raw, "folded (reparam)": fused}
    with torch.inference_mode():
        for net in nets.values():
            for _ in range(5):
                net(x)
        for _ in range(blocks):
            for name, net in nets.items():
                net(x)  # untimed: the first call after switching
                for _ in range(per_block):
                    t = time.perf_counter()
                    net(x)
                    times[name].append(time.perf_counter() - t)
                time.sleep(0.05)
    base = statistics.median(times["unfused"])
    lines = [f"PyTorch eager, imgsz {imgsz}, {threads} threads, {blocks} alternating blocks of {per_block} runs", "",
             "| network | median ms | vs unfused |", "|---|---|---|"]
    for name, t in times.items():
        m = statistics.median(t)
        lines.append(f"| {name} | {1000 * m:.2f} | {m / base:.2f}x |")
    return "\n".join(lines) + "\n"


def main() -> None:
    from rich.console import Console

    from yolo_compress.api import BenchConfig, ExportConfig, bench, export
    from yolo_compress.reparam import reparam_checkpoint

    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--model", type=Path, default=Path("../shared/models/yolov8n-garbage320.pt"))
    ap.add_argument("--data", type=Path, default=Path("../shared/datasets/garbage-320/data.yaml"))
    ap.add_argument("--imgsz", type=int, default=320)
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--out", type=Path, default=Path("benchmarks/results/export-targets"))
    ap.add_argument("--eager-only", action="store_true", help="only the eager-mode unfused vs folded timing")
    a = ap.parse_args()
    a.out.mkdir(parents=True, exist_ok=True)
    stem = a.model.stem
    fused = a.out / f"{stem}-fused.pt"
    if not fused.exists():
        res, _ = reparam_checkpoint(a.model, fused, imgsz=a.imgsz)
        (a.out / "reparam.txt").write_text(res.summary() + "\n")
    eager = eager_timing(a.model, a.imgsz, threads=2, blocks=20, per_block=10)
    (a.out / "eager.md").write_text(eager)
    print(eager)
    if a.eager_only:
        return
    targets = [("onnx", f"{stem}.onnx", "ONNX (ONNX Runtime)"),
               ("torchscript", f"{stem}.torchscript", "TorchScript"),
               ("openvino", f"{stem}_openvino_model", "OpenVINO IR"),
               ("tflite", f"{stem}.tflite", "LiteRT FP32 (XNNPACK)")]
    rows = []
    for fmt, name, label in targets:
        dest = a.out / name
        if not dest.exists():
            export(a.model, ExportConfig(format=fmt, imgsz=a.imgsz), out=dest)
        rows.append((dest, label))
    rows += [(a.model, "PyTorch checkpoint (the bench fuses it)"), (fused, "PyTorch after reparam (folded)")]
    console = Console(width=220)
    report = bench([p for p, _ in rows], BenchConfig(data=str(a.data), imgsz=a.imgsz, threads=2, runs=100,
                                                     rounds=a.rounds),
                   names=[n for _, n in rows], out_dir=a.out, console=console)
    report.print(console)


if __name__ == "__main__":
    os.environ.setdefault("YOLO_OFFLINE", "1")
    main()
