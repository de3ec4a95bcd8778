"""Which part of YOLOv8n's Detect head must stay float in LiteRT static INT8: the reference model quantized
with AI Edge Quantizer on the same 32 train calibration images and different float scopes, mAP on val
(no timing). Produces the numbers behind quant/litert.py's choice.

    YOLO_OFFLINE=1 .venv/bin/python benchmarks/litert_head_probe.py

Outputs under benchmarks/results/quant-litert/head-probe/: one .tflite per variant, bench.md/json.
"""

from __future__ import annotations

import argparse
import os
from pathlib import Path

from yolo_compress.api import BenchConfig, ExportConfig, bench, export
from yolo_compress.data import load_data
from yolo_compress.quant import litert
from yolo_compress.quant.calib import split_train

DECODE = r".*(Detect[^/]*;\d+$|DFL_dfl|_NormalizeCoords;\d+$|serving_default_output)"  # decode ops only
VARIANTS = {  # name -> (float scope, INT8-weight scope)
    "all-int8": (None, None),
    "decode-float": (DECODE, None),
    "decode+final-head-convs-float": (DECODE[:-1] + r"|Sequential_\d/torch.nn.modules.conv.Conv2d_2)", None),
    "decode+inner-head-convs-float": (DECODE[:-1] + r"|Sequential_\d/ultralytics.nn.modules.conv.Conv_)", None),
    "head-float": (litert.HEAD_SCOPE, None),
    "head-float-int8-weights (shipped)": (litert.HEAD_SCOPE, litert.HEAD_CONVS),
}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--model", type=Path, default=Path("../shared/models/yolov8n-garbage320.pt"))
    ap.add_argument("--data", type=Path, default=Path("../shared/datasets/garbage-320/data.yaml"))
    ap.add_argument("--imgsz", type=int, default=320)
    ap.add_argument("--calib-images", type=int, default=32)
    a = ap.parse_args()
    out = Path("benchmarks/results/quant-litert/head-probe")
    out.mkdir(parents=True, exist_ok=True)
    fp32 = out / "fp32.tflite"
    if not fp32.exists():
        export(a.model, ExportConfig(format="tflite", imgsz=a.imgsz, verify=False), out=fp32)
    calib = split_train(load_data(a.data, splits=("train",)), a.calib_images, 0, a.imgsz).calib
    rows = [(fp32, "FP32")]
    for name, (float_scope, w8) in VARIANTS.items():
        dest = out / f"{name.split(' ')[0]}.tflite"
        if not dest.exists():
            litert.static_int8(fp32, dest, calib, float_scope, w8)
        rows.append((dest, name))
    bench([p for p, _ in rows], BenchConfig(data=str(a.data), imgsz=a.imgsz, runs=0), names=[n for _, n in rows],
          out_dir=out)
    print((out / "bench.md").read_text())


if __name__ == "__main__":
    os.environ.setdefault("YOLO_OFFLINE", "1")
    main()
