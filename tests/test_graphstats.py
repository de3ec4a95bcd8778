"""Params and GFLOPs are counted from each artifact's own graph and must agree across formats."""

import pytest

from yolo_compress.bench.bench import graph_stats
from yolo_compress.models import load_model
from yolo_compress.runtime.artifact import inspect_artifact
from yolo_compress.runtime.graphstats import model_info


@pytest.mark.parametrize("fmt", ["onnx", "openvino"])
def test_artifact_stats_match_pytorch(tiny_pt, tmp_path, fmt):
    from yolo_compress.api import ExportConfig, export

    art = export(tiny_pt, ExportConfig(format=fmt, imgsz=64), out=tmp_path / ("m.onnx" if fmt == "onnx" else "m_openvino_model")).artifact
    ref = model_info(load_model(tiny_pt).model.fuse(), 64)
    got = graph_stats(art, 64)
    if fmt == "onnx":
        assert got.params == ref.params
    else:  # OpenVINO folds away all-zero biases (an untrained model has them); the trained model matches exactly
        assert got.params == pytest.approx(ref.params, rel=0.005)
    assert got.gflops == pytest.approx(ref.gflops, rel=1e-6)


def test_reference_model_counts_identical_in_every_format(default_model, tmp_path):
    from yolo_compress.api import ExportConfig, export

    ref = model_info(load_model(default_model).model.fuse(), 320)
    for fmt, name in (("onnx", "r.onnx"), ("openvino", "r_openvino_model")):
        art = export(default_model, ExportConfig(format=fmt, imgsz=320, verify=False), out=tmp_path / name).artifact
        got = graph_stats(art, 320)
        assert (got.params, round(got.gflops, 6)) == (ref.params, round(ref.gflops, 6)) == (3006233, 2.021222)


def test_fp16_onnx_keeps_the_counts(tiny_pt, tiny_onnx, tmp_path):
    from yolo_compress.api import ExportConfig, export

    half = export(tiny_pt, ExportConfig(format="onnx", imgsz=64, half=True), out=tmp_path / "h.onnx").artifact
    assert half.precision in ("fp16", "mixed")
    a, b = graph_stats(inspect_artifact(tiny_onnx), 64), graph_stats(half, 64)
    assert a.params == b.params and a.gflops == pytest.approx(b.gflops, rel=1e-6)
