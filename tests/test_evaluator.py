"""Our evaluator must give the numbers Ultralytics' own val gives, on the same artifact."""

import pytest

from yolo_compress.runtime.evaluator import evaluate
from yolo_compress.runtime.runtimes import make_runner
from yolo_compress.data import load_data
from yolo_compress.runtime.artifact import inspect_artifact


@pytest.fixture(scope="module")
def reference_onnx(default_model, tmp_path_factory):
    from yolo_compress.api import ExportConfig, export

    out = tmp_path_factory.mktemp("ref") / "ref.onnx"
    return export(default_model, ExportConfig(format="onnx", imgsz=320), out=out).artifact.path


def test_map_matches_ultralytics_val(reference_onnx, default_data):
    from ultralytics import YOLO

    d = load_data(default_data)
    ours = evaluate(make_runner(inspect_artifact(reference_onnx), threads=2), d, 320)
    theirs = YOLO(str(reference_onnx), task="detect").val(
        data=str(d.to_ultralytics_yaml(reference_onnx.parent)), imgsz=320, batch=1, plots=False, device="cpu",
        workers=0, verbose=False, save_json=False,
    )
    assert ours.images == 60 and ours.instances > 100
    assert ours.map50 == pytest.approx(theirs.box.map50, abs=2e-3)
    assert ours.map50_95 == pytest.approx(theirs.box.map, abs=2e-3)
    # COCO protocol (101-point, clipped boxes) differs slightly but not by much
    assert ours.coco_map50_95 == pytest.approx(ours.map50_95, abs=0.03)
    assert ours.map50_95 > 0.2  # a trained model, not noise


def test_empty_predictions_give_zero(default_data):
    import numpy as np

    d = load_data(default_data)
    res = evaluate(lambda x: np.zeros((1, 7, 2100), np.float32), d, 320, limit=5)
    assert res.map50_95 == 0.0 and res.coco_map50_95 == 0.0 and res.images == 5
