"""Distillation: every registered loss on tiny models (real Ultralytics models and trainer, nothing mocked)."""

from __future__ import annotations

import copy
from pathlib import Path

import pytest
import torch

from conftest import TINY_IMGSZ, kill_after, run_cli
from yolo_compress.api import DistillConfig, FinetuneConfig, distill, list_losses
from yolo_compress.distill.distill import student_only
from yolo_compress.distill.losses import LOSSES
from yolo_compress.distill.model import KDModel
from yolo_compress.errors import ConfigError
from yolo_compress.models import load_model, save_model


@pytest.fixture(scope="module")
def data(val_as_train_data) -> Path:
    return val_as_train_data


NAMES = {0: "garbage", 1: "garbage_bin", 2: "overflow"}


def _saved(yaml: str, path: Path, nc: int = 3) -> Path:
    y = load_model(yaml, nc=nc)
    if nc == 3:
        y.model.names = dict(NAMES)
    return save_model(y, path)


def _student(imgsz: int = TINY_IMGSZ, yaml: str = "yolov8n.yaml"):
    from ultralytics.cfg import get_cfg

    torch.manual_seed(0)
    m = load_model(yaml, nc=3).model
    m.args = get_cfg(overrides={"imgsz": imgsz})
    return m


def _batch(n: int = 2, imgsz: int = TINY_IMGSZ) -> dict:
    g = torch.Generator().manual_seed(0)
    return {"img": torch.rand(n, 3, imgsz, imgsz, generator=g),
            "cls": torch.tensor([[0.0], [2.0]]), "bboxes": torch.tensor([[0.5, 0.5, 0.4, 0.3], [0.3, 0.6, 0.2, 0.2]]),
            "batch_idx": torch.tensor([0.0, 1.0])}


def _heads(kd: KDModel, x: torch.Tensor):
    kd._teacher_feats.clear()
    kd._student_feats.clear()
    kd.teacher_model(x)
    kd.student_model(x)
    n = len(kd.feats_idx) - 1
    return (kd.decouple_outputs(kd._student_feats[n], "one2many"), kd.decouple_outputs(kd._teacher_feats[n], "one2many"),
            [kd._student_feats[i] for i in range(n)], [kd._teacher_feats[i] for i in range(n)])


@pytest.mark.parametrize("name", list_losses())
def test_loss_finite_student_only_gradients_and_zero_on_equal(name):
    _check_loss(name, "yolov8n.yaml")


@pytest.mark.parametrize("name", list_losses("head"))
def test_head_losses_on_a_head_without_dfl(name):
    """YOLO26's head has no DFL (reg_max 1: it outputs the box sides): ``ld`` was a KL over one bin, 0 whatever
    the boxes, and ``box`` read every side as 0 (IoU 0, loss 1, no gradient). Both must see the boxes."""
    _check_loss(name, "yolo26n.yaml")


@pytest.mark.parametrize("branches", ["one2many", "both"])
def test_end_to_end_head_distils_its_one_to_one_branch_when_asked(branches):
    """YOLO26 (and YOLOv10) train a one-to-one copy of the head on detached features: the branch an --nms-free
    export runs. The head losses reach it with ``head_branches='both'`` and cannot with ``one2many``, which still
    distils the one-to-many branch; the KD term alone is back-propagated."""
    student = _student(yaml="yolo26n.yaml")
    kd = KDModel(copy.deepcopy(student), student,
                 DistillConfig(losses=(("cls_kl", 1.0), ("ld", 1.0)), warmup_epochs=0, head_branches=branches))
    with torch.no_grad():
        for p in kd.student_model.parameters():
            p.add_(0.05 * torch.randn_like(p))
    kd.train()
    loss, _ = kd.loss(_batch())
    loss[-1].backward()  # the KD term: the regular E2E loss trains both branches anyway

    def grad(modules) -> float:
        return sum(float(p.grad.abs().sum()) for m in modules for p in m.parameters() if p.grad is not None)

    head = kd.student_model.model[-1]
    assert grad([head.cv2, head.cv3]) > 0
    assert (grad([head.one2one_cv2, head.one2one_cv3]) > 0) == (branches == "both")
    with pytest.raises(ConfigError, match="kd-branches"):
        DistillConfig(head_branches="one2one")


def _check_loss(name: str, yaml: str):
    student = _student(yaml=yaml)
    kd = KDModel(copy.deepcopy(student), student, DistillConfig(losses=((name, 1.0),), warmup_epochs=0))
    # zero when the student *is* the teacher (same weights, both in eval mode so BN behaves the same)
    kd.eval()
    with torch.no_grad():
        v = kd.kd_terms(*_heads(kd, _batch()["img"]))[name]
    assert torch.isfinite(v)
    if LOSSES[name].zero_when_equal:
        assert abs(float(v)) < 1e-5, f"{name} is {float(v)} for identical student and teacher"
    # a training step: finite, gradients reach the student (and the loss's own modules), never the teacher
    kd.train()
    teacher_before = {k: t.clone() for k, t in kd.teacher_model.state_dict().items()}
    with torch.no_grad():  # make the student differ from the teacher so every loss has a gradient
        for p in kd.student_model.parameters():
            p.add_(0.05 * torch.randn_like(p))
    loss, items = kd.loss(_batch())
    assert torch.isfinite(loss).all() and float(items["dis_loss"]) > 0
    opt = torch.optim.SGD([p for p in kd.parameters() if p.requires_grad], lr=0.1)
    loss.sum().backward()
    assert all(p.grad is None for p in kd.teacher_model.parameters())
    grads = [p.grad for n, p in kd.student_model.named_parameters() if "dfl" not in n]
    assert sum(float(g.abs().sum()) for g in grads if g is not None) > 0
    if name in ("ld", "box"):  # the box losses reach the head's box branch itself (one-to-many: cv2)
        box_grads = [p.grad for p in kd.student_model.model[-1].cv2.parameters()]
        assert sum(float(g.abs().sum()) for g in box_grads if g is not None) > 0, f"{name} leaves the boxes alone"
    opt.step()
    for k, t in kd.teacher_model.state_dict().items():
        assert torch.equal(t, teacher_before[k]), f"teacher tensor {k} changed"


def test_schedule_progressive_and_temperature_annealing():
    student = _student()
    cfg = DistillConfig(losses=(("cls_kl", 1.0), ("cwd", 1.0)), schedule="progressive", stages=(0.3, 0.8),
                        temperature=5.0, temperature_end=1.0, warmup_epochs=0)
    kd = KDModel(copy.deepcopy(student), student, cfg)
    kd.progress = 0.1
    assert kd.factors()[:2] == (0.0, 1.0)  # stage 1: features only
    kd.progress = 0.5
    head, feat, t = kd.factors()
    assert (head, feat) == (1.0, 1.0) and t == pytest.approx(3.0)
    kd.progress = 0.9
    assert kd.factors()[:2] == (0.0, 0.0)  # stage 3: hard labels only


def test_distill_run_saves_student_only_checkpoint(data, tmp_path):
    """A few iterations with a wider teacher (v8s vs v8n: adapters 1x1 from 64/128/256 to 128/256/512
    channels): the final checkpoint is the student alone, loads with YOLO() and validates."""
    from ultralytics import YOLO

    student = _saved("yolov8n.yaml", tmp_path / "student.pt")
    teacher = _saved("yolov8s.yaml", tmp_path / "teacher.pt")
    cfg = DistillConfig(losses=(("cls_kl", 1.0), ("ld", 1.0), ("mgd", 1.0)), warmup_epochs=0)
    train = FinetuneConfig(epochs=1, imgsz=TINY_IMGSZ, batch=16, workers=0, fraction=0.5)
    best = distill(student, teacher, data, cfg, train, tmp_path / "run")
    assert student_only(best)
    assert (tmp_path / "run" / "results.csv").read_text().splitlines()[0].count("dis_loss") == 2
    y = YOLO(str(best))
    assert sum(p.numel() for p in y.model.parameters()) == sum(p.numel() for p in load_model(student).model.parameters())
    y.val(data=str(data), imgsz=TINY_IMGSZ, batch=8, plots=False, verbose=False)


def test_distill_run_on_yolo26_end_to_end_head(data, tmp_path):
    """YOLO26 (no DFL, one-to-one and one-to-many heads, E2E loss) distils through Ultralytics' trainer: the box
    term is non-zero in the logged losses, and the result is the student alone with both heads."""
    import csv

    from ultralytics import YOLO

    student = _saved("yolo26n.yaml", tmp_path / "student.pt")
    teacher = _saved("yolo26s.yaml", tmp_path / "teacher.pt")
    cfg = DistillConfig(losses=(("ld", 1.0),), warmup_epochs=0, head_branches="both")
    train = FinetuneConfig(epochs=1, imgsz=TINY_IMGSZ, batch=16, workers=0, fraction=0.5)
    best = distill(student, teacher, data, cfg, train, tmp_path / "run")
    assert student_only(best)
    row = next(csv.DictReader((tmp_path / "run" / "results.csv").open()))
    dis = [float(v) for k, v in row.items() if "dis_loss" in k and k.strip().startswith("train")]
    assert dis and dis[0] > 0, f"ld alone logged {dis} on a YOLO26 student: no box signal"
    head = YOLO(str(best)).model.model[-1]
    assert head.reg_max == 1 and getattr(head, "one2one_cv2", None) is not None


def test_bad_pairs_one_line(data, tmp_path, default_model):
    student = _saved("yolov8n.yaml", tmp_path / "student.pt")
    other = _saved("yolov8n.yaml", tmp_path / "five.pt", nc=5)
    renamed = save_model(load_model("yolov8n.yaml", nc=3), tmp_path / "renamed.pt")  # class0.. names
    train = FinetuneConfig(epochs=1, imgsz=TINY_IMGSZ)
    with pytest.raises(ConfigError, match="predicts 5 classes"):
        distill(student, other, data, DistillConfig(), train, tmp_path / "r1")
    with pytest.raises(ConfigError, match="class0"):
        distill(student, renamed, data, DistillConfig(), train, tmp_path / "r1b")
    with pytest.raises(ConfigError, match="not found"):
        distill(student, tmp_path / "missing.pt", data, DistillConfig(), train, tmp_path / "r2")
    with pytest.raises(ConfigError, match="trained at imgsz 320"):
        distill(student, default_model, data, DistillConfig(), train, tmp_path / "r3")
    with pytest.raises(ConfigError, match="did you mean cwd"):  # checked against the registry before any work
        distill(student, other, data, DistillConfig(losses=(("cdw", 1.0),)), train, tmp_path / "r5")
    assert not (tmp_path / "r5").exists()
    with pytest.raises(ConfigError, match=r"--kd-warmup 2 \(the KD weight's ramp-up\) is longer than the run's --epochs 1; give --kd-warmup 1"):
        distill(student, other, data, DistillConfig(warmup_epochs=2), train, tmp_path / "r6")
    assert not (tmp_path / "r6").exists()
    r = run_cli("distill", str(student), "--teacher", str(other), "--data", str(data), "--imgsz", "64",
                "--out", str(tmp_path / "r4"))
    assert r.returncode != 0 and r.stderr.count("\n") == 1 and "predicts 5 classes" in r.stderr
    assert not (tmp_path / "r4").exists()


def test_killed_distill_resumes_with_our_losses(data, tmp_path):
    """Kill the CLI after the first checkpoint, resume: training finishes, the KD loss is still ours
    (train/dis_loss > 0 in the resumed epochs) and the final checkpoint is the student alone."""
    student = _saved("yolov8n.yaml", tmp_path / "student.pt")
    teacher = _saved("yolov8n.yaml", tmp_path / "teacher.pt")
    run = tmp_path / "run"
    args = ["distill", str(student), "--teacher", str(teacher), "--data", str(data), "--imgsz", "64", "--epochs", "2",
            "--batch", "16", "--workers", "0", "--kd-warmup", "0", "--loss", "cls_kl=1,cwd=1", "--out", str(run)]
    last = run / "weights" / "last.pt"
    kill_after(args, last)
    before = (run / "results.csv").read_text().splitlines()
    assert last.exists() and len(before) == 2  # header + epoch 1
    assert not student_only(last)  # mid-run checkpoint: the wrapper, so that resume keeps the adapters
    r = run_cli(*args, "--resume")
    assert r.returncode == 0, r.stderr
    rows = [ln.split(",") for ln in (run / "results.csv").read_text().splitlines()]
    col = [c.strip() for c in rows[0]].index("train/dis_loss")
    assert [r[0].strip() for r in rows[1:]] == ["1", "2"] and float(rows[-1][col]) > 0
    assert ",".join(rows[1]) == before[1]  # epoch 1 kept: the run continued, it did not start over
    assert student_only(run / "weights" / "best.pt")


def test_ddp_workers_rebuild_our_trainer(data, tmp_path):
    """``device=0,1``: Ultralytics starts each DDP worker from a file that ``generate_ddp_file`` pickles (the
    trainer class, its args, the model). A fresh interpreter must get our distillation trainer back with
    its teacher path and losses, and the KDModel with its teacher and adapters. The multi-GPU run itself
    needs GPUs; this is the part of it that runs (and can break) here."""
    import subprocess
    import sys

    from ultralytics.utils.dist import ddp_cleanup, generate_ddp_file

    from yolo_compress.distill.distill import distill_trainer

    student = _saved("yolov8n.yaml", tmp_path / "student.pt")
    teacher = _saved("yolov8n.yaml", tmp_path / "teacher.pt")  # n: a small pickle
    cls = distill_trainer(teacher, DistillConfig(losses=(("ld", 0.5), ("cwd", 2.0)), temperature=3.0))
    trainer = cls(overrides={"model": str(student), "data": str(data), "imgsz": TINY_IMGSZ, "epochs": 1,
                             "device": "cpu", "project": str(tmp_path), "name": "ddp", "plots": False})
    trainer.model = trainer.get_model(weights=load_model(student).model)
    script = generate_ddp_file(trainer)
    try:
        probe = f"""
import sys
sys.path = {sys.path!r}
from ultralytics.utils import DEFAULT_CFG_DICT
from ultralytics.utils.patches import torch_load
state = torch_load({str(Path(script).with_suffix('.pt'))!r}, map_location="cpu")
cfg = DEFAULT_CFG_DICT.copy(); cfg.update(save_dir='')
t = state["trainer"](cfg=cfg, overrides=state["args"], _callbacks=state["callbacks"])
m = state["model"]
print(type(t).__mro__[1].__name__, t.teacher_path, t.kd.losses, t.kd.temperature, type(m).__name__,
      sum(p.numel() for p in m.teacher_model.parameters()) > 0, len(m.adapters) if hasattr(m, "adapters") else -1)
"""
        r = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, timeout=300, check=False)
    finally:
        ddp_cleanup(trainer, script)
    assert r.returncode == 0, r.stderr[-2000:]
    words = r.stdout.split()
    assert words[0] == "DistillTrainer" and words[1] == str(teacher)
    assert "('ld', 0.5), ('cwd', 2.0)" in r.stdout and words[-4] == "3.0" and words[-3] == "KDModel"
    assert words[-2] == "True" and words[-1] == "3"  # teacher inside, one adapter per neck level


def test_distill_under_cpu_bf16_autocast_keeps_losses_finite(data, tmp_path):
    """``precision="bf16"``: student, teacher, adapters and our losses run inside Ultralytics' step under CPU bf16
    autocast; every logged loss stays finite and the saved student is fp32."""
    import csv
    import math

    student = _saved("yolov8n.yaml", tmp_path / "student.pt")
    teacher = _saved("yolov8s.yaml", tmp_path / "teacher.pt")
    cfg = DistillConfig(losses=(("cls_kl", 1.0), ("ld", 1.0), ("cwd", 10.0)), warmup_epochs=0)
    train = FinetuneConfig(epochs=1, imgsz=TINY_IMGSZ, batch=16, workers=0, fraction=0.5, precision="bf16")
    seen = set()  # output dtypes of every conv run in training mode (the student's; the teacher is frozen in eval)
    hook = torch.nn.modules.module.register_module_forward_hook(
        lambda m, i, o: seen.add(o.dtype) if isinstance(m, torch.nn.Conv2d) and m.training else None)
    try:
        best = distill(student, teacher, data, cfg, train, tmp_path / "run")
    finally:
        hook.remove()
    assert torch.bfloat16 in seen
    row = next(csv.DictReader((tmp_path / "run" / "results.csv").open()))
    losses = {k.strip(): float(v) for k, v in row.items() if "loss" in k}
    assert losses and all(math.isfinite(v) for v in losses.values()), losses
    assert any(k.startswith("train/dis") for k in losses)
    assert all(p.dtype == torch.float32 and torch.isfinite(p).all() for p in load_model(best).model.parameters())
