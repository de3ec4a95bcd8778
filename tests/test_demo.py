"""The built-in demo runs end to end on the shipped model and images (what `make demo` runs)."""

import json


def test_demo_writes_table(tmp_path):
    from yolo_compress.api import run_demo

    run_dir, report = run_demo(tmp_path, threads=2, runs=50)
    assert [r.name for r in report.rows] == ["PyTorch FP32", "ONNX Runtime FP32", "OpenVINO FP32"]
    js = json.loads((run_dir / "bench.json").read_text())
    maps = [r["eval_map50_95"] for r in js["rows"]]
    assert min(maps) > 0.3 and max(maps) - min(maps) <= 0.002
    assert (run_dir / "bench.md").read_text().count("FP32") >= 3
    assert (run_dir / "yolov8n-garbage320.onnx.parity.json").exists()
    assert json.loads((run_dir / "yolov8n-garbage320_openvino_model" / "parity.json").read_text())["passed"]
