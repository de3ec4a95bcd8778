"""Group-norm sparsity training (``--sparsity-mode group`` / ``growing``): it moves the group norms it targets,
the trained checkpoint stays a plain Ultralytics model, and the option is checked from the CLI and a recipe."""

from __future__ import annotations

import pytest
import torch

from yolo_compress.errors import ConfigError, YoloCompressError
from yolo_compress.models import load_model
from yolo_compress.prune.regularize import group_importance, group_norms
from yolo_compress.train import FinetuneConfig, finetune

# SGD without warm-up: the one optimizer step of one epoch (60 images, batch 16, nbs 64) moves weights measurably
BASE = dict(epochs=1, imgsz=64, batch=16, workers=0, optimizer="SGD", lr0=0.1, warmup_epochs=0.0, seed=0)


@pytest.fixture(scope="module")
def control(small_dataset, default_model, tmp_path_factory):
    return finetune(default_model, small_dataset, FinetuneConfig(**BASE), tmp_path_factory.mktemp("plain") / "run")


def _quartile_ratios(before, after, control):
    """Norm after regularised training / norm after the same training without it, for each group's least and
    most important quarter of channels (ranked as the regulariser ranks them, on the input model)."""
    low, high = [], []
    for k, imp in before.items():
        order, q = imp.argsort(), max(1, len(imp) // 4)
        r = after[k] / control[k].clamp_min(1e-12)
        low.append(r[order[:q]])
        high.append(r[order[-q:]])
    return torch.cat(low), torch.cat(high)


@pytest.mark.parametrize("mode,strength", [("group", 0.2), ("growing", 2.5)])
def test_regulariser_shrinks_the_groups_it_targets(small_dataset, default_model, control, tmp_path, mode, strength):
    """Same seed, same data, same step: only the regulariser differs. The least important quarter of every
    DepGraph group must end clearly smaller than without it (a regulariser that does nothing gives ratio 1)."""
    from ultralytics.nn.tasks import DetectionModel

    imp = group_importance(load_model(default_model))
    reg = finetune(default_model, small_dataset, FinetuneConfig(**BASE, sparsity=strength, sparsity_mode=mode),
                   tmp_path / "reg")
    trained = load_model(reg)  # safe loading: a plain Ultralytics checkpoint, nothing of ours pickled in it
    assert type(trained.model) is DetectionModel
    low, high = _quartile_ratios(imp, group_norms(trained), group_norms(load_model(control)))
    print(f"\n{mode}: least-important quarter median ratio {low.median():.3f}, most-important {high.median():.3f}")
    assert len(low) > 100
    assert low.median() < 0.8, (mode, low.median())
    if mode == "group":  # strength grows for less important channels: they shrink more than the most important
        assert low.median() < high.median() - 0.05, (low.median(), high.median())


def test_bn_mode_is_unchanged_default():
    cfg = FinetuneConfig(sparsity=1e-4)
    assert cfg.sparsity_mode == "bn" and "sparsity_mode" not in cfg.ultralytics_args()
    from yolo_compress.train import SparsityTrainer, _trainer_for

    assert _trainer_for(1e-4, sparsity_mode="bn").__mro__[1] is SparsityTrainer


BAD = [(dict(sparsity_mode="lasso", sparsity=1e-4), "--sparsity-mode 'lasso' is unknown"),
       (dict(sparsity_mode="group", sparsity=-1e-4), "--sparsity -0.0001 is negative")]


@pytest.mark.parametrize("kw,match", BAD)
def test_bad_values_are_one_line_errors(kw, match):
    with pytest.raises(ConfigError, match=match) as e:
        FinetuneConfig(**kw)
    assert "\n" not in str(e.value)


def test_cli_accepts_and_refuses_the_mode(tmp_path, default_model, small_dataset, capsys):
    from yolo_compress.cli import main

    common = ["finetune", str(default_model), "--data", str(small_dataset), "--epochs", "1", "--imgsz", "64",
              "--workers", "0"]
    for mode, strength, msg in (("lasso", "1e-4", "--sparsity-mode 'lasso' is unknown"),
                                ("group", "-1", "--sparsity -1.0 is negative")):
        out = tmp_path / f"bad-{mode}"
        assert main([*common, "--sparsity", strength, "--sparsity-mode", mode, "--out", str(out)]) != 0
        err = capsys.readouterr().err
        assert err.count("\n") == 1 and msg in err, err
        assert not out.exists()  # refused before any work
    assert main([*common, "--recipe", "fast", "--out", str(tmp_path / "bad-recipe")]) != 0
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "--recipe 'fast' is unknown" in err and not (tmp_path / "bad-recipe").exists()
    assert main([*common, "--sparsity", "1e-4", "--sparsity-mode", "group", "--out", str(tmp_path / "good")]) == 0
    assert "training recipe: recovery (sparsity training must move the weights)" in capsys.readouterr().out
    assert type(load_model(tmp_path / "good" / "weights" / "last.pt").model).__name__ == "DetectionModel"


def test_recipe_finetune_stage_takes_the_mode(tmp_path, default_model, val_as_train_data):
    from yolo_compress.pipeline.recipe import load_recipe

    head = f"model: {default_model}\ndata: {val_as_train_data}\nimgsz: 64\nstages:\n"
    good = tmp_path / "good.yaml"
    good.write_text(head + "  - finetune: {epochs: 1, sparsity: 1.0e-4, sparsity_mode: group}\n")
    cfg = load_recipe(good).stages[0].config
    assert (cfg.sparsity, cfg.sparsity_mode) == (1e-4, "group")
    bad = tmp_path / "bad.yaml"
    bad.write_text(head + "  - finetune: {epochs: 1, sparsity: 1.0e-4, sparsity_mode: lasso}\n")
    with pytest.raises(YoloCompressError, match="bad.yaml:5: .*--sparsity-mode 'lasso' is unknown"):
        load_recipe(bad)
