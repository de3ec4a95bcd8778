"""Fine-tuning a pruned model keeps its architecture (plain YOLO.train() would rebuild it from YAML)."""

import shutil

import numpy as np
import pytest

from conftest import kill_after
from yolo_compress.config import PruneConfig
from yolo_compress.errors import ConfigError
from yolo_compress.models import load_model, save_model
from yolo_compress.prune import prune
from yolo_compress.train import FinetuneConfig, finetune, finished_run


def test_finetune_keeps_pruned_architecture(small_dataset, tmp_path):
    from ultralytics import YOLO

    res = prune(load_model("yolov8n.yaml", nc=3), PruneConfig(ratio=0.3, imgsz=64))
    pt = save_model(res.model, tmp_path / "pruned.pt")
    best = finetune(pt, small_dataset, FinetuneConfig(epochs=1, imgsz=64, batch=16, workers=0), tmp_path / "ft")
    assert best.exists()
    tuned = YOLO(str(best))
    assert sum(p.numel() for p in tuned.model.parameters()) == res.params_after
    assert tuned.names == {0: "garbage", 1: "garbage_bin", 2: "overflow"}


def test_checkpoint_cut_mid_write_restarts_the_training(small_dataset, tmp_path, capfd):
    """A kill while Ultralytics (re)writes last.pt leaves a truncated zip: the run is neither "finished" nor
    resumable; resuming sets the pieces aside and trains again, instead of failing on (or passing on) it."""
    pt = save_model(load_model("yolov8n.yaml", nc=3), tmp_path / "m.pt")
    cfg = FinetuneConfig(epochs=1, imgsz=64, batch=16, workers=0)
    run = tmp_path / "ft"
    finetune(pt, small_dataset, cfg, run)
    last = run / "weights" / "last.pt"
    assert finished_run(run, 1) == last
    data = last.read_bytes()
    last.write_bytes(data[: len(data) // 2])
    assert finished_run(run, 1) is None
    finetune(pt, small_dataset, cfg, run, resume=True)
    assert "cut mid-write" in capfd.readouterr().err
    assert finished_run(run, 1) == last and (run / "weights" / "last.pt.cut").stat().st_size == len(data) // 2
    assert len((run / "results.csv").read_text().splitlines()) == 2  # one header, one epoch: no stale rows
    load_model(last)


def test_finetune_rejects_class_mismatch(small_dataset, tmp_path):
    pt = save_model(load_model("yolov8n.yaml", nc=5), tmp_path / "five.pt")
    with pytest.raises(ConfigError, match="5 classes but the dataset has 3"):
        finetune(pt, small_dataset, FinetuneConfig(epochs=1, imgsz=64, batch=8, workers=0), tmp_path / "ft")


def test_finetune_config_validation():
    with pytest.raises(ConfigError, match="--epochs and --batch must be positive"):
        FinetuneConfig(epochs=0)
    with pytest.raises(ConfigError, match=r"--lr0 2.0 is outside \(0, 1\)"):
        FinetuneConfig(lr0=2.0)


def test_sparsity_training_shrinks_bn_scales(small_dataset, default_model, tmp_path):
    """BN-L1 sparsity training must drive BatchNorm scales down compared with the same run without it."""
    import torch

    def mean_gamma(pt):
        m = load_model(pt).model
        return torch.cat([b.weight.detach().abs().float() for b in m.modules() if isinstance(b, torch.nn.BatchNorm2d)]).mean()

    # SGD without warm-up so the single optimizer step of one epoch (nbs 64) moves the scales measurably (AdamW normalises steps)
    base = dict(epochs=1, imgsz=64, batch=16, workers=0, optimizer="SGD", lr0=0.1, warmup_epochs=0.0)
    plain = finetune(default_model, small_dataset, FinetuneConfig(**base), tmp_path / "plain")
    sparse = finetune(default_model, small_dataset, FinetuneConfig(**base, sparsity=1.0), tmp_path / "sparse")
    assert mean_gamma(sparse) < 0.9 * mean_gamma(plain)


def test_iterative_schedule_resumes_and_reaches_target(small_dataset, tmp_path):
    from yolo_compress.prune.schedule import prune_iterative

    pt = save_model(load_model("yolov8n.yaml", nc=3), tmp_path / "m.pt")
    cfg = PruneConfig(target_flops=0.5, imgsz=64, global_pruning=True)
    ft = FinetuneConfig(epochs=1, imgsz=64, batch=16, workers=0)
    steps = prune_iterative(pt, str(small_dataset), cfg, 2, ft, tmp_path / "iter")
    assert [s.step for s in steps] == [1, 2]
    assert steps[0].gflops_kept > steps[1].gflops_kept
    assert abs(steps[1].gflops_kept - 0.5) <= 0.1  # two geometric steps of ~0.71 each
    step_files = sorted(p for p in (tmp_path / "iter").rglob("*") if p.is_file())
    stamp = {p: p.stat().st_mtime_ns for p in step_files}
    again = prune_iterative(pt, str(small_dataset), cfg, 2, ft, tmp_path / "iter")  # resumes: nothing redone
    assert again == steps
    assert {p: p.stat().st_mtime_ns for p in step_files} == stamp  # no file of either step rewritten
    shutil.rmtree(tmp_path / "iter" / "step-2")  # a partial resume: step 2 is redone from step 1's result,
    partial = prune_iterative(pt, str(small_dataset), cfg, 2, ft, tmp_path / "iter")
    # and "GFLOPs kept" stays relative to the original model (it was reset to step 1's model before)
    assert partial[1].gflops_kept == steps[1].gflops_kept and partial[1].params_kept == steps[1].params_kept


def test_iterative_prune_and_distill(small_dataset, tmp_path):
    """Iterative prune + distill (issue 20 e): every step recovers by distillation from the unpruned input
    (its trainer logs the KD loss), the schedule reaches its target, and a teacher with other classes is
    refused before any step."""
    from yolo_compress.errors import ConfigError
    from yolo_compress.prune.schedule import prune_iterative

    y = load_model("yolov8n.yaml", nc=3)  # untrained (the shipped model was trained at 320, these steps run at 64)
    y.model.names = {0: "garbage", 1: "garbage_bin", 2: "overflow"}
    model = save_model(y, tmp_path / "m.pt")
    cfg = PruneConfig(target_flops=0.6, imgsz=64, global_pruning=True)
    ft = FinetuneConfig(epochs=1, imgsz=64, batch=16, workers=0, fraction=0.5)
    steps = prune_iterative(model, str(small_dataset), cfg, 2, ft, tmp_path / "kd", teacher="input")
    assert [s.step for s in steps] == [1, 2] and abs(steps[1].gflops_kept - 0.6) <= 0.1
    for k in (1, 2):
        csv = tmp_path / "kd" / f"step-{k}" / "distill" / "results.csv"
        assert "dis_loss" in csv.read_text().splitlines()[0], csv
        assert not (tmp_path / "kd" / f"step-{k}" / "finetune").exists()
    other = load_model("yolov8n.yaml", nc=3)  # untrained, classes class0..2: not this dataset's
    bad = save_model(other, tmp_path / "other.pt")
    with pytest.raises(ConfigError, match=r"teacher '.*other.pt' predicts 3 classes"):
        prune_iterative(model, str(small_dataset), cfg, 2, ft, tmp_path / "bad", teacher=bad)
    assert not (tmp_path / "bad" / "step-1").exists()
    from yolo_compress.config import DistillConfig  # a KD ramp-up longer than each step's epochs: refused before step 1
    with pytest.raises(ConfigError, match=r"--kd-warmup 2 \(the KD weight's ramp-up\) is longer than the run's --epochs 1"):
        prune_iterative(model, str(small_dataset), cfg, 2, ft, tmp_path / "ramp", teacher="input",
                        distill_cfg=DistillConfig(warmup_epochs=2))
    assert not (tmp_path / "ramp" / "step-1").exists()


def test_iterative_schedule_stops_at_the_drop_bound(small_dataset, default_model, tmp_path):
    """``max_drop`` is in mAP50-95 points: the shipped model scores ~0.08 at imgsz 96 and ~0.02 after one
    step (a drop of ~6 points, 0.06 as a fraction), so a 1-point bound stops after step 1."""
    from yolo_compress.prune.schedule import prune_iterative

    steps = prune_iterative(default_model, str(small_dataset), PruneConfig(ratio=0.3, imgsz=96), 3,
                            FinetuneConfig(epochs=1, imgsz=96, batch=16, workers=0), tmp_path / "it", max_drop=1.0)
    assert len(steps) == 1 and not steps[0].within_bound  # a 6-point drop is over a 1-point bound


def test_pruned_checkpoint_validates_and_resumes(small_dataset, tmp_path):
    """YOLO('pruned.pt').val() works, and an interrupted fine-tune resumes from weights/last.pt."""
    import subprocess
    import sys

    from ultralytics import YOLO

    res = prune(load_model("yolov8n.yaml", nc=3), PruneConfig(ratio=0.3, imgsz=64))
    pt = save_model(res.model, tmp_path / "pruned.pt")
    y = YOLO(str(pt))
    assert sum(p.numel() for p in y.model.parameters()) == res.params_after  # loaded as pruned, not rebuilt
    metrics = y.val(data=str(small_dataset), imgsz=64, batch=16, plots=False, device="cpu", workers=0, verbose=False)
    boxes = sum(len(f.read_text().split()) // 5 for f in (small_dataset.parent / "labels" / "val").glob("*.txt"))
    assert metrics.nt_per_class.sum() == boxes and np.isfinite(metrics.fitness)  # every labelled box was scored

    run = tmp_path / "ft"
    cmd = [sys.executable, "-m", "yolo_compress.cli", "finetune", str(pt), "--data", str(small_dataset), "--imgsz",
           "64", "--epochs", "3", "--batch", "16", "--workers", "0", "--out", str(run)]
    last = run / "weights" / "last.pt"
    kill_after(cmd[3:], last)  # the CLI's arguments; killed after epoch 1's checkpoint
    before = (run / "results.csv").read_text().splitlines()
    assert len(before) == 2  # the header and epoch 1: interrupted before the end
    r = subprocess.run(cmd + ["--resume"], capture_output=True, text=True, timeout=300)
    assert r.returncode == 0, r.stderr
    lines = (run / "results.csv").read_text().splitlines()
    assert [ln.split(",")[0].strip() for ln in lines[1:]] == ["1", "2", "3"]
    assert lines[1] == before[1]  # epoch 1 kept as it was (a restart rewrites it, its time column at least)
    assert sum(p.numel() for p in YOLO(str(run / "weights" / "best.pt")).model.parameters()) == res.params_after


def test_plain_ultralytics_train_undoes_pruning(small_dataset, tmp_path):
    """Documents why KeepArchitectureTrainer exists: YOLO('pruned.pt').train() rebuilds from the YAML.
    If a future Ultralytics keeps the pruned model, this fails and the README warning can go."""
    from ultralytics import YOLO

    res = prune(load_model("yolov8n.yaml", nc=3), PruneConfig(ratio=0.3, imgsz=64))
    pt = save_model(res.model, tmp_path / "pruned.pt")
    y = YOLO(str(pt))
    y.train(data=str(small_dataset), epochs=1, imgsz=64, batch=16, workers=0, project=str(tmp_path), name="plain",
            exist_ok=True, plots=False, device="cpu", amp=False, verbose=False)
    assert sum(p.numel() for p in y.model.parameters()) > 2 * res.params_after


@pytest.mark.skipif((__import__("os").cpu_count() or 1) < 2, reason="needs 2+ cores to tell the thread counts apart")
def test_trainer_uses_every_cpu_core(small_dataset, tmp_path, monkeypatch):
    """Ultralytics' select_device caps CPU training at cpu_count - 1 threads: one core of a 2-core box."""
    import os

    import torch

    from yolo_compress.train import AllCoresTrainer

    monkeypatch.delenv("YOLO_COMPRESS_THREADS", raising=False)  # conftest sets 1 for the xdist workers
    before = torch.get_num_threads()
    try:
        AllCoresTrainer(overrides=dict(model="yolov8n.yaml", data=str(small_dataset), device="cpu", epochs=1,
                                       imgsz=64, project=str(tmp_path), name="t", plots=False))
        assert torch.get_num_threads() == os.cpu_count()
    finally:
        torch.set_num_threads(before)


def test_bn_freeze_keeps_running_statistics_for_the_first_epochs(small_dataset, default_model, tmp_path):
    """``bn_freeze_epochs`` keeps every BatchNorm's running mean/var as the input had them during those epochs
    (the affine scales still train), for fine-tune and distillation trainers alike; without it one epoch moves them."""
    import torch

    from yolo_compress.distill.distill import distill
    from yolo_compress.config import DistillConfig

    def stats(pt):
        m = load_model(pt).model
        bns = [b for b in m.modules() if isinstance(b, torch.nn.BatchNorm2d)]
        return torch.cat([b.running_mean.float() for b in bns]), torch.cat([b.weight.detach().float() for b in bns])

    mean0, gamma0 = stats(default_model)
    base = dict(epochs=1, imgsz=64, batch=16, workers=0, optimizer="SGD", lr0=0.1, warmup_epochs=0.0, mosaic=0.0)
    moved = finetune(default_model, small_dataset, FinetuneConfig(**base), tmp_path / "live")
    frozen = finetune(default_model, small_dataset, FinetuneConfig(**base, bn_freeze_epochs=1), tmp_path / "frozen")
    assert (stats(moved)[0] - mean0).abs().max() > 1e-2  # the control: one epoch moves the statistics
    mean_f, gamma_f = stats(frozen)
    assert torch.allclose(mean_f, mean0, atol=1e-3)  # FP16 checkpoint rounding only
    assert (gamma_f - gamma0).abs().max() > 1e-3  # affine parameters trained
    kd = distill(default_model, frozen, small_dataset, DistillConfig(),  # teacher: a checkpoint trained at 64
                 FinetuneConfig(**base, bn_freeze_epochs=1), tmp_path / "kd")
    assert torch.allclose(stats(kd)[0], mean0, atol=1e-3)


def test_ema_decay_ramps_to_an_average_over_the_given_epochs():
    """``ema_decay``: 0 at the first update (the average follows the weights), 1 - 1/T after a few T, monotone."""
    from yolo_compress.train import ema_decay

    d = ema_decay(5, 16)  # T = 80 updates
    assert d(0) == 0.0
    assert d(80) == pytest.approx((1 - 1 / 80) * (1 - np.exp(-1)))
    assert d(10_000) == pytest.approx(1 - 1 / 80)
    assert all(d(x) < d(x + 1) for x in range(0, 400, 7))
    assert ema_decay(0.01, 16)(50) == 0.0  # T under one update: no averaging, never a negative decay
    # runs fingerprinted before the field existed resume unchanged; it is ours, not an Ultralytics argument
    assert "ema_epochs" not in FinetuneConfig().fingerprint_dict()
    assert FinetuneConfig(epochs=10, ema_epochs=5).fingerprint_dict()["ema_epochs"] == 5
    assert "ema_epochs" not in FinetuneConfig(epochs=10, ema_epochs=5).ultralytics_args()
    for bad in (-1, 4):
        with pytest.raises(ConfigError, match=f"ema_epochs {bad} is outside \\[0, epochs 3\\]"):
            FinetuneConfig(epochs=3, ema_epochs=bad)


def test_ema_epochs_averages_the_weights_ultralytics_ema_does_not(few_images_data, default_model, tmp_path):
    """On a small dataset Ultralytics' EMA (decay 0.9999 * (1 - exp(-updates / 2000))) saves the raw last weights;
    ``ema_epochs=1`` saves an average that lags them, for fine-tune and distillation trainers alike. Measured: the
    decay reached and the distance between the EMA and the trained weights at the end, with and without it."""
    import torch

    from yolo_compress.config import DistillConfig
    from yolo_compress.distill.distill import distill_trainer
    from yolo_compress.train import KeepArchitectureTrainer

    seen = {}

    def record(trainer):
        ema = torch.cat([p.detach().float().flatten() for p in trainer.ema.ema.parameters()])
        raw = torch.cat([p.detach().float().flatten() for p in trainer.model.parameters()])
        dist = (ema - raw).norm().item() if ema.numel() == raw.numel() else None
        seen[trainer.save_dir.name] = dist, trainer.ema.decay(trainer.ema.updates)

    class Recording(KeepArchitectureTrainer):
        def __init__(self, *a, **k):
            super().__init__(*a, **k)
            self.add_callback("on_train_end", record)

    base = dict(epochs=3, imgsz=64, batch=2, workers=0, optimizer="SGD", lr0=0.05, warmup_epochs=0.0, mosaic=0.0)
    nbs = {"nbs": 2}  # one optimizer step (one EMA update) per batch: 8 an epoch on 16 images
    finetune(default_model, few_images_data, FinetuneConfig(**base), tmp_path / "ultralytics", trainer=Recording,
             extra=nbs)
    finetune(default_model, few_images_data, FinetuneConfig(**base, ema_epochs=1), tmp_path / "ema1",
             trainer=Recording, extra=nbs)
    (d0, decay0), (d1, decay1) = seen["ultralytics"], seen["ema1"]
    assert decay0 < 0.02  # 24 updates into Ultralytics' 2000-update ramp
    assert decay1 == pytest.approx((1 - 1 / 8) * (1 - np.exp(-3)), rel=1e-6)  # T = 8 updates, 3 T done
    assert d1 > 5 * d0  # the average now lags the last weights
    kd = type("KD", (distill_trainer(default_model, DistillConfig()), Recording), {})  # as distill() runs it
    finetune(default_model, few_images_data, FinetuneConfig(**base, ema_epochs=1), tmp_path / "kd", trainer=kd,
             extra=nbs)
    assert seen["kd"][1] == pytest.approx(decay1, rel=1e-6)


def test_bn_freeze_epochs_must_not_be_negative():
    with pytest.raises(ConfigError, match="--bn-freeze-epochs -1 is negative"):
        FinetuneConfig(bn_freeze_epochs=-1)


def test_auto_recipe_is_gentle_only_for_an_intact_trained_model(default_model, tiny_pt, tmp_path):
    """--recipe auto: the shipped (trained, intact) model gets the gentle recipe; the same model pruned, an
    untrained checkpoint and a YAML get the recovery recipe; explicit flags win; an unknown recipe is refused."""
    from yolo_compress.train import RECIPES, auto_recipe, recipe_settings

    assert auto_recipe(default_model)[0] == "gentle"
    res = prune(load_model(default_model), PruneConfig(ratio=0.2, imgsz=64))
    pruned = save_model(res.model, tmp_path / "pruned.pt")
    assert auto_recipe(pruned) == ("recovery", "its layers differ from its YAML (pruned or changed by surgery)")
    assert auto_recipe(tiny_pt) == ("recovery", "the checkpoint carries no training record")
    assert auto_recipe("yolov8n.yaml")[0] == "recovery"
    assert auto_recipe(default_model, sparsity=1e-4)[0] == "recovery"
    kw, line = recipe_settings("auto", default_model, {"lr0": 1e-3})
    assert kw == {**RECIPES["gentle"], "lr0": 1e-3} and line.startswith("training recipe: gentle (an intact")
    assert recipe_settings("recovery", default_model, {}) == ({}, recipe_settings("recovery", pruned, {})[1])
    assert FinetuneConfig(**recipe_settings("gentle", pruned, {})[0]).lr0 == 5e-5
    with pytest.raises(ConfigError, match="--recipe 'fast' is unknown; choose auto, recovery, gentle"):
        recipe_settings("fast", default_model, {})


@pytest.mark.parametrize("bf16", [False, True])
def test_cpu_bf16_autocast_runs_the_training_step_in_bfloat16(bf16, small_dataset, tmp_path):
    """``cpu_bf16`` makes Ultralytics' own step run forward + loss under CPU autocast (convolutions in bfloat16)
    while the weights stay fp32 and the run saves a normal checkpoint; off (the default), the step stays fp32."""
    import torch
    from ultralytics import YOLO

    from yolo_compress.train import AllCoresTrainer

    seen = set()

    def on_start(trainer):  # after _setup_train: hook the first conv of the model being trained
        conv = next(m for m in trainer.model.modules() if isinstance(m, torch.nn.Conv2d))
        conv.register_forward_hook(lambda m, i, o: seen.add(o.dtype) if m.training else None)

    trainer = type("T", (AllCoresTrainer,), {"cpu_bf16": bf16})
    y = YOLO("yolov8n.yaml")
    y.add_callback("on_train_start", on_start)
    y.train(data=str(small_dataset), epochs=1, imgsz=64, batch=8, workers=0, project=str(tmp_path), name="r",
            exist_ok=True, plots=False, device="cpu", amp=False, verbose=False, trainer=trainer, val=False)
    assert seen == {torch.bfloat16 if bf16 else torch.float32}
    assert not torch.is_autocast_enabled("cpu")  # nothing leaks out of the step
    ckpt = load_model(tmp_path / "r" / "weights" / "last.pt")
    assert all(p.dtype == torch.float32 and torch.isfinite(p).all() for p in ckpt.parameters())


def test_finetune_precision_bf16_recovers_a_pruned_model_under_cpu_autocast(small_dataset, tmp_path):
    """``FinetuneConfig(precision="bf16")`` (``--precision bf16``) runs finetune()'s own trainer, the one that keeps
    a pruned architecture, under CPU bf16 autocast; the checkpoint stays the pruned fp32 model."""
    import torch

    res = prune(load_model("yolov8n.yaml", nc=3), PruneConfig(ratio=0.3, imgsz=64))
    y = load_model(save_model(res.model, tmp_path / "pruned.pt"))
    seen = set()

    def on_start(trainer):
        conv = next(m for m in trainer.model.modules() if isinstance(m, torch.nn.Conv2d))
        conv.register_forward_hook(lambda m, i, o: seen.add(o.dtype) if m.training else None)

    y.add_callback("on_train_start", on_start)
    cfg = FinetuneConfig(epochs=1, imgsz=64, batch=8, workers=0, precision="bf16")
    best = finetune(y, small_dataset, cfg, tmp_path / "ft")
    assert seen == {torch.bfloat16}
    tuned = load_model(best)
    assert sum(p.numel() for p in tuned.model.parameters()) == res.params_after
    assert all(p.dtype == torch.float32 and torch.isfinite(p).all() for p in tuned.model.parameters())


def test_precision_is_validated_resolved_per_device_and_kept_out_of_old_fingerprints():
    from yolo_compress.train import cpu_bf16_native

    with pytest.raises(ConfigError, match="precision 'fp16' is unknown"):
        FinetuneConfig(precision="fp16")
    assert not FinetuneConfig().cpu_bf16()
    assert FinetuneConfig(precision="bf16").cpu_bf16()
    assert not FinetuneConfig(precision="bf16", device="0").cpu_bf16()  # CUDA: Ultralytics' own AMP
    assert FinetuneConfig(precision="auto").cpu_bf16() == cpu_bf16_native()
    # runs fingerprinted before the field existed resume unchanged; a bf16 run is told apart from an fp32 one
    assert "precision" not in FinetuneConfig().fingerprint_dict()
    assert FinetuneConfig(precision="bf16").fingerprint_dict()["precision"] == "bf16"
    assert "precision" not in FinetuneConfig(precision="bf16").ultralytics_args()
    from yolo_compress.config import DistillConfig
    from yolo_compress.pipeline.stages import DistillStageConfig

    assert "precision" not in DistillStageConfig(DistillConfig(), FinetuneConfig()).fingerprint_dict()["train"]


def test_a_resumed_run_keeps_the_precision_it_started_with(tmp_path, capfd):
    """A run started in bf16 and resumed without the flag (or the other way round) stays in the precision it
    started with, as Ultralytics keeps a resumed run's own arguments: one run is never half fp32, half bf16."""
    import json

    from yolo_compress.train import _run_precision

    out = tmp_path / "ft"
    assert _run_precision(out, FinetuneConfig(precision="bf16"), resuming=False).precision == "bf16"
    assert json.loads((out / "precision.json").read_text()) == {"precision": "bf16"}
    assert _run_precision(out, FinetuneConfig(), resuming=True).precision == "bf16"
    assert "started with precision bf16; keeping it (not fp32)" in capfd.readouterr().err
    assert _run_precision(out, FinetuneConfig(), resuming=False).precision == "fp32"  # a new run: its own
    assert json.loads((out / "precision.json").read_text()) == {"precision": "fp32"}
    assert _run_precision(tmp_path / "old", FinetuneConfig(precision="bf16"), resuming=True).precision == "bf16"


@pytest.mark.parametrize("native", [True, False])
def test_auto_precision_is_recorded_as_what_it_resolved_to(tmp_path, monkeypatch, capfd, native):
    """``auto`` is bf16 on a CPU with native bf16 and fp32 elsewhere: a run records what it resolved to, so that a
    run started on one machine and resumed on another keeps its precision instead of switching halfway."""
    import json

    import yolo_compress.train as train

    out = tmp_path / "ft"
    monkeypatch.setattr(train, "cpu_bf16_native", lambda: native)
    started = "bf16" if native else "fp32"
    assert train._run_precision(out, FinetuneConfig(precision="auto"), resuming=False).precision == started
    assert json.loads((out / "precision.json").read_text()) == {"precision": started}
    monkeypatch.setattr(train, "cpu_bf16_native", lambda: not native)  # resumed on the other kind of CPU
    assert train._run_precision(out, FinetuneConfig(precision="auto"), resuming=True).precision == started
    assert f"started with precision {started}; keeping it (not auto)" in capfd.readouterr().err
