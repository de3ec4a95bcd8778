"""A/B on this machine: our LiteRT INT8 / dynamic through the old ai-edge-quantizer 0.10.0 (aliased under the
new module name for this throwaway script only), benched (mAP only) beside the litert-quantizer artifacts."""
import sys
import ai_edge_quantizer, ai_edge_quantizer.algorithm_manager
sys.modules["litert_quantizer"] = ai_edge_quantizer
sys.modules["litert_quantizer.algorithm_manager"] = ai_edge_quantizer.algorithm_manager
from pathlib import Path
from yolo_compress.api import BenchConfig, QuantConfig, bench, quantize
data = str(Path("/work/shared/datasets/garbage-320/data.yaml"))
model = Path("/work/shared/models/yolov8n-garbage320.pt")
out = Path("/tmp/lq-ab")
for mode, name in [("ptq", "old_int8.tflite"), ("dynamic", "old_dynint8.tflite")]:
    if not (out / name).exists():
        quantize(model, QuantConfig(backend="litert", mode=mode, data=data, imgsz=320), out=out / name)
new = Path("/tmp/lq-bench/quant-litert")
rows = [out / "old_int8.tflite", new / "ours_int8.tflite", out / "old_dynint8.tflite", new / "ours_dynint8.tflite"]
rep = bench(rows, BenchConfig(data=data, imgsz=320, threads=2, runs=0),
            names=["ai-edge-quantizer 0.10.0 INT8", "litert-quantizer 0.11.0 INT8",
                   "ai-edge-quantizer 0.10.0 dynamic", "litert-quantizer 0.11.0 dynamic"], out_dir=out)
print(rep.to_markdown())
