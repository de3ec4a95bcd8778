"""Soft pruning (``prune --soft-epochs N``): the planned channels fade to zero while the whole network trains, so
the cut that follows changes no output; the fade is measured on the trained weights (not only "runs"); a resumed
run proves it continues the same plan; bad configurations are refused before any work."""

from __future__ import annotations

from dataclasses import replace

import pytest
import torch

from conftest import run_cli
from yolo_compress.config import PruneConfig
from yolo_compress.errors import ConfigError
from yolo_compress.models import load_model, torch_module
from yolo_compress.prune import prune
from yolo_compress.prune.soft import Plan, plan_masks, soft_prune
from yolo_compress.train import FinetuneConfig

IMGSZ = 64
FT = FinetuneConfig(epochs=1, imgsz=IMGSZ, batch=8, workers=0, seed=0)


def _cfg(data, **kw):
    return PruneConfig(**{"ratio": 0.25, "criterion": "l2", "imgsz": IMGSZ, "data": str(data), **kw})


def _planned_max(model, plan) -> tuple[float, float]:
    """Largest |w| on the planned slices and on the rest of the masked parameters."""
    masks = plan_masks(torch_module(model).float(), plan, IMGSZ)
    planned = max(float(p.detach().abs().mul(1 - m).max()) for p, m in masks)
    kept = max(float(p.detach().abs().mul(m).max()) for p, m in masks)
    return planned, kept


@pytest.fixture(scope="module")
def soft_run(default_model, val_as_train_data, tmp_path_factory):
    work = tmp_path_factory.mktemp("soft") / "work"
    res, info = soft_prune(default_model, _cfg(val_as_train_data, soft_fade=0.5), 1, work, ft=FT)
    return res, info, work


def test_fading_empties_the_planned_channels_and_the_cut_changes_no_output(soft_run, default_model,
                                                                          val_as_train_data):
    res, info, work = soft_run
    plan = Plan.load(work / "plan.json")
    assert plan.removed > 0 and res.channels == plan.channels and 0.4 < res.flops_kept < 0.8
    assert info["fade"] == 0.5 and "held there" in res.note  # faded over the first half, held at zero after
    # the fade, measured: in the input the planned slices are as large as the rest; after the soft phase they
    # are (all but) zero while the rest is not
    before_planned, before_kept = _planned_max(load_model(default_model), plan)
    after_planned, after_kept = _planned_max(load_model(work / "soft" / "weights" / "last.pt"), plan)
    assert before_planned > 0.1 * before_kept
    assert after_planned < 1e-3 * before_planned and after_kept > 0.1 * before_kept
    assert info["residue_before_zeroing"] == pytest.approx(after_planned, rel=0.05, abs=1e-6)
    # so the cut is lossless, where the same cut of the input without the fade changes the outputs a lot
    assert info["cut_output_change"] < 1e-4
    y = load_model(default_model)
    hard = prune(y, _cfg(val_as_train_data))
    x = torch.rand(2, 3, IMGSZ, IMGSZ, generator=torch.Generator().manual_seed(0))
    with torch.inference_mode():
        a, b = torch_module(y).float().eval()(x)[0], torch_module(hard.model).float().eval()(x)[0]
    assert float((a - b).abs().max() / a.abs().max()) > 1e-2
    # the pruned model is a plain Ultralytics model that runs
    with torch.inference_mode():
        torch_module(res.model).eval()(x)


def test_a_second_call_reuses_the_plan_and_the_training_and_refuses_another_config(soft_run, default_model,
                                                                                  val_as_train_data):
    _, info, work = soft_run
    last = work / "soft" / "weights" / "last.pt"
    stamp = last.stat().st_mtime_ns
    res, again = soft_prune(default_model, _cfg(val_as_train_data, soft_fade=0.5), 1, work, ft=FT)
    assert last.stat().st_mtime_ns == stamp and again["planned_channels"] == info["planned_channels"]
    with pytest.raises(ConfigError, match="planned from another input or prune config"):
        soft_prune(default_model, _cfg(val_as_train_data, ratio=0.3, soft_fade=0.5), 1, work, ft=FT)


@pytest.mark.parametrize("kw,match", [
    (dict(soft_epochs=-1), "--soft-epochs -1 is invalid"),
    (dict(soft_epochs=2, data=None), "pass --data"),
    (dict(soft_epochs=2, allocation="latency"), "not latency"),
    (dict(soft_epochs=2, soft_fade=0.0), r"--soft-fade 0.0 is outside \(0, 1\]"),
])
def test_bad_soft_configs_are_refused(val_as_train_data, kw, match):
    with pytest.raises(ConfigError, match=match):
        PruneConfig(**{"target_flops": 0.5, "imgsz": IMGSZ, "data": str(val_as_train_data), **kw})


def test_cli_without_data_fails_in_one_line_and_writes_nothing(default_model, tmp_path):
    out = tmp_path / "p.pt"
    r = run_cli("prune", str(default_model), "--target-flops", "0.5", "--soft-epochs", "2", "--imgsz", "64",
                "--out", str(out))
    assert r.returncode != 0 and r.stderr.count("\n") == 1 and "--data" in r.stderr
    assert not out.exists() and not (tmp_path / "p.soft").exists()


def test_a_recipe_prune_stage_with_soft_epochs_gets_the_data(tmp_path, default_model, val_as_train_data):
    from yolo_compress.pipeline.recipe import load_recipe

    f = tmp_path / "r.yaml"
    f.write_text(f"model: {default_model}\ndata: {val_as_train_data}\nimgsz: 64\nstages:\n"
                 "  - prune: {target_flops: 0.6, soft_epochs: 1}\n  - finetune: {epochs: 1}\n")
    r = load_recipe(f)
    assert r.stages[0].config.soft_epochs == 1 and r.stages[0].config.data == str(val_as_train_data.resolve())


def test_fields_added_later_leave_fingerprints_of_earlier_runs_alone(val_as_train_data):
    """A resume after the upgrade must not redo finished prune steps: at their defaults the new fields (soft
    pruning's, the sensitivity span) are not part of what runs compare (a fingerprint change set a finished
    iterative step aside once); set, they are."""
    later = {"soft_epochs", "soft_fade", "sensitivity_span"}
    hard = PruneConfig(target_flops=0.5, imgsz=IMGSZ)
    assert not later & set(hard.fingerprint_dict())
    assert set(hard.as_dict()) - set(hard.fingerprint_dict()) == later
    soft = PruneConfig(target_flops=0.5, imgsz=IMGSZ, data=str(val_as_train_data), soft_epochs=2)
    assert soft.fingerprint_dict()["soft_epochs"] == 2
    wide = PruneConfig(target_flops=0.5, imgsz=IMGSZ, data=str(val_as_train_data), allocation="sensitivity",
                       sensitivity_span=3)
    assert wide.fingerprint_dict()["sensitivity_span"] == 3


def test_a_soft_plan_saved_before_a_later_field_still_matches(tmp_path, val_as_train_data):
    """plan.json records every prune option; one saved before the sensitivity span existed (no such key) matches the
    same config today, and a plan made with another span, or another input, does not."""
    from yolo_compress.prune.soft import identity, same_identity

    src = tmp_path / "m.pt"
    src.write_bytes(b"weights")
    cfg = PruneConfig(target_flops=0.5, imgsz=IMGSZ, data=str(val_as_train_data), allocation="sensitivity",
                      soft_epochs=2)
    now = identity(src, cfg)
    before = {**now, "prune": {k: v for k, v in now["prune"].items() if k != "sensitivity_span"}}
    assert "sensitivity_span" in now["prune"] and same_identity(before, now)
    assert not same_identity(before, identity(src, replace(cfg, sensitivity_span=3.0)))
    other = tmp_path / "n.pt"
    other.write_bytes(b"other weights")
    assert not same_identity(now, identity(other, cfg))


def test_the_report_reads_a_soft_prune_stage_as_training(tmp_path):
    """The report's advice ("longer recovery ... try soft_epochs: N") sees the soft stage's val curve."""
    from yolo_compress.pipeline.report import _val_curve

    f = tmp_path / "01-prune" / "soft" / "soft" / "results.csv"
    f.parent.mkdir(parents=True)
    f.write_text("epoch,metrics/mAP50-95(B)\n1,0.30\n2,0.35\n3,0.41\n")
    assert _val_curve(tmp_path, "01-prune") == [0.30, 0.35, 0.41]
