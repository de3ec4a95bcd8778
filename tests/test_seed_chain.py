"""The seed article's chain as a built-in recipe (issue 22): a YOLOv9s teacher distilled into a YOLOv9t
student, re-parameterized, static INT8 on LiteRT. Run end to end on untrained models at imgsz 64."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from conftest import run_cli
from yolo_compress.errors import ConfigError
from yolo_compress.pipeline.recipe import load_recipe

NAMES = {0: "garbage", 1: "garbage_bin", 2: "overflow"}  # the built-in data's classes


@pytest.fixture(scope="module")
def pair(tmp_path_factory) -> tuple[Path, Path]:
    from yolo_compress.models import load_model, save_model

    d = tmp_path_factory.mktemp("v9")
    out = []
    for name in ("yolov9t", "yolov9s"):
        y = load_model(f"{name}.yaml", nc=3)
        y.model.names = dict(NAMES)
        out.append(save_model(y, d / f"{name}.pt"))
    return out[0], out[1]


def test_builtin_recipe_is_the_seed_chain():
    r = load_recipe("yolov9-seed", overrides={"teacher": "input"})
    assert [s.kind for s in r.stages] == ["distill", "reparam", "quantize"]
    q = r.stages[-1].config
    assert (q.backend, q.mode) == ("litert", "ptq") and r.runtimes == ("litert",)


def test_without_a_teacher_one_line_names_the_fix():
    with pytest.raises(ConfigError, match=r"yolov9-seed.yaml:\d+: a distill stage needs 'teacher:'.*run --teacher PATH"):
        load_recipe("yolov9-seed")


def test_a_runtime_that_cannot_be_exported_here_is_refused_at_load(tmp_path, monkeypatch):
    import importlib.util

    real = importlib.util.find_spec
    monkeypatch.setattr(importlib.util, "find_spec", lambda n, *a: None if n == "litert_torch" else real(n, *a))
    p = tmp_path / "r.yaml"
    p.write_text("imgsz: 64\nruntimes: [litert]\nstages:\n  - quantize: {backend: onnxruntime}\n")
    with pytest.raises(ConfigError, match=r"r.yaml:2: runtime 'litert': .*litert_torch"):
        load_recipe(p)


def test_seed_chain_end_to_end_on_yolov9(pair, few_images_data, tmp_path):
    """distill v9s -> v9t, fuse RepConvN, static INT8 with parity; the bench reads the chain's rows. (The
    built-in runs on LiteRT: runtimes [litert] and a LiteRT INT8 stage; both are swapped for ONNX Runtime
    here to keep the suite inside its time budget.)"""
    from ultralytics.nn.modules.conv import RepConv

    from yolo_compress.models import load_model

    student, teacher = pair
    body = Path(load_recipe("yolov9-seed", overrides={"teacher": "input"}).path).read_text()
    assert "\nimgsz:" not in body  # the built-in names none: the model's own size; this test runs at 64
    body = "imgsz: 64\n" + (body.replace("runtimes: [litert]", "runtimes: [onnxruntime]\nbench: {runs: 0}")
            .replace("epochs: 20,", "epochs: 1, batch: 16, workers: 0,")
            # ONNX Runtime INT8 here: LiteRT's INT8 conversion of YOLOv9 alone took 29 of this test's 64 s, over the
            # suite's 10-minute budget; LiteRT static INT8 itself is tested in test_quant (the built-in's backend above)
            .replace("backend: litert, calibration: minmax}", "backend: onnxruntime, calibration: minmax, calib_images: 8}"))
    recipe = tmp_path / "seed.yaml"
    recipe.write_text(body)
    run = tmp_path / "run"
    r = run_cli("run", str(recipe), "--model", str(student), "--teacher", str(teacher), "--data",
                str(few_images_data), "--out", str(run))
    assert r.returncode == 0, r.stderr[-3000:]
    info = json.loads((run / "01-distill" / "stage.json").read_text())["info"]
    assert Path(info["teacher"]) == teacher and info["epochs"] == 1
    fused = load_model(run / "02-reparam" / "model.pt").model
    v9t = load_model(student).model
    assert sum(isinstance(m, RepConv) and hasattr(m, "conv1") for m in v9t.modules()) > 0  # RepConvN to fuse
    assert not any(isinstance(m, RepConv) and hasattr(m, "conv1") for m in fused.modules())
    assert sum(p.numel() for p in fused.parameters()) < sum(p.numel() for p in v9t.parameters())
    q = json.loads((run / "03-quantize" / "stage.json").read_text())
    assert q["output"] == "model_int8.onnx"
    parity = json.loads((run / "03-quantize" / "model_int8.onnx.parity.json").read_text())
    assert parity["passed"], parity
    rows = json.loads((run / "rows.json").read_text())
    assert [(m["stage"], m["runtime"]) for m in rows] == [
        ("00-input", "onnxruntime"), ("01-distill", "onnxruntime"), ("02-reparam", "onnxruntime"),
        ("03-quantize", "onnxruntime")]
    assert "03-quantize" in (run / "report.md").read_text()


def test_run_help_names_every_builtin_recipe():
    from yolo_compress.cli import build_parser
    from yolo_compress.pipeline.recipe import list_builtin

    run = build_parser()._subparsers._group_actions[0].choices["run"]
    text = next(a.help for a in run._actions if a.dest == "recipe")
    assert all(name in text for name in list_builtin() if name != "demo"), text
