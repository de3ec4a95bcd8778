"""benchmarks/zoo.py --structure: a (pruned) checkpoint's architecture trained from fresh weights, the capacity
bound of a compressed model (BENCHMARKS.md 10). The re-initialisation must keep the architecture and DFL's fixed
integral, and leave nothing of the trained weights."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import torch

from conftest import TINY_IMGSZ

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "benchmarks"))


def test_reinitialized_keeps_the_architecture_and_no_trained_weight(default_model, tmp_path):
    import zoo
    from yolo_compress.api import PruneConfig, prune_checkpoint
    from yolo_compress.models import load_model

    pruned = tmp_path / "p.pt"
    prune_checkpoint(default_model, PruneConfig(target_flops=0.5, imgsz=TINY_IMGSZ), pruned)
    init = zoo.reinitialized(pruned, tmp_path / "init.pt", seed=0)
    old, new = load_model(pruned).model, load_model(init).model
    assert [tuple(v.shape) for v in old.state_dict().values()] == [tuple(v.shape) for v in new.state_dict().values()]
    o, n = old.state_dict(), new.state_dict()
    for k in o:
        if "dfl" in k:
            assert torch.equal(o[k], n[k]), k  # the fixed integral 0..reg_max-1
        elif k.endswith(("running_mean", "running_var")):
            assert torch.equal(n[k], torch.zeros_like(n[k]) if "mean" in k else torch.ones_like(n[k])), k
        elif n[k].dtype.is_floating_point:
            assert not torch.allclose(o[k].float(), n[k].float()), k  # re-drawn or reset (biases, BN scale/shift)
    bn = [m for m in new.modules() if isinstance(m, torch.nn.BatchNorm2d)]
    assert bn and all(torch.equal(m.weight, torch.ones_like(m.weight)) for m in bn)
    assert all(torch.equal(m.bias, torch.zeros_like(m.bias)) for m in bn)
    assert all(m.eps == 1e-3 and m.momentum == 0.03 for m in bn)  # Ultralytics' BN settings are kept
    head = new.model[-1]
    assert torch.allclose(head.cv2[0][-1].bias.float(), torch.full_like(head.cv2[0][-1].bias.float(), 2.0))  # bias_init
    assert zoo.reinitialized(pruned, tmp_path / "init2.pt", seed=0).exists()
    a, b = load_model(init).model.state_dict(), load_model(tmp_path / "init2.pt").model.state_dict()
    assert all(torch.equal(a[k], b[k]) for k in a)  # seeded: the same structure and seed give the same start


def test_structure_needs_a_name_and_an_existing_file(tmp_path):
    def run(*args):
        return subprocess.run([sys.executable, str(REPO / "benchmarks/zoo.py"), *args, "--out", str(tmp_path)],
                              capture_output=True, text=True, timeout=120)

    r = run("--structure", str(tmp_path / "missing.pt"), "--name", "x")
    assert r.returncode == 2 and "missing.pt not found" in r.stderr and not (tmp_path / "x").exists()
    r = run("--structure", str(tmp_path / "missing.pt"))
    assert r.returncode == 2 and "--name" in r.stderr


def test_init_refuses_another_architecture_or_a_pruned_one(default_model, tmp_path):
    def run(*args):
        return subprocess.run([sys.executable, str(REPO / "benchmarks/zoo.py"), *args, "--out", str(tmp_path)],
                              capture_output=True, text=True, timeout=120)

    r = run("--model", "yolo11n", "--init", str(default_model), "--name", "x")  # a YOLOv8n checkpoint
    assert r.returncode == 2 and "is a yolov8n.yaml model" in r.stderr and "not yolo11n.yaml" in r.stderr
    from yolo_compress.api import PruneConfig, prune_checkpoint

    pruned = tmp_path / "p.pt"
    prune_checkpoint(default_model, PruneConfig(target_flops=0.5, imgsz=TINY_IMGSZ), pruned)
    r = run("--model", "yolov8n", "--init", str(pruned), "--name", "x")
    assert r.returncode == 2 and "unpruned checkpoint" in r.stderr and not (tmp_path / "x").exists()
    r = run("--model", "yolov8n", "--init", str(default_model))
    assert r.returncode == 2 and "--name" in r.stderr


def test_snapshot_of_a_large_last_pt_drops_only_the_optimizer_state(default_model, tmp_path, monkeypatch):
    """A long run's snapshot is committed to git each session: over _common.SLIM_OVER it is written without the
    optimizer's per-parameter moments (YOLOv8s: 112 -> 22.5 MB), everything else Ultralytics' resume reads kept;
    under it, a byte copy."""
    import zoo
    from yolo_compress.models import load_model

    ema = load_model(default_model).model
    ckpt = {"epoch": 7, "best_fitness": 0.4, "model": None, "ema": ema, "updates": 123,
            "optimizer": {"state": {0: {"exp_avg": torch.ones(2_000_000)}}, "param_groups": [{"lr": 0.01}]},
            "train_args": {"epochs": 140}, "train_results": {"epoch": [1, 2]}}
    last = tmp_path / "last.pt"
    torch.save(ckpt, last)
    assert zoo.write_snapshot(last, tmp_path / "full.pt") == "full"
    assert (tmp_path / "full.pt").read_bytes() == last.read_bytes()
    monkeypatch.setattr(sys.modules["_common"], "SLIM_OVER", 0)
    assert "without the optimizer's moments" in zoo.write_snapshot(last, tmp_path / "slim.pt")
    slim = torch.load(tmp_path / "slim.pt", weights_only=False)
    # not None: Ultralytics' YOLO.train(resume=True) refuses (and silently starts anew) without an optimizer entry
    assert slim["optimizer"] == {"state": {}, "param_groups": [{"lr": 0.01}]}
    assert (tmp_path / "slim.pt").stat().st_size < last.stat().st_size
    assert {k: v for k, v in slim.items() if k not in ("ema", "optimizer")} == \
        {k: v for k, v in ckpt.items() if k not in ("ema", "optimizer")}
    assert all(torch.equal(a, b) for a, b in zip(slim["ema"].state_dict().values(), ema.state_dict().values()))
    assert not list(tmp_path.glob(".*.tmp"))
