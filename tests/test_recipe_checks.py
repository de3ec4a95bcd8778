"""Recipes are checked whole before any work: value types, backend / format capability on this machine, layer
names against the model, data / teacher files, the run name. `run --check` does only that; `run` refuses the
same recipes before its first stage."""

from __future__ import annotations

from pathlib import Path

import pytest

from conftest import run_cli
from yolo_compress.cli import main
from yolo_compress.errors import YoloCompressError
from yolo_compress.pipeline.recipe import load_recipe

HEAD = "model: {model}\ndata: {data}\nimgsz: 64\n"
BAD = [
    ("stages:\n  - quantize: {{backend: litert, max_drop: 1}}\n", 5, "--max-drop is not available with --backend litert"),
    ("stages:\n  - export: {{format: bogus}}\n", 5, "export format 'bogus' is unknown"),
    ("stages:\n  - prune: {{ratio: 0.3}}\n  - export: {{format: onnx, nms_free: true}}\n", 6,
     "nms_free: the model .* has no NMS-free \\(end-to-end\\) head"),
    ("stages:\n  - quantize: {{backend: onnxruntime, max_drop: 0.5, control_split: test}}\n", 5, "has no 'test:' entry"),
    ("stages:\n  - prune:\n      ratio: 0.3\n      ignore: [model.99.cv1]\n", 7,
     "ignore 'model.99.cv1' is not a layer of the model .* \\(did you mean 'model.9.cv1'\\?\\)"),
    ("stages:\n  - quantize: {{backend: onnxruntime, ignore: [model.22.cv9]}}\n", 5, "ignore 'model.22.cv9' is not a layer"),
    ("stages:\n  - quantize: {{backend: onnxruntime, box_float: sometimes}}\n", 5, "'box_float' is 'sometimes' \\(str\\)"),
    ("stages:\n  - quantize: {{backend: litert, box_float: true}}\n", 5, "--box-float on applies to static INT8 on"),
    ("stages:\n  - quantize: {{backend: onnxruntime, bias_correction: full}}\n", 5,
     "--bias-correction full is not available with --backend onnxruntime; use --backend openvino for it"),
    ("targets: {{max_map_drop: \"1.5\"}}\nstages:\n  - prune: {{ratio: 0.3}}\n", 4,
     "target 'max_map_drop' is '1.5' \\(str\\); expected a number"),
    ("stages:\n  - prune: {{ratio: \"0.3\"}}\n", 5, "stage 1 'prune': 'ratio' is '0.3' \\(str\\)"),
    ("bench: {{runs: fifty}}\nstages:\n  - prune: {{ratio: 0.3}}\n", 4, "bench 'runs' is 'fifty'"),
    ("name: ../../x\nstages:\n  - prune: {{ratio: 0.3}}\n", 4, "name '../../x' is not a plain folder name"),
    ("name: /tmp/abs\nstages:\n  - prune: {{ratio: 0.3}}\n", 4, "name '/tmp/abs' is not a plain folder name"),
    ("name: a/b\nstages:\n  - prune: {{ratio: 0.3}}\n", 4, "name 'a/b' is not a plain folder name"),
    ("teacher: nowhere.pt\nstages:\n  - distill: {{epochs: 1}}\n", 4, "teacher '.*nowhere.pt' not found"),
    ("stages:\n  - prune: {{ratio: 0.3}}\n  - finetune: {{epochs: 1, precision: fp16}}\n", 6,
     "precision 'fp16' is unknown; choose fp32, bf16, auto"),
    # registry names: checked by the stage (config does not import the prune / distill registries)
    ("stages:\n  - prune: {{ratio: 0.3, criterion: l3}}\n", 5, "criterion 'l3' is unknown; choose one of"),
    ("teacher: input\nstages:\n  - distill:\n      epochs: 1\n      losses: {{cdw: 1}}\n", 8,
     "distillation loss 'cdw' is unknown \\(did you mean cwd\\?\\)"),
]


@pytest.fixture(scope="module")
def model(default_model) -> Path:
    return default_model


def _write(tmp_path: Path, body: str, model, data) -> Path:
    p = tmp_path / "r.yaml"
    p.write_text(HEAD.format(model=model, data=data) + body.format())
    return p


@pytest.mark.parametrize("body,line,match", BAD, ids=[b[2][:30] for b in BAD])
def test_bad_recipe_is_refused_by_check_and_at_run_start(tmp_path, capsys, body, line, match, model,
                                                         val_as_train_data):
    rec = _write(tmp_path, body, model, val_as_train_data)
    with pytest.raises(YoloCompressError, match=f"r.yaml:{line}: .*{match}"):
        load_recipe(rec)
    assert main(["run", "--check", str(rec)]) != 0
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and f"r.yaml:{line}:" in err, err
    out = tmp_path / "run"
    assert main(["run", str(rec), "--out", str(out)]) != 0  # refused before the first stage: nothing written
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and f"r.yaml:{line}:" in err, err
    assert not out.exists() and not (Path("runs") / "x").exists()


def test_check_of_a_good_recipe_exits_0_and_does_no_work(tmp_path, model, val_as_train_data):
    rec = _write(tmp_path, "stages:\n  - prune: {{ratio: 0.3, ignore: [model.9.cv1]}}\n"
                           "  - quantize: {{backend: onnxruntime, ignore: [model.22.cv2.0]}}\n"
                           "  - export: {{format: onnx}}\n", model, val_as_train_data)
    before = set(tmp_path.iterdir())
    r = run_cli("run", "--check", str(rec))  # the real CLI, once
    assert r.returncode == 0 and "ok (imgsz 64, 3 stages" in r.stdout, r.stderr
    assert set(tmp_path.iterdir()) == before
    bad = tmp_path / "bad.yaml"
    bad.write_text(rec.read_text().replace("format: onnx", "format: bogus"))
    r = run_cli("run", "--check", str(bad))
    assert r.returncode != 0 and r.stderr.count("\n") == 1 and "bad.yaml:7:" in r.stderr, r.stderr


def test_missing_data_and_model_are_named_with_their_line(tmp_path, model, val_as_train_data):
    rec = _write(tmp_path, "stages:\n  - prune: {{ratio: 0.3}}\n", model, tmp_path / "nowhere.yaml")
    with pytest.raises(YoloCompressError, match=r"r.yaml:2: .*nowhere.yaml"):
        load_recipe(rec)
    rec = _write(tmp_path, "stages:\n  - prune: {{ratio: 0.3}}\n", tmp_path / "nothing.pt", val_as_train_data)
    with pytest.raises(YoloCompressError, match=r"r.yaml:1: .*nothing.pt"):
        load_recipe(rec)
