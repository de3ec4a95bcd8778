"""``distill()``: train a student with a frozen teacher through Ultralytics' detection trainer.

The trainer keeps Ultralytics' data pipeline (the teacher sees the same augmented batch), EMA, validation,
checkpoints and DDP (``device=0,1``). The final ``best.pt`` / ``last.pt`` hold the student only: a normal
Ultralytics checkpoint. An interrupted run resumes from ``last.pt`` with the teacher reloaded from its file.
"""

from __future__ import annotations

import os
from pathlib import Path

from torch import nn

from ..config import DistillConfig
from ..errors import ConfigError
from ..train import FinetuneConfig, KeepArchitectureTrainer, finetune
from .losses import check_losses
from .model import KDModel


def _progress_epoch_start(trainer) -> None:
    from ultralytics.utils.torch_utils import unwrap_model

    m = unwrap_model(trainer.model)
    if isinstance(m, KDModel):
        m.epochs_total = trainer.epochs
        m.progress = trainer.epoch / trainer.epochs
        trainer._kd_step = 1.0 / (trainer.epochs * max(1, len(trainer.train_loader)))


def _progress_batch_end(trainer) -> None:
    from ultralytics.utils.torch_utils import unwrap_model

    m = unwrap_model(trainer.model)
    if isinstance(m, KDModel):
        m.progress = min(1.0, m.progress + getattr(trainer, "_kd_step", 0.0))


class DistillTrainer(KeepArchitectureTrainer):
    """``DetectionTrainer`` whose model is a :class:`KDModel` (student + frozen teacher + our losses)."""

    teacher_path: str = ""
    kd: DistillConfig = DistillConfig()

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.add_callback("on_train_epoch_start", _progress_epoch_start)
        self.add_callback("on_train_batch_end", _progress_batch_end)

    def _teacher(self) -> nn.Module:
        from ..models import load_model

        return load_model(self.teacher_path).model.float()

    def _wrap(self, student: nn.Module) -> KDModel:
        student.args = self.args
        return KDModel(self._teacher(), student, self.kd)

    def get_model(self, cfg=None, weights=None, verbose: bool = True):
        return self._wrap(super().get_model(cfg=cfg, weights=weights, verbose=verbose))

    def setup_model(self):
        """Resume: the checkpoint holds a KDModel without its teacher; rebuild ours (Ultralytics would rebuild
        its own DistillationModel and drop our losses and adapters)."""
        if isinstance(self.model, nn.Module):
            return None
        from ..models import load_checkpoint

        weights, ckpt = load_checkpoint(self.model)
        if not isinstance(weights, KDModel):
            return super().setup_model()
        model = self._wrap(KeepArchitectureTrainer.get_model(self, weights=weights.student_model))
        model.load_state_dict({k: v for k, v in weights.state_dict().items() if not k.startswith("teacher_model.")},
                              strict=False)
        self.model = model
        return ckpt


def distill_trainer(teacher: str | os.PathLike, cfg: DistillConfig) -> type[DistillTrainer]:
    return type("DistillTrainer", (DistillTrainer,), {"teacher_path": str(teacher), "kd": cfg})


def check_pair(student, teacher, data_names: dict[int, str], imgsz: int) -> None:
    """Refuse pairs that cannot be distilled, before any work: one line naming the input and the fix."""
    from ..models import load_model

    t = teacher if hasattr(teacher, "model") else load_model(teacher)  # a loaded YOLO is used as it is
    s = student if hasattr(student, "model") else load_model(student)
    if t is teacher:
        teacher = getattr(t, "ckpt_path", None) or "teacher"  # a file name for the messages
    sh, th = s.model.model[-1], t.model.model[-1]
    if not hasattr(th, "stride") or not hasattr(th, "reg_max") or getattr(t, "task", "detect") != "detect":
        raise ConfigError(f"teacher '{teacher}' is not a detection model (task '{getattr(t, 'task', '?')}', head "
                          f"{type(th).__name__}); give a trained YOLO detector .pt")
    tn = {int(k): v for k, v in dict(t.names).items()}
    if len(tn) != len(data_names) or list(tn.values()) != list(data_names.values()):
        raise ConfigError(f"teacher '{teacher}' predicts {len(tn)} classes {list(tn.values())} but the dataset has "
                          f"{len(data_names)} {list(data_names.values())}; train the teacher on this dataset first")
    t_imgsz = ((getattr(t, "ckpt", None) or {}).get("train_args") or {}).get("imgsz")
    if t_imgsz and int(t_imgsz) != imgsz:
        raise ConfigError(f"teacher '{teacher}' was trained at imgsz {t_imgsz} but distillation runs at {imgsz}; "
                          f"pass --imgsz {t_imgsz} (or use a teacher trained at {imgsz})")
    sh, th = s.model.model[-1], t.model.model[-1]
    if list(sh.stride) != list(th.stride) or sh.reg_max != th.reg_max:
        raise ConfigError(f"teacher '{teacher}' head (strides {th.stride.tolist()}, reg_max {th.reg_max}) does not "
                          f"match the student's ({sh.stride.tolist()}, {sh.reg_max}); pick a teacher with the same "
                          f"output layout")


def check_kd_warmup(cfg: DistillConfig, train: FinetuneConfig, warmup: str = "--kd-warmup",
                    epochs: str = "--epochs") -> None:
    """Refuse a KD ramp-up longer than the run (the KD weight would never reach full strength), naming the
    options as the caller's user wrote them (CLI flags, or a recipe stage's keys)."""
    if cfg.warmup_epochs > train.epochs:
        raise ConfigError(f"{warmup} {cfg.warmup_epochs:g} (the KD weight's ramp-up) is longer than the run's "
                          f"{epochs} {train.epochs}; give {warmup} {train.epochs} or less, or more {epochs}")


def distill(student, teacher, data, cfg: DistillConfig = DistillConfig(), train: FinetuneConfig | None = None,
            out_dir: str | os.PathLike = "runs/distill", resume: bool = False) -> Path:
    """Distill ``teacher`` into ``student`` (a .pt or model YAML) on ``data``. Returns the final checkpoint
    (``best.pt``), which holds the student only."""
    from ..data import load_data

    check_losses(cfg.losses)
    train = train or FinetuneConfig()
    check_kd_warmup(cfg, train)
    spec = load_data(data, splits=("train", "val"))
    if not Path(teacher).exists():
        raise ConfigError(f"teacher '{teacher}' not found; pass the path of a trained .pt with --teacher")
    check_pair(student, teacher, spec.names, train.imgsz)
    out = Path(out_dir)
    last = out / "weights" / "last.pt"
    return finetune(student, data, train, out, resume=resume and last.exists(), trainer=distill_trainer(teacher, cfg))


def student_only(checkpoint: str | os.PathLike) -> bool:
    """True when a checkpoint holds a plain detection model (no teacher, no wrapper)."""
    from ..models import load_checkpoint

    _, ck = load_checkpoint(checkpoint)
    m = ck.get("ema") or ck.get("model")
    return m is not None and not hasattr(m, "teacher_model") and type(m).__name__ == "DetectionModel"
