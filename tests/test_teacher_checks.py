"""A recipe with ``teacher: PATH`` validates the teacher before any stage runs (issue 20): a teacher that is
missing, is not a detector, predicts other classes or has another head layout is refused in one line that
names the teacher, with a non-zero exit and nothing trained."""

from __future__ import annotations

from pathlib import Path

import pytest

from yolo_compress.cli import main
from yolo_compress.errors import YoloCompressError
from yolo_compress.pipeline.recipe import load_recipe

BODY = "model: {model}\ndata: {data}\nimgsz: 64\nteacher: {teacher}\nstages:\n  - distill: {{epochs: 1, batch: 4}}\n"


@pytest.fixture(scope="module")
def teachers(tmp_path_factory) -> dict[str, Path]:
    import torch
    from ultralytics.nn.tasks import ClassificationModel

    from yolo_compress.models import load_model, save_model

    d = tmp_path_factory.mktemp("teachers")
    cls = d / "cls.pt"  # a classifier checkpoint as Ultralytics writes one (model + train_args)
    torch.save({"model": ClassificationModel("yolov8n-cls.yaml", nc=3, verbose=False).half(),
                "train_args": {"task": "classify", "imgsz": 64}}, cls)
    p2 = load_model("yolov8n-p2.yaml", nc=3)  # the dataset's classes, but 4 strides (P2-P5) instead of 3
    p2.model.names = {0: "garbage", 1: "garbage_bin", 2: "overflow"}
    return {
        "other-classes": save_model(load_model("yolov8n.yaml", nc=5), d / "nc5.pt"),
        "classifier": cls,
        "p2-head": save_model(p2, d / "p2.pt"),
        "missing": d / "nowhere.pt",
    }


@pytest.mark.parametrize("kind,match", [
    ("missing", "teacher '.*nowhere.pt' not found"),
    ("classifier", "'.*cls.pt' is a 'classify' model; yolo-compress works on detection models"),
    ("other-classes", "teacher '.*nc5.pt' predicts 5 classes"),
    ("p2-head", "teacher '.*p2.pt' head \\(strides"),
])
def test_bad_teacher_is_refused_before_any_stage(tmp_path, capsys, teachers, kind, match, default_model,
                                                 val_as_train_data):
    rec = tmp_path / "r.yaml"
    rec.write_text(BODY.format(model=default_model, data=val_as_train_data, teacher=teachers[kind]))
    with pytest.raises(YoloCompressError, match=f"r.yaml:4: .*{match}"):
        load_recipe(rec)
    out = tmp_path / "run"
    assert main(["run", str(rec), "--out", str(out)]) != 0
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "r.yaml:4:" in err, err
    assert not out.exists()  # nothing trained, nothing written


def test_a_matching_teacher_passes_the_check(tmp_path, default_model, val_as_train_data):
    rec = tmp_path / "r.yaml"
    rec.write_text(BODY.format(model=default_model, data=val_as_train_data, teacher=default_model))
    with pytest.raises(YoloCompressError, match="r.yaml:4: .*trained at imgsz 320 but distillation runs at 64"):
        load_recipe(rec)
    rec.write_text(rec.read_text().replace("imgsz: 64", "imgsz: 320"))
    assert main(["run", "--check", str(rec)]) == 0
