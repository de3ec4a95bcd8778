"""A recipe's ``holdout: N``: N train images no training stage sees, on which a ``max_drop`` quantize stage
measures its control mAP (train images the fine-tune has fit read INT8's cost low: BENCHMARKS.md section 11)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import yaml

from yolo_compress.errors import ConfigError
from yolo_compress.fingerprints import data_hash
from yolo_compress.pipeline.recipe import load_recipe
from yolo_compress.pipeline.runner import run_recipe

RECIPE = """name: held
model: {model}
data: {data}
imgsz: 64
runtimes: [onnxruntime]
bench: {{runs: 0, limit: 4}}
{holdout}
stages:
{stages}
"""
TRAIN_AND_QUANT = ("  - finetune: {epochs: 1, batch: 4, workers: 0}\n"
                   "  - quantize: {backend: onnxruntime, calib_images: 4, control_images: 50, max_drop: 99}")


def _lines(p: Path) -> list[str]:
    return [x for x in p.read_text().splitlines() if x]


def test_held_out_images_leave_training_and_become_the_control_set(tmp_path, tiny_pt, few_images_data):
    rec = tmp_path / "r.yaml"
    rec.write_text(RECIPE.format(model=tiny_pt, data=few_images_data, holdout="holdout: 6", stages=TRAIN_AND_QUANT))
    run = run_recipe(rec, tmp_path / "run")
    d = run / "holdout"
    train, held = _lines(d / "train.txt"), _lines(d / "holdout.txt")
    every = _lines(few_images_data.parent / "few.txt")
    assert len(held) == 6 and len(train) == 10 and not set(train) & set(held) and set(train) | set(held) == set(every)
    derived = yaml.safe_load((d / "data.yaml").read_text())
    assert derived["val"] == str(few_images_data.parent / "few.txt")  # the reported split is the original one
    ft = json.loads((run / "01-finetune" / "stage.json").read_text())
    assert ft["parts"]["data"] == data_hash(d / "data.yaml") != data_hash(few_images_data)  # it trained on the copy
    q = json.loads((run / "02-quantize" / "stage.json").read_text())["info"]["quant"]
    assert q["control_split"] == "holdout" and q["control_images"] == 6  # the held-out images, all of them
    assert "6 train images held out of training" in (run / "report.md").read_text()
    before = {p.name: (p / "stage.json").stat().st_mtime_ns for p in run.glob("0[12]-*")}
    run_recipe(rec, run, resume=True)  # the same draw again: both stages are kept
    assert {p.name: (p / "stage.json").stat().st_mtime_ns for p in run.glob("0[12]-*")} == before
    assert _lines(d / "holdout.txt") == held


@pytest.mark.parametrize("holdout, stages, msg", [
    ("holdout: 9", TRAIN_AND_QUANT, r"r.yaml:7: holdout 9: dataset .* has 16 train images; hold out at most half \(8\)"),
    ("holdout: -1", TRAIN_AND_QUANT, r"r.yaml:7: holdout is -1; give a number of train images"),
    ("holdout: yes", TRAIN_AND_QUANT, r"r.yaml:7: holdout is True"),
    ("holdout: 4", "  - prune: {ratio: 0.3}", r"r.yaml:7: holdout 4: no stage of this recipe reads train images"),
])
def test_bad_holdout_is_one_line_before_any_work(tmp_path, tiny_pt, few_images_data, holdout, stages, msg):
    rec = tmp_path / "r.yaml"
    rec.write_text(RECIPE.format(model=tiny_pt, data=few_images_data, holdout=holdout, stages=stages))
    with pytest.raises(ConfigError, match=msg):
        load_recipe(rec)
    with pytest.raises(ConfigError, match=msg):
        run_recipe(rec, tmp_path / "run")
    assert not (tmp_path / "run" / "holdout").exists() and not list((tmp_path / "run").glob("0[0-9]-*"))
