"""`predict`: every runnable artifact format draws the same boxes as the checkpoint, on images, a folder and
a video, with the bench's pre/post-processing; bad sources and settings fail with one line."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy as np
import pytest
from conftest import run_cli

from yolo_compress.api import ExportConfig, export, predict
from yolo_compress.errors import ConfigError, InputError

IMGSZ = 160


@pytest.fixture(scope="module")
def source(default_data, tmp_path_factory) -> Path:
    """3 shipped val images and a 4-frame video made from 4 others (320x320 and 256x192 frames)."""
    import cv2

    d = tmp_path_factory.mktemp("predict-src")
    imgs = sorted((default_data.parent / "images" / "val").iterdir())
    for f in imgs[:3]:
        shutil.copy(f, d / f.name)
    w = cv2.VideoWriter(str(d / "clip.mp4"), cv2.VideoWriter_fourcc(*"mp4v"), 5, (256, 192))
    for f in imgs[3:7]:
        w.write(cv2.resize(cv2.imread(str(f)), (256, 192)))
    w.release()
    return d


def _boxes(res, key):
    return np.array([[*d.box, d.conf, d.cls] for d in res.frames[key]]).reshape(-1, 6)


@pytest.mark.parametrize("fmt", ["onnx", "openvino", "torchscript"])
def test_exported_artifact_predicts_what_the_checkpoint_predicts(fmt, default_model, source, tmp_path):
    import cv2

    art = export(default_model, ExportConfig(format=fmt, imgsz=IMGSZ), out=tmp_path / f"m.{fmt}").artifact
    ref = predict(default_model, source, tmp_path / "ref", imgsz=IMGSZ, runtime="torch")
    res = predict(art.path, source, tmp_path / "out")
    assert len(res.frames) == 3 + 4 and set(res.frames) == set(ref.frames)
    assert ref.detections > 0, "the trained default model found nothing on its own val images"
    for key in ref.frames:
        a, b = _boxes(ref, key), _boxes(res, key)
        assert len(a) == len(b), f"{fmt} {key}: {len(b)} boxes vs {len(a)} from the checkpoint"
        if len(a):
            assert np.abs(a[:, :4] - b[:, :4]).max() < 1.0 and (a[:, 5] == b[:, 5]).all(), key
    names = sorted(p.name for p in res.written)
    assert names == sorted([*(p.name for p in source.glob("*.jpg")), "clip.mp4"])
    for f in source.glob("*.jpg"):  # annotated copies keep the original size, and boxes were drawn
        drawn, orig = cv2.imread(str(tmp_path / "out" / f.name)), cv2.imread(str(f))
        assert drawn.shape == orig.shape
        assert (np.abs(drawn.astype(int) - orig).sum(-1) > 60).any() == bool(res.frames[f.name])
    cap = cv2.VideoCapture(str(tmp_path / "out" / "clip.mp4"))
    assert int(cap.get(cv2.CAP_PROP_FRAME_COUNT)) == 4 and int(cap.get(cv2.CAP_PROP_FRAME_WIDTH)) == 256
    saved = json.loads((tmp_path / "out" / "predictions.json").read_text())
    assert saved["imgsz"] == IMGSZ and sum(len(v) for v in saved["frames"].values()) == res.detections


def test_conf_threshold_filters(default_model, source, tmp_path):
    lo = predict(default_model, source, tmp_path / "lo", conf=0.05, imgsz=IMGSZ, save=False)
    hi = predict(default_model, source, tmp_path / "hi", conf=0.5, imgsz=IMGSZ, save=False)
    assert lo.detections > hi.detections
    assert all(d.conf >= 0.5 for v in hi.frames.values() for d in v)
    assert not list((tmp_path / "hi").glob("*.jpg"))  # --no-save: only the JSON


def test_bad_inputs_one_line_and_nothing_written(default_model, tiny_onnx, source, tmp_path):
    with pytest.raises(InputError, match="not found"):
        predict(default_model, tmp_path / "nope", tmp_path / "o")
    (tmp_path / "notes.txt").write_text("x")
    with pytest.raises(InputError, match="neither an image nor a video"):
        predict(default_model, tmp_path / "notes.txt", tmp_path / "o")
    (tmp_path / "empty").mkdir()
    with pytest.raises(InputError, match="has no images"):
        predict(default_model, tmp_path / "empty", tmp_path / "o")
    (tmp_path / "broken.mp4").write_bytes(b"not a video")
    with pytest.raises(InputError, match="cannot be decoded"):
        predict(default_model, tmp_path / "broken.mp4", tmp_path / "o")
    with pytest.raises(ConfigError, match="--conf"):
        predict(default_model, source, tmp_path / "o", conf=1.5)
    with pytest.raises(ConfigError, match="exported at imgsz 64"):
        predict(tiny_onnx, source, tmp_path / "o", imgsz=320)
    r = run_cli("predict", str(tiny_onnx), str(tmp_path / "nope"), "--out", str(tmp_path / "cli"))
    assert r.returncode != 0 and r.stderr.count("\n") == 1 and "not found" in r.stderr
    assert not (tmp_path / "cli").exists()
