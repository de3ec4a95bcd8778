"""Recipes: validation before any work, an end-to-end tiny run, kill-and-resume, the report."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from conftest import run_cli
from yolo_compress.errors import ConfigError
from yolo_compress.pipeline.recipe import list_builtin, load_recipe
from yolo_compress.pipeline.report import pareto
from yolo_compress.pipeline.stages import STAGES, StageDef, list_stages


@pytest.fixture(scope="module")
def data(val_as_train_data) -> Path:
    return val_as_train_data


def _recipe(tmp_path: Path, body: str, name: str = "r.yaml") -> Path:
    p = tmp_path / name
    p.write_text(body)
    return p


def test_every_stage_has_a_runner_and_builtins_validate(data, tiny_pt):
    assert list_stages() == list(STAGES) and len(STAGES) == 7
    for name, spec in STAGES.items():  # the contract: a config type, what it produces, parse/run of its own
        assert spec.name == name and spec.produces in ("pt", "artifact") and isinstance(spec.config, type)
        assert type(spec).parse is not StageDef.parse and type(spec).run is not StageDef.run, name
    assert {"edge-cpu", "int8-only", "prune-only"} <= set(list_builtin())
    for name in list_builtin():
        r = load_recipe(name, overrides={"teacher": "input"})  # yolov9-seed: the teacher is given at run
        assert r.stages and r.imgsz == 320
    r = load_recipe("edge-cpu", overrides={"data": data, "model": tiny_pt, "imgsz": 64})
    assert (r.data, r.model, r.imgsz) == (str(data.resolve()), str(tiny_pt.resolve()), 64)
    assert r.teacher == ("input" if any(s.kind == "distill" for s in r.stages) else None)


def test_epochs_override_sets_every_training_stage_and_refuses_what_it_cannot_apply(tmp_path, data, tiny_pt):
    base = {"data": data, "model": tiny_pt, "imgsz": 64}
    edge = load_recipe("edge-cpu", overrides=base, check=False)
    r = load_recipe("edge-cpu", overrides={**base, "epochs": 3}, check=False)
    trained = [(a, b) for a, b in zip(edge.stages, r.stages) if "epochs" in a.spec.keys()]
    ep = lambda st: getattr(st.config, "train", st.config).epochs  # noqa: E731 (distill: its .train)
    assert trained and all(b.options["epochs"] == ep(b) == 3 != a.options["epochs"] for a, b in trained)
    assert [s.options for s in r.stages if "epochs" not in s.spec.keys()] == \
        [s.options for s in edge.stages if "epochs" not in s.spec.keys()]  # the other stages untouched
    body = "teacher: input\nstages:\n  - finetune: {epochs: 9, lr0: 0.001}\n  - distill: {epochs: 9}\n"
    both = load_recipe(_recipe(tmp_path, body), overrides={**base, "epochs": 2}, check=False)
    assert [(s.options["epochs"], ep(s)) for s in both.stages] == [(2, 2), (2, 2)]
    assert both.stages[0].options["lr0"] == 0.001
    long = "stages:\n  - finetune: {epochs: 60, warmup_epochs: 5, bn_freeze_epochs: 4}\n"  # fine at 60, not at 2
    assert load_recipe(_recipe(tmp_path, long), overrides=base, check=False).stages[0].config.warmup_epochs == 5
    with pytest.raises(ConfigError, match=r"warmup_epochs 5 is longer than the run's epochs 2"):
        load_recipe(_recipe(tmp_path, long), overrides={**base, "epochs": 2}, check=False)
    with pytest.raises(ConfigError, match=r"--epochs 3: recipe .*int8-only.* has no training stage"):
        load_recipe("int8-only", overrides={**base, "epochs": 3}, check=False)
    for bad in (0, -1, 2.5, True):
        with pytest.raises(ConfigError, match=r"--epochs .*whole number of training epochs >= 1"):
            load_recipe("edge-cpu", overrides={**base, "epochs": bad}, check=False)
    out = tmp_path / "run"  # through the CLI: one line, non-zero exit, nothing started
    res = run_cli("run", "edge-cpu", "--epochs", "0", "--out", str(out))
    assert res.returncode != 0 and res.stderr.count("\n") == 1 and "--epochs 0" in res.stderr
    assert not out.exists()


@pytest.mark.parametrize("body,match", [
    ("stages:\n  - prune: {ratio: 0.3}\n  - quantise: {}\n", r"r.yaml:3: unknown stage 'quantise' \(did you mean 'quantize'\?\)"),
    ("stages:\n  - prune:\n      ratoi: 0.3\n", r"r.yaml:3: stage 1 'prune': unknown key 'ratoi' \(did you mean 'ratio'\?\)"),
    ("stages:\n  - quantize: {backend: openvino}\n  - prune: {ratio: 0.3}\n", r"r.yaml:3: .*move 'prune' before 'quantize'"),
    ("stages:\n  - distill: {epochs: 1}\n", r"r.yaml:2: a distill stage needs 'teacher:'"),
    ("stages:\n  - prune: {ratio: 1.5}\n", r"r.yaml:2: stage 1 'prune': --ratio 1.5 is outside"),
    ("imgsz: 320\nstage:\n  - prune: {}\n", r"r.yaml:2: unknown key 'stage' \(did you mean 'stages'\?\)"),
    ("teacher: nowhere.pt\nstages:\n  - distill: {epochs: 1}\n", r"r.yaml:1: teacher '.*nowhere.pt' not found"),
    ("stages:\n  - finetune: {epochs: 2, warmup_epochs: 5}\n",
     r"r.yaml:2: stage 1 'finetune': warmup_epochs 5 is longer than the run's epochs 2; lower warmup_epochs"),
    ("stages:\n  - finetune: {epochs: 3, bn_freeze_epochs: 4}\n",
     r"r.yaml:2: stage 1 'finetune': bn_freeze_epochs 4 is longer than the run's epochs 3; lower bn_freeze_epochs"),
    ("targets: [1]\nstages:\n  - prune: {}\n", r"r.yaml:1: 'targets' must be a mapping such as \{max_map_drop"),
    ("targets: {max_map_dorp: 1}\nstages:\n  - prune: {}\n",
     r"r.yaml:1: unknown target 'max_map_dorp' \(did you mean 'max_map_drop'\?\)"),
    ("targets: {max_map_drop: -1}\nstages:\n  - prune: {}\n", r"r.yaml:1: target max_map_drop -1 is negative"),
    ("bench: {thread: 2}\nstages:\n  - prune: {}\n", r"r.yaml:1: unknown bench key 'thread' \(did you mean 'threads'\?\)"),
    ("bench: {runs: x}\nstages:\n  - prune: {}\n", r"r.yaml:1: bench 'runs' is 'x' \(str\); expected an integer"),
    ("bench: {runs: 10}\nstages:\n  - prune: {}\n", r"r.yaml:1: --runs 10 is too few"),
    ("teacher: input\nstages:\n  - distill: {epochs: 1, warmup_epochs: 2}\n",
     r"r.yaml:3: stage 1 'distill': warmup_epochs 2 \(the KD weight's ramp-up\) is longer than the run's epochs 1"),
])
def test_bad_recipes_fail_before_work_naming_line_and_key(tmp_path, body, match):
    with pytest.raises(ConfigError, match=match):
        load_recipe(_recipe(tmp_path, body))
    if "quantise" in body:  # through the CLI once: one line, non-zero exit, nothing started
        r = run_cli("run", str(tmp_path / "r.yaml"), "--out", str(tmp_path / "run"))
        assert r.returncode != 0 and r.stderr.count("\n") == 1 and "did you mean 'quantize'" in r.stderr
        assert not (tmp_path / "run").exists()


def test_pareto_front():
    pts = [(1.0, 0.40), (0.5, 0.38), (0.6, 0.30), (0.3, 0.37), (0.3, 0.36)]
    assert pareto(pts) == [0, 1, 3]


def test_a_recipe_without_imgsz_uses_the_model_s_training_size(tmp_path, data):
    """Built-in recipes name no imgsz: a user's model trained at 96 runs at 96 (as Ultralytics trains and exports
    it), the built-in model at its 320, and imgsz: / --imgsz still win."""
    from yolo_compress.models import load_model, save_model

    m = load_model("yolov8n.yaml", nc=3)
    m.ckpt = {"train_args": {"imgsz": 96}}
    p = save_model(m, tmp_path / "m96.pt")
    assert load_recipe("int8-only", overrides={"data": data, "model": p}, check=False).imgsz == 96
    assert load_recipe("int8-only", overrides={"data": data, "model": p, "imgsz": 64}, check=False).imgsz == 64
    assert load_recipe("int8-only", check=False).imgsz == 320  # the built-in model's training size
    own = tmp_path / "r.yaml"
    own.write_text(f"model: {p}\nimgsz: 128\nstages:\n  - quantize: {{backend: onnxruntime}}\n")
    assert load_recipe(own, overrides={"data": data}, check=False).imgsz == 128
