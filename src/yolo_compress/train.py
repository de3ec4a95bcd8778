"""Training on Ultralytics' detection trainer without losing a compressed architecture.

``YOLO("pruned.pt").train()`` rebuilds the model from its YAML and copies over the weights whose
shapes match: a pruned model silently becomes an unpruned one. :class:`KeepArchitectureTrainer`
subclasses ``DetectionTrainer`` and trains the given model as it is (the only change); data pipeline,
augmentation, EMA, checkpoints, validation, resume and DDP stay Ultralytics'. Use it as
``YOLO("pruned.pt").train(trainer=KeepArchitectureTrainer, ...)`` or through :func:`finetune`.
"""

from __future__ import annotations

import os
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import ClassVar

import torch

from . import env  # noqa: F401
from .config import _Config, _check_imgsz
from .io import checkpoint_state
from .errors import ConfigError


def _trainer_base():
    from ultralytics.models.yolo.detect import DetectionTrainer

    return DetectionTrainer


HOLD_ENV = "YOLO_COMPRESS_HOLD_AFTER_EPOCH"  # fault injection for the kill-and-resume tests: "N:PATH"


def _hold_for_kill(trainer) -> None:
    """With ``$YOLO_COMPRESS_HOLD_AFTER_EPOCH=N:PATH``: once epoch N's checkpoint is saved, write PATH and wait
    to be killed. The tests that SIGKILL a training mid-run wait for PATH, so the kill lands between epochs N
    and N+1 on any CPU (polling for last.pt raced a fast CPU through the last epoch)."""
    n, _, marker = os.environ.get(HOLD_ENV, "").partition(":")
    if n.isdigit() and marker and trainer.epoch + 1 == int(n):
        Path(marker).write_text(f"held after epoch {n}\n")
        while True:
            time.sleep(1)


def cpu_bf16_native() -> bool:
    """The CPU computes bfloat16 in hardware (AMX-BF16 or AVX512-BF16). There torch's CPU autocast runs
    convolutions in bf16 ~2.5-3x faster than fp32 (YOLOv8s forward+backward, batch 16, 320 px, 2 threads: 1.8-2.5 s
    fp32 vs 0.74 s bf16 on the AMX Xeon dev VM, 2026-12-03); without it bf16 is emulated and slower than fp32."""
    try:
        flags = set(Path("/proc/cpuinfo").read_text().split())
    except OSError:
        return False
    return bool(flags & {"amx_bf16", "avx512_bf16"})


PRECISIONS = ("fp32", "bf16", "auto")


def ema_decay(ema_epochs: float, steps_per_epoch: float):
    """The EMA decay as a function of optimizer updates for a time constant of ``ema_epochs`` epochs: with
    ``T = ema_epochs * steps_per_epoch`` updates, ``(1 - 1/T) * (1 - exp(-updates / T))``. It ramps from 0 (the
    average follows the weights while they move most, e.g. right after a cut) to ``1 - 1/T``, an average over
    roughly the last ``ema_epochs`` epochs, reached after ~3 T. Ultralytics' ramp has the same shape with a
    ceiling of 0.9999 and a ramp of 2000 updates, whatever the run's length."""
    import math

    T = max(ema_epochs * steps_per_epoch, 1.0)
    return lambda x: (1 - 1 / T) * (1 - math.exp(-x / T))


def _apply_ema_epochs(trainer) -> None:
    """Give the trainer's ``ModelEMA`` the decay of ``trainer.ema_epochs`` (no-op at 0: Ultralytics' own)."""
    n = getattr(trainer, "ema_epochs", 0.0)
    ema = getattr(trainer, "ema", None)
    if not n or ema is None or getattr(ema.decay, "_ema_epochs", None) == n:
        return
    steps = len(trainer.train_loader) / trainer.accumulate  # optimizer steps an epoch: each one updates the EMA
    ema.decay = ema_decay(n, steps)
    ema.decay._ema_epochs = n


def check_precision(precision: str) -> None:
    if precision not in PRECISIONS:
        raise ConfigError(f"--precision '{precision}' is unknown; choose {', '.join(PRECISIONS)}")


def resolve_cpu_bf16(precision: str, device: str = "cpu") -> bool:
    """Whether training with ``precision`` (fp32 | bf16 | auto) on ``device`` runs under CPU bfloat16 autocast:
    auto = where the CPU computes bf16 natively; CUDA never (Ultralytics' own AMP applies there)."""
    check_precision(precision)
    if str(device).lower() != "cpu":
        return False
    return precision == "bf16" or (precision == "auto" and cpu_bf16_native())


class AllCoresTrainer(_trainer_base()):
    """A ``DetectionTrainer`` that trains on every CPU core.

    On CPU, Ultralytics' ``select_device`` caps torch at ``os.cpu_count() - 1`` threads (one thread on
    a 2-core machine) and its trainer sets ``workers=0``: a 2-core box trains on one core. Measured on
    the 2-core dev VM, a YOLOv8s forward+backward at batch 16, 320 px takes 5.6 s with 1 thread and 3.3 s
    with 2. Data loading stays in the main process (``workers=0``): augmenting a 320-px batch is a few
    percent of a step, and a worker process would compete for the same cores.
    """

    cpu_threads: int | None = None  # None: $YOLO_COMPRESS_THREADS if set, else os.cpu_count()

    def __init__(self, *args, **kwargs):
        from .progress import add_training_callbacks

        super().__init__(*args, **kwargs)
        add_training_callbacks(self)  # epoch i/N, elapsed, ETA, last val mAP50-95 (progress.py)
        if os.environ.get(HOLD_ENV):
            self.add_callback("on_model_save", _hold_for_kill)
        # at every epoch start: the EMA is built (or rebuilt by a resume or a NaN recovery) before its first update
        self.add_callback("on_train_epoch_start", _apply_ema_epochs)
        if self.device.type == "cpu":
            env = os.environ.get("YOLO_COMPRESS_THREADS", "")
            torch.set_num_threads(self.cpu_threads or (int(env) if env.isdigit() else 0) or os.cpu_count() or 1)

    # Mixed precision on CPU: forward and loss under torch's CPU autocast (bfloat16), weights, gradients and
    # optimizer in fp32, as Ultralytics' CUDA AMP does in fp16 (bf16 needs no GradScaler). Ultralytics turns AMP
    # off on CPU (its check_amp) and its bf16 path asks for CUDA; setting ``self.amp`` after its set-up makes its own
    # step enter ``torch.amp.autocast("cpu")``, whose default dtype is bfloat16. Off unless a subclass or caller
    # sets it (benchmarks/zoo.py --bf16): worth it only where ``cpu_bf16_native()``.
    cpu_bf16: bool = False

    # EMA with a time constant in epochs instead of Ultralytics' fixed one (0 = Ultralytics' own). Its ModelEMA
    # ramps its decay as 0.9999 * (1 - exp(-updates / 2000)), sized for COCO's ~1,800 optimizer steps an epoch; on a
    # 1,000-image set at batch 16 (nbs 64: one step per 4 batches, ~16 an epoch) a 60-epoch fine-tune ends at
    # decay ~0.38, an average over ~2 steps: the weights it saves are the raw last ones (see ``ema_decay``).
    ema_epochs: float = 0.0

    def _setup_train(self, *args, **kwargs):
        super()._setup_train(*args, **kwargs)
        if self.cpu_bf16 and self.device.type == "cpu":
            if torch.get_autocast_dtype("cpu") != torch.bfloat16:
                raise RuntimeError(f"CPU autocast dtype is {torch.get_autocast_dtype('cpu')}, expected bfloat16")
            self.amp = True  # the scaler made above stays disabled: bf16 has fp32's exponent range


class KeepArchitectureTrainer(AllCoresTrainer):
    """A ``DetectionTrainer`` that trains the model it is given instead of rebuilding it from YAML."""

    # BatchNorm running statistics stay frozen (eval mode) for this many first epochs; affine BN parameters
    # still train. A trained model's statistics were estimated on its training distribution; a fine-tune
    # restarts mosaic and a fresh optimizer, and BN (momentum 0.03) replaces most of its statistics within
    # ~60 steps while the weights have not adapted. Ultralytics' own hook for this is ``_model_train``.
    bn_freeze_epochs: int = 0

    def _model_train(self):
        super()._model_train()
        if self.epoch < self.bn_freeze_epochs:
            for m in self.model.modules():
                if isinstance(m, torch.nn.modules.batchnorm._BatchNorm):
                    m.eval()

    def get_model(self, cfg=None, weights=None, verbose: bool = True):
        if isinstance(weights, torch.nn.Module):
            model = weights
            for p in model.parameters():
                p.requires_grad_(True)
            names = self.data.get("names") if getattr(self, "data", None) else None
            if names and len(names) != model.model[-1].nc:
                raise ConfigError(
                    f"model has {model.model[-1].nc} classes but the dataset has {len(names)}; fine-tune on the "
                    f"dataset the model was trained for"
                )
            if names:
                model.names = names
            return model.float()
        return super().get_model(cfg=cfg, weights=weights, verbose=verbose)


class SparsityTrainer(KeepArchitectureTrainer):
    """Network-slimming sparsity training (Liu et al. 2017): an L1 penalty on BatchNorm scales, added to
    their gradients before each optimizer step, so that ``--criterion bn`` later finds channels to drop.
    The regulariser is the one Torch-Pruning's ``BNScalePruner.regularize`` applies."""

    sparsity: float = 1e-4

    def optimizer_step(self):
        """Ultralytics' step (unscale, clip at 10, step, EMA) with the penalty added *after* clipping:
        added before, the clip (dominated by the loss gradients) scales it down to nothing."""
        self.scaler.unscale_(self.optimizer)
        torch.nn.utils.clip_grad_norm_(self.model.parameters(), max_norm=10.0)
        self._add_penalty()
        self.scaler.step(self.optimizer)
        self.scaler.update()
        self.optimizer.zero_grad()
        if self.ema:
            self.ema.update(self.model)

    def _add_penalty(self):
        for m in self.model.modules():
            if isinstance(m, torch.nn.BatchNorm2d) and m.weight.grad is not None:
                m.weight.grad.add_(self.sparsity * torch.sign(m.weight.detach()))


class GroupSparsityTrainer(SparsityTrainer):
    """Group-norm sparsity training (DepGraph's ``GroupNormPruner.regularize``, or ``GrowingRegPruner`` with
    ``sparsity_mode = "growing"``): every DepGraph group's channels are pulled towards zero together, the
    least important hardest, so that ``prune --criterion l2`` later cuts channels training already emptied.
    The trained model stays a plain Ultralytics model: the graph lives on a prunable copy held by the
    trainer (see :mod:`.prune.regularize`), never in the model, its EMA or its checkpoints."""

    sparsity_mode: str = "group"

    def _setup_train(self, *args, **kwargs):
        from ultralytics.utils.torch_utils import unwrap_model

        from .prune.regularize import GroupRegularizer

        super()._setup_train(*args, **kwargs)
        self._regularizer = GroupRegularizer(unwrap_model(self.model), self.sparsity, self.sparsity_mode,
                                             imgsz=self.args.imgsz)

    def _add_penalty(self):
        self._regularizer.apply()


def _trainer_for(sparsity: float, sparsity_mode: str = "bn"):
    if sparsity <= 0:
        return KeepArchitectureTrainer
    if sparsity_mode != "bn":
        return type("GroupSparsityTrainer", (GroupSparsityTrainer,),
                    {"sparsity": sparsity, "sparsity_mode": sparsity_mode})
    return type("SparsityTrainer", (SparsityTrainer,), {"sparsity": sparsity})


@dataclass(frozen=True)
class FinetuneConfig(_Config):
    """Recovery defaults after pruning: a lower learning rate with a cosine schedule and a short warm-up
    that does not kick the biases (see ``warmup_bias_lr``)."""

    epochs: int = 10
    imgsz: int = 640
    batch: int = 16
    lr0: float = 0.002
    lrf: float = 0.05
    optimizer: str = "AdamW"
    cos_lr: bool = True
    warmup_epochs: float = 1.0
    # Ultralytics warms biases up from lr 0.1: meant for training from scratch; recovery starts biases from 0
    # like the weights. What else moves a *trained* model in a fine-tune's first epoch (lr0, BN statistics,
    # mosaic re-opened) is measured in BENCHMARKS.md 2f: lr0 0.002 with mosaic costs it 20 points. The gentle
    # settings that keep it (lr0 5e-5, BN frozen 1 epoch, no mosaic) starve a pruned model (0.23 vs 0.35 after 8
    # epochs, 2f), so these defaults stay the recovery recipe; the gentle ones are flags for intact models.
    warmup_bias_lr: float = 0.0
    workers: int = 2
    device: str = "cpu"
    seed: int = 0
    fraction: float = 1.0
    amp: bool = False
    sparsity: float = 0.0  # sparsity-training strength before pruning (e.g. 1e-4); 0 = off
    sparsity_mode: str = "bn"  # bn: BN-L1 (then --criterion bn); group / growing: DepGraph group norm (then l2)
    bn_freeze_epochs: int = 0  # keep BN running statistics frozen for this many first epochs
    # EMA of the weights over ~this many epochs (``ema_decay``); 0 = Ultralytics' ramp, which on a small dataset
    # averages almost nothing (a 60-epoch run on 1,000 images ends at decay ~0.38)
    ema_epochs: float = 0.0
    mosaic: float = 1.0  # Ultralytics' mosaic probability (its last close_mosaic epochs run without it)
    # CPU training precision: fp32, or forward + loss under bfloat16 autocast (``AllCoresTrainer.cpu_bf16``; weights,
    # gradients and optimizer stay fp32), or auto = bf16 where the CPU computes it natively (``cpu_bf16_native``).
    # Measured on the YOLOv8n recipe: bf16 tracks fp32 within seed noise over 151 epochs, steps ~2x (YOLOv8n) to 2.5-3.3x (YOLOv8s)
    # faster on an AMX Xeon (benchmarks/results/bf16-check); emulated (no AMX-BF16 / AVX512-BF16) it is slower than fp32.
    # CUDA training ignores it (Ultralytics' own AMP applies there).
    precision: str = "fp32"
    LATER_FIELDS: ClassVar[tuple[str, ...]] = ("precision", "ema_epochs")

    def __post_init__(self):
        _check_imgsz(self.imgsz)
        check_precision(self.precision)
        if self.epochs < 1 or self.batch < 1:
            raise ConfigError("--epochs and --batch must be positive integers")
        if not 0 < self.lr0 < 1:
            raise ConfigError(f"--lr0 {self.lr0} is outside (0, 1)")
        if self.sparsity < 0:
            raise ConfigError(f"--sparsity {self.sparsity} is negative; use 0 (off) or e.g. 1e-4")
        from .prune.regularize import check_mode

        check_mode(self.sparsity_mode, self.sparsity)
        if self.bn_freeze_epochs < 0:
            raise ConfigError(f"--bn-freeze-epochs {self.bn_freeze_epochs} is negative; use 0 (off) or e.g. 1")
        if not 0 <= self.ema_epochs <= self.epochs:
            raise ConfigError(f"ema_epochs {self.ema_epochs:g} is outside [0, epochs {self.epochs}]; use 0 "
                              f"(Ultralytics' EMA) or a few epochs, e.g. 5")
        if self.warmup_epochs < 0:
            raise ConfigError(f"warmup_epochs {self.warmup_epochs} is negative; use 0 (no warm-up) or e.g. 1")
        # a warm-up or BN freeze longer than the run is a leftover of a longer schedule (e.g. `run --epochs 2` on a
        # recipe written for 60): the run would never reach its learning rate / never update BN statistics
        for name, n in (("warmup_epochs", self.warmup_epochs), ("bn_freeze_epochs", self.bn_freeze_epochs)):
            if n > self.epochs:
                raise ConfigError(f"{name} {n:g} is longer than the run's epochs {self.epochs}; "
                                  f"lower {name} to at most {self.epochs} or raise epochs")

    def ultralytics_args(self) -> dict:
        return {k: v for k, v in self.as_dict().items()
                if k not in ("sparsity", "sparsity_mode", "bn_freeze_epochs", "precision", "ema_epochs")}

    def cpu_bf16(self) -> bool:
        """Whether training runs under CPU bfloat16 autocast (``precision``, resolved on this machine)."""
        return resolve_cpu_bf16(self.precision, self.device)


# Training recipes by what is being trained (BENCHMARKS.md 2f): "recovery" (FinetuneConfig's defaults) for a
# pruned or re-shaped model, whose cut left little to keep; "gentle" for an intact trained model, which the
# recovery recipe first wrecks (the converged YOLOv8n: 0.516 -> 0.388 after epoch 1). Explicit flags win.
RECIPES: dict[str, dict] = {"recovery": {}, "gentle": {"lr0": 5e-5, "bn_freeze_epochs": 1, "mosaic": 0.0}}


def auto_recipe(source, sparsity: float = 0.0) -> tuple[str, str]:
    """``(recipe, why)`` for a checkpoint: "gentle" when it is trained and its layers are exactly those its own
    YAML builds (nothing pruned or replaced), "recovery" otherwise (a model YAML trains from scratch, and
    sparsity training must move the weights it regularises)."""
    from .models import load_checkpoint, torch_module

    if sparsity > 0:
        return "recovery", "sparsity training must move the weights"
    if not hasattr(source, "model") and not str(source).endswith(".pt"):
        return "recovery", "a model YAML trains from scratch"
    if hasattr(source, "model"):
        module, ckpt = torch_module(source), getattr(source, "ckpt", None) or {}
    else:
        module, ckpt = load_checkpoint(source)
    if not ckpt.get("train_args"):
        return "recovery", "the checkpoint carries no training record"
    try:
        ref = type(module)(module.yaml, nc=module.nc, verbose=False)
    except Exception:  # noqa: BLE001 - a model its YAML cannot rebuild is not intact
        return "recovery", "its YAML does not rebuild it"
    shapes = [tuple(t.shape) for t in module.state_dict().values()]
    if shapes != [tuple(t.shape) for t in ref.state_dict().values()]:
        return "recovery", "its layers differ from its YAML (pruned or changed by surgery)"
    return "gentle", "an intact trained model (nothing pruned or replaced)"


def recipe_settings(recipe: str, source, given: dict, sparsity: float = 0.0) -> tuple[dict, str]:
    """The FinetuneConfig fields of ``recipe`` ("auto", "recovery" or "gentle") for ``source``, with the flags the
    user ``given`` on top, and one line saying what was chosen."""
    why = ""
    if recipe == "auto":
        recipe, why = auto_recipe(source, sparsity)
    if recipe not in RECIPES:
        raise ConfigError(f"--recipe '{recipe}' is unknown; choose auto, {', '.join(RECIPES)}")
    kw = {**RECIPES[recipe], **given}
    eff = {**FinetuneConfig().as_dict(), **kw}  # what training will use, derived from the config's defaults
    what = ", ".join(f"{k}={eff[k]}" for k in ("optimizer", "lr0", "bn_freeze_epochs", "mosaic"))
    return kw, f"training recipe: {recipe}{f' ({why})' if why else ''}: {what}"


def intact_checkpoint(p: Path) -> bool:
    """False for a checkpoint cut mid-write: Ultralytics writes ``last.pt`` in place (and rewrites it when it
    strips the optimizer at the end), so a kill at that moment leaves a truncated zip."""
    from .errors import CheckpointError
    from .models import _check_checkpoint_file

    try:
        _check_checkpoint_file(Path(p), str(p))
    except CheckpointError:
        return False
    return True


def finished_run(run: str | os.PathLike, epochs: int) -> Path | None:
    """``weights/last.pt`` of an Ultralytics run folder that completed ``epochs`` epochs, else None (an
    interrupted run, to continue with ``resume=True``, or none at all). Read from the checkpoint itself:
    Ultralytics' final ``last.pt`` has its optimizer stripped and ``epoch`` -1, and records the epochs asked
    (results.csv is no witness: its row is written before ``last.pt``, and a resume appends to it)."""
    last = Path(run) / "weights" / "last.pt"
    if not last.exists() or not intact_checkpoint(last):
        return None
    st = checkpoint_state(last)
    if st and not st["has_optimizer"] and st["epoch"] == -1 and st["epochs"] == epochs:
        return last
    return None


def _finish_trained(last: Path, epochs: int) -> bool:
    """``last.pt`` holds every epoch but the interruption came before Ultralytics stripped it (its resume
    refuses such a file): strip it as Ultralytics' final step would, into place atomically. True if done."""
    st = checkpoint_state(last)
    if not st or not st["has_optimizer"] or st["epoch"] is None or st["epoch"] + 1 < epochs:
        return False
    from ultralytics.utils.torch_utils import strip_optimizer

    tmp = last.with_name(f".{last.name}.{os.getpid()}.strip")
    try:
        strip_optimizer(last, str(tmp))
        os.replace(tmp, last)
    finally:
        if tmp.exists():
            tmp.unlink()
    return True


def _set_aside_cut_run(out: Path, last: Path) -> None:
    """The interruption cut ``last.pt`` mid-write: nothing to resume from. Keep the pieces beside the run
    (``*.cut``) and let the training start again in the same folder."""
    print(f"warning: '{last}' was cut mid-write by the interruption (not a valid checkpoint); kept as "
          f"last.pt.cut, this training starts again from its input", file=sys.stderr, flush=True)
    for f in (last, out / "weights" / "best.pt", out / "results.csv"):
        if f.exists():
            os.replace(f, f.with_name(f.name + ".cut"))


def _run_precision(out: Path, cfg: FinetuneConfig, resuming: bool) -> FinetuneConfig:
    """A new run records the precision it trains in (``out/precision.json``); a resumed one keeps it, as Ultralytics
    keeps a resumed run's own arguments, so that one run is not half fp32 and half bf16. ``auto`` is recorded as
    what it resolved to here: a run started in bf16 on an AMX Xeon and resumed on a CPU without native bf16 (where
    ``auto`` means fp32) goes on in bf16."""
    import dataclasses
    import json

    from .io import atomic_write_text

    rec = out / "precision.json"
    if resuming:
        started = json.loads(rec.read_text()).get("precision", "fp32") if rec.exists() else cfg.precision
        if started != cfg.precision:
            print(f"{out}: resuming a run that started with precision {started}; keeping it (not "
                  f"{cfg.precision})", file=sys.stderr)
            return dataclasses.replace(cfg, precision=started)
        return cfg
    if cfg.precision == "auto":
        cfg = dataclasses.replace(cfg, precision="bf16" if cfg.cpu_bf16() else "fp32")
    out.mkdir(parents=True, exist_ok=True)
    atomic_write_text(rec, json.dumps({"precision": cfg.precision}) + "\n")
    return cfg


def finetune(model, data: str | os.PathLike, cfg: FinetuneConfig, out_dir: str | os.PathLike,
             resume: bool = False, trainer=None, extra: dict | None = None) -> Path:
    """Fine-tune a (pruned) checkpoint keeping its architecture. Returns the path of ``best.pt``.

    Runs go to ``out_dir`` (Ultralytics' ``weights/last.pt`` / ``best.pt``); with ``resume=True`` an
    interrupted run continues from ``last.pt``. ``model`` is a checkpoint path or an Ultralytics ``YOLO``
    object (e.g. one whose network was prepared for quantization-aware training). ``extra``: further
    Ultralytics train arguments (e.g. ``{"distill_model": teacher}`` for Ultralytics' own distillation).
    """
    from .data import load_data
    from .models import load_model

    out = Path(out_dir).resolve()
    last = out / "weights" / "last.pt"
    spec = load_data(data, splits=("train", "val"))
    data_yaml = spec.to_ultralytics_yaml(out.parent / f".{out.name}-data")
    trainer = trainer or _trainer_for(cfg.sparsity, sparsity_mode=cfg.sparsity_mode)
    if cfg.bn_freeze_epochs and cfg.bn_freeze_epochs != getattr(trainer, "bn_freeze_epochs", 0):
        trainer = type(trainer.__name__, (trainer,), {"bn_freeze_epochs": cfg.bn_freeze_epochs})
    if cfg.ema_epochs and cfg.ema_epochs != getattr(trainer, "ema_epochs", 0.0):
        trainer = type(trainer.__name__, (trainer,), {"ema_epochs": cfg.ema_epochs})
    if resume and last.exists() and not intact_checkpoint(last):
        _set_aside_cut_run(out, last)
    cfg = _run_precision(out, cfg, resuming=resume and last.exists())
    if cfg.cpu_bf16() and not getattr(trainer, "cpu_bf16", False):
        trainer = type(trainer.__name__, (trainer,), {"cpu_bf16": True})
    if resume and last.exists() and (finished_run(out, cfg.epochs) or _finish_trained(last, cfg.epochs)):
        pass  # every epoch was done: nothing to train
    elif resume and last.exists():
        y = load_model(last)
        y.train(trainer=trainer, resume=True, data=str(data_yaml), device=cfg.device,
                workers=cfg.workers)
    else:
        y = model if hasattr(model, "model") and hasattr(model, "train") else load_model(model)
        y.train(trainer=trainer, data=str(data_yaml), project=str(out.parent), name=out.name,
                exist_ok=True, plots=False, pretrained=True, verbose=False, val=True, **cfg.ultralytics_args(),
                **(extra or {}))
    best = out / "weights" / "best.pt"
    return best if best.exists() else last
