"""Recipes: validation before any work, an end-to-end tiny run, kill-and-resume, the report."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from browser import render
from conftest import kill_after, run_cli
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


TINY = """name: tiny
model: {model}
data: {data}
imgsz: 64
runtimes: [onnxruntime]
bench: {{runs: 50, warmup: 2}}
stages:
  - prune: {{ratio: 0.3}}
  - finetune: {{epochs: {epochs}, batch: 16, workers: 0}}
  - quantize: {{backend: onnxruntime, calib_images: 8}}
"""


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


@pytest.mark.parametrize("body,match", [
    ("stages:\n  - prune: {ratio: 0.3}\n  - quantise: {}\n", r"r.yaml:3: unknown stage 'quantise' \(did you mean 'quantize'\?\)"),
    ("stages:\n  - prune:\n      ratoi: 0.3\n", r"r.yaml:3: stage 1 'prune': unknown key 'ratoi' \(did you mean 'ratio'\?\)"),
    ("stages:\n  - quantize: {backend: openvino}\n  - prune: {ratio: 0.3}\n", r"r.yaml:3: .*move 'prune' before 'quantize'"),
    ("stages:\n  - distill: {epochs: 1}\n", r"r.yaml:2: a distill stage needs 'teacher:'"),
    ("stages:\n  - prune: {ratio: 1.5}\n", r"r.yaml:2: stage 1 'prune': --ratio 1.5 is outside"),
    ("imgsz: 320\nstage:\n  - prune: {}\n", r"r.yaml:2: unknown key 'stage' \(did you mean 'stages'\?\)"),
    ("teacher: nowhere.pt\nstages:\n  - distill: {epochs: 1}\n", r"r.yaml:1: teacher '.*nowhere.pt' not found"),
])
def test_bad_recipes_fail_before_work_naming_line_and_key(tmp_path, body, match):
    with pytest.raises(ConfigError, match=match):
        load_recipe(_recipe(tmp_path, body))
    if "quantise" in body:  # through the CLI once: one line, non-zero exit, nothing started
        r = run_cli("run", str(tmp_path / "r.yaml"), "--out", str(tmp_path / "run"))
        assert r.returncode != 0 and r.stderr.count("\n") == 1 and "did you mean 'quantize'" in r.stderr
        assert not (tmp_path / "run").exists()


def test_tiny_recipe_killed_in_stage_two_resumes_to_the_full_report(tiny_pt, few_images_data, tmp_path):
    """prune -> fine-tune (2 epochs) -> INT8 on a tiny model; killed during the fine-tune, then resumed:
    stage one is not re-run, training continues, and the report has every stage."""
    rec = _recipe(tmp_path, TINY.format(model=tiny_pt, data=few_images_data, epochs=2))
    run = tmp_path / "run"
    last = run / ".02-finetune.partial" / "train" / "weights" / "last.pt"
    kill_after(["run", str(rec), "--out", str(run), "--threads", "2"], last)
    assert last.exists() and not (run / "02-finetune").exists()
    stage1 = (run / "01-prune" / "model.pt").stat().st_mtime
    stage1_json = (run / "01-prune" / "stage.json").read_text()
    r = run_cli("run", str(rec), "--out", str(run), "--resume", "--threads", "2")
    assert r.returncode == 0, r.stderr
    assert "[01-prune] done earlier" in r.stdout
    assert (run / "01-prune" / "model.pt").stat().st_mtime == stage1
    assert (run / "01-prune" / "stage.json").read_text() == stage1_json
    assert json.loads((run / "02-finetune" / "stage.json").read_text())["info"]["epochs"] == 2
    for label in ("01-prune", "02-finetune", "03-quantize"):
        assert (run / label / "stage.json").exists()
    rows = json.loads((run / "rows.json").read_text())
    assert [x["stage"] for x in rows] == ["00-input", "01-prune", "02-finetune", "03-quantize"]
    md = (run / "report.md").read_text()
    assert "03-quantize" in md and "int8" in md and "plot.svg" in md
    page = (run / "report.html").read_text()
    assert "<svg" in page and "Pareto front" in page and 'id="stages"' in page
    _check_rendered(run / "report.html", tmp_path / "chromium")
    # the report rebuilds from the measurements alone
    (run / "report.md").unlink()
    r = run_cli("report", str(run))
    assert r.returncode == 0 and (run / "report.md").read_text() == md
    # a finished run is not silently overwritten (a changed recipe resumes stage by stage: test_resume.py)
    r = run_cli("run", str(rec), "--out", str(run))
    assert r.returncode != 0 and "--resume" in r.stderr


def test_pareto_front():
    pts = [(1.0, 0.40), (0.5, 0.38), (0.6, 0.30), (0.3, 0.37), (0.3, 0.36)]
    assert pareto(pts) == [0, 1, 3]


def _check_rendered(page: Path, tmp: Path) -> None:
    """The HTML report as headless Chromium lays it out and paints it: the stage table has its 4 rows, the
    plot is an inline SVG of real size with its marks, and the Pareto front's red line is painted inside
    the plot's box on the screenshot."""
    measured, img = render(page, tmp)
    assert measured["svg"] and measured["rows"] == 4, measured
    x, y, w, h = (int(round(v)) for v in measured["rect"])
    assert w > 300 and h > 200 and measured["marks"] > 10, measured
    crop = img[y:y + h, x:x + w].astype(int)
    assert crop.shape[:2] == (h, w), f"plot box {measured['rect']} is outside the {img.shape} screenshot"
    red = (abs(crop[..., 0] - 214) < 30) & (abs(crop[..., 1] - 39) < 30) & (abs(crop[..., 2] - 40) < 30)
    assert red.sum() > 50, "the Pareto front (#d62728) was not painted in the plot"
    assert (crop.sum(-1) < 600).sum() > 1000, "the plot area is blank (no axes, ticks or labels painted)"
