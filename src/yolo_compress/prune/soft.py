"""Soft pruning: plan the cut first, shrink the planned channels to zero while the whole network trains, then cut.

A cut of a converged YOLOv8n is a re-training, not a trim: removing 2% of its channels costs 9 points and a
50% cut scores 0 before training (BENCHMARKS.md section 10). Sparsity training as Torch-Pruning's
``GroupNormPruner`` does it (recovery row d) pulls *every* group towards zero, the unimportant ones harder,
and the channels the later cut removes are still far from empty (the 50% cut of row d scores 0.0000 as cut).
Here the cut is decided first, on the trained input, exactly as ``prune`` would make it (any criterion and
allocation); then the network trains at full width while every parameter slice DepGraph couples to a planned
channel (its conv rows, its BatchNorm scale and shift, the next layers' input columns, through concats and
residual adds) is scaled down on a linear envelope from 1 at the start to exactly 0 at the last optimizer
step. The rest of the network learns to do without them while they fade, so the final cut removes channels
that are already dead (zero BatchNorm scale and shift, zero input columns downstream) and changes no output:
what the soft phase ends at is what the pruned model starts at. The remaining budget fine-tunes the pruned
model as usual. Same family as ResRep / "gradual" structured pruning; the envelope is a projection, not a
penalty, so it reaches zero under any optimizer.

The plan is saved as ``plan.json`` (root layer, pruning function, channel indices per DepGraph group, plus the
input's hash and the prune config), so an interrupted soft phase resumes against the same plan and a changed
input or config is refused.
"""

from __future__ import annotations

import copy
import dataclasses
import hashlib
import json
from dataclasses import dataclass, field
from pathlib import Path

import torch
from torch import nn

from ..config import PruneConfig
from ..errors import ConfigError, UnsupportedError
from ..train import KeepArchitectureTrainer

_OUT_FNS = ("prune_conv_out_channels", "prune_depthwise_conv_out_channels", "prune_batchnorm_out_channels",
            "prune_linear_out_channels")
_IN_FNS = ("prune_conv_in_channels", "prune_linear_in_channels")
_NOOP_FNS = ("prune_depthwise_conv_in_channels", "prune_batchnorm_in_channels")  # coupled to an out-channel dep


@dataclass
class Plan:
    """A cut decided on the input: the channel ratio (or per-block ratios) and each group's channels."""

    ratio: float
    block_ratios: dict[int, float]
    groups: list[tuple[str, str, list[int]]]
    channels: dict[str, tuple[int, int]]  # conv name -> (before, after), to check the final cut against
    identity: dict = field(default_factory=dict)

    def save(self, path: Path) -> None:
        from ..io import atomic_write_text

        atomic_write_text(Path(path), json.dumps({**dataclasses.asdict(self),
                                                  "block_ratios": {str(k): v for k, v in self.block_ratios.items()}},
                                                 indent=1) + "\n")

    @classmethod
    def load(cls, path: Path) -> Plan:
        d = json.loads(Path(path).read_text())
        return cls(d["ratio"], {int(k): v for k, v in d["block_ratios"].items()},
                   [(a, b, list(c)) for a, b, c in d["groups"]], {k: tuple(v) for k, v in d["channels"].items()},
                   d.get("identity", {}))

    @property
    def removed(self) -> int:
        return sum(len(ix) for _, _, ix in self.groups)


def identity(src: Path, cfg: PruneConfig) -> dict:
    """What a plan was made from: the input's bytes and every prune option."""
    return json.loads(json.dumps({"input_sha256": hashlib.sha256(Path(src).read_bytes()).hexdigest(),
                                  "prune": cfg.as_dict()}))  # as it reads back from plan.json (tuples -> lists)


def same_identity(stored: dict, ident: dict) -> bool:
    """Whether a saved plan's identity is ``ident``; prune options added since it was saved count at their
    defaults (``PruneConfig.LATER_FIELDS``), so an upgrade does not refuse to resume it."""
    def norm(d: dict) -> dict:
        return {**d, "prune": PruneConfig.comparable(d.get("prune", {}))}
    return norm(stored) == norm(ident)


def make_plan(model, cfg: PruneConfig):
    """Prune ``model`` as ``prune`` would; returns (plan, PruneResult). The cut is made a second time with the
    search's ratio to record its groups; both must agree channel for channel."""
    from ..models import torch_module
    from .prune import _conv_channels, _output_shape, _prune_once, prune

    result = prune(model, cfg)  # (PruneConfig refuses soft_epochs with allocation latency or target 'auto')
    det = torch_module(model)
    record: list = []
    again = _prune_once(det, cfg, result.ratio, _output_shape(det, cfg.imgsz), None, result.block_ratios or None,
                        record=record)
    before, after, first = _conv_channels(det), _conv_channels(again), _conv_channels(torch_module(result.model))
    if after != first:
        raise UnsupportedError("the planned cut could not be reproduced (the criterion is not deterministic on this "
                               "model); soft pruning needs a deterministic criterion such as l2 or taylor")
    channels = {n: (before[n], after[n]) for n in before if n in after and before[n] != after[n]}
    return Plan(result.ratio, dict(result.block_ratios), record, channels), result


def plan_masks(model: nn.Module, plan: Plan, imgsz: int) -> list[tuple[nn.Parameter, torch.Tensor]]:
    """(parameter of ``model``, 0/1 mask of its shape: 0 on every slice coupled to a planned channel).

    ``model`` is a plain ``DetectionModel`` (the one being trained); the groups are rebuilt on a prunable copy
    (as the group regulariser does) and mapped back, halves of a split ``cv1`` included."""
    from torch_pruning.pruner import function

    from .prune import _pruning_fn_names
    from .regularize import _build

    free, pairs, pruner = _build(model, imgsz, "group", 0.0, 16.0)
    mods = dict(free.named_modules())
    fns = {n: f for f, n in _pruning_fn_names().items()}
    masks: dict[nn.Parameter, torch.Tensor] = {}

    def zero(p: nn.Parameter | None, index) -> None:
        if p is not None:
            masks.setdefault(p, torch.ones_like(p, dtype=torch.float32))[index] = 0.0

    unknown = set()
    for name, fn_name, idxs in plan.groups:
        if name not in mods or fn_name not in fns:
            raise UnsupportedError(f"the plan names layer '{name}' / '{fn_name}', which this model does not have; "
                                   f"make the plan again from this model")
        for dep, ix in pruner.DG.get_pruning_group(mods[name], fns[fn_name], idxs):
            layer, fn = dep.target.module, dep.handler
            ix = torch.as_tensor(list(ix), dtype=torch.long)
            if any(fn == getattr(function, n) for n in _OUT_FNS):
                zero(getattr(layer, "weight", None), ix)
                zero(getattr(layer, "bias", None), ix)
            elif any(fn == getattr(function, n) for n in _IN_FNS):
                if getattr(layer, "groups", 1) == 1:
                    zero(layer.weight, (slice(None), ix))
            elif (not any(fn == getattr(function, n) for n in _NOOP_FNS) and isinstance(layer, nn.Module)
                  and any(True for _ in layer.parameters(recurse=False))):  # DepGraph's concat/add/split nodes hold none
                unknown.add(type(layer).__name__)
    if unknown:
        raise UnsupportedError(f"soft pruning cannot fade channels through {', '.join(sorted(unknown))} layers yet; "
                               f"use plain pruning ('prune' without soft epochs) for this model")
    out = []
    for fp, op, rows in pairs:
        if fp in masks:
            full = torch.ones_like(op, dtype=torch.float32)
            (full[rows] if rows else full).copy_(masks[fp])
            out.append((op, full.to(op.device)))
    return out


@torch.no_grad()
def apply_masks(masks, keep: float = 0.0) -> None:
    """Scale every masked slice by ``keep`` (0: zero it), leave the rest."""
    for p, m in masks:
        p.mul_((m + (1.0 - m) * keep).to(p.dtype))


class SoftPruneTrainer(KeepArchitectureTrainer):
    """Trains at full width while the planned channels fade: after every optimizer step (before the EMA
    update) the masked slices are scaled so that they follow ``1 - progress / fade`` of where they were,
    progress counted in training batches over the whole run; they reach exactly 0 at ``fade`` of the run and
    are held there (re-zeroed after every step) to its end, so the rest of the run trains the pruned network
    inside the full one on one learning-rate schedule. ``plan_file`` and ``fade`` are set on a subclass
    (``type(...)``), as the sparsity trainers do."""

    plan_file: str = ""
    fade: float = 1.0  # share of the run over which the channels fade; they are held at zero for the rest

    def _setup_train(self, *args, **kwargs):
        from ultralytics.utils.torch_utils import unwrap_model

        super()._setup_train(*args, **kwargs)
        self._masks = plan_masks(unwrap_model(self.model), Plan.load(Path(self.plan_file)), self.args.imgsz)
        self._nb = max(1, len(self.train_loader))
        self._seen = self.start_epoch * self._nb  # a resumed run's weights are already on the envelope
        self._scale = self._envelope()

    def _envelope(self) -> float:
        end = self.fade * self.epochs * self._nb
        return 0.0 if self._seen >= end else max(0.0, 1.0 - self._seen / end)

    def preprocess_batch(self, batch):
        self._seen = getattr(self, "_seen", 0) + 1
        return super().preprocess_batch(batch)

    def optimizer_step(self):
        ema, self.ema = self.ema, None
        try:
            super().optimizer_step()
        finally:
            self.ema = ema
        self._fade()
        if self.ema:
            self.ema.update(self.model)

    def _fade(self) -> None:
        scale = self._envelope()
        keep = scale / self._scale if self._scale > 0 else 0.0
        apply_masks(self._masks, min(1.0, keep))
        self._scale = scale


def soft_prune(src, cfg: PruneConfig, epochs: int, out_dir, ft=None, console=None):
    """Plan the cut of ``src`` (a .pt), fade the planned channels over ``epochs`` of training on ``cfg.data``,
    cut them. Returns ``(PruneResult, info dict)``; the trained full-width run is in ``out_dir/soft``, the plan in
    ``out_dir/plan.json`` and the info (fade residue, output change at the cut) in ``out_dir/soft.json``.

    ``ft``: the FinetuneConfig of the soft phase (its ``epochs`` is replaced by ``epochs``)."""
    from ..io import atomic_write_text
    from ..models import load_model, torch_module
    from ..train import FinetuneConfig, finetune, finished_run
    from .prune import PruneResult, _conv_channels, _output_shape, _prune_once, _stats

    cfg = dataclasses.replace(cfg, soft_epochs=epochs)  # validates epochs, data, allocation, level
    if epochs < 1:
        raise ConfigError(f"--soft-epochs {epochs} is invalid; give a positive number of epochs such as 10")
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    plan_f, ident = out / "plan.json", identity(src, cfg)
    sens = None
    if plan_f.exists():
        plan = Plan.load(plan_f)
        if not same_identity(plan.identity, ident):
            raise ConfigError(f"'{plan_f}' was planned from another input or prune config; use another output folder "
                              f"or remove '{out}' to start again")
    else:
        plan, first = make_plan(load_model(src), cfg)
        plan.identity, sens = ident, first.sensitivity
        plan.save(plan_f)
    ft = ft or FinetuneConfig(imgsz=cfg.imgsz)
    ft = dataclasses.replace(ft, epochs=epochs)
    run = (out / "soft").resolve()
    last = run / "weights" / "last.pt"
    if not finished_run(run, epochs):
        trainer = type("SoftPruneTrainer", (SoftPruneTrainer,), {"plan_file": str(plan_f.resolve()),
                                                                 "fade": cfg.soft_fade})
        finetune(src, cfg.data, ft, run, resume=last.exists(), trainer=trainer)
    trained = load_model(last)
    det = torch_module(trained).float().eval()
    masks = plan_masks(det, plan, cfg.imgsz)
    residue = max((float(p.detach().abs().mul(1 - m).max()) for p, m in masks), default=0.0)
    apply_masks(masks, 0.0)  # the EMA trails the faded weights by a little: exactly zero before the cut
    ref_shape = _output_shape(det, cfg.imgsz)
    cut_cfg = dataclasses.replace(cfg, criterion="l2")  # the faded channels have zero norm: l2 finds exactly them
    cut = _prune_once(det, cut_cfg, plan.ratio, ref_shape, None, plan.block_ratios or None)
    before, after = _conv_channels(det), _conv_channels(cut)
    got = {n: (before[n], after[n]) for n in before if n in after and before[n] != after[n]}
    if got != plan.channels:
        raise UnsupportedError("the cut after the soft phase does not match the plan (a faded channel tied with a "
                               "live one); report this with the model")
    x = torch.rand(2, 3, cfg.imgsz, cfg.imgsz, generator=torch.Generator().manual_seed(0))
    with torch.inference_mode():
        a, b = det(x), cut(x)
    a, b = (a[0] if isinstance(a, (list, tuple)) else a), (b[0] if isinstance(b, (list, tuple)) else b)
    change = float((a - b).abs().max() / a.abs().max().clamp_min(1e-12))
    out_model = copy.copy(trained)
    out_model._modules = dict(out_model._modules)
    out_model.model = cut
    p0, f0 = _stats(det, cfg.imgsz)
    p1, f1 = _stats(cut, cfg.imgsz)
    info = {"soft_epochs": epochs, "fade": cfg.soft_fade, "planned_channels": plan.removed, "residue_before_zeroing": residue,
            "cut_output_change": change, "flops_kept": f1 / f0, "params_kept": p1 / p0, "gflops": [f0, f1],
            "params": [p0, p1], "ratio": plan.ratio, "block_ratios": plan.block_ratios}
    atomic_write_text(out / "soft.json", json.dumps(info, indent=1) + "\n")
    asked = (f"target_flops={cfg.target_flops:.2f}" if cfg.target_flops is not None else
             f"target_params={cfg.target_params:.2f}" if cfg.target_params is not None else f"ratio={cfg.ratio:.2f}")
    held = f", held there for {epochs - cfg.soft_fade * epochs:g} more" if cfg.soft_fade < 1 else ""
    note = (f"soft: {plan.removed} planned channels faded to zero over {cfg.soft_fade * epochs:g} epochs of "
            f"training{held}, then cut (output change at the cut {change:.1e})")
    result = PruneResult(out_model, p0, p1, f0, f1, plan.ratio, asked + f", criterion {cfg.criterion}", got, None,
                         note, sens, dict(plan.block_ratios))
    if console is not None:
        console.print(result.summary(), highlight=False)
    return result, info


def soft_summary(info: dict) -> str:
    g0, g1 = info["gflops"]
    return (f"soft prune: faded {info['planned_channels']} planned channels over {info['fade']:.0%} of "
            f"{info['soft_epochs']} epochs, then "
            f"cut: GFLOPs {g0:.3f} -> {g1:.3f} ({info['flops_kept']:.1%} kept), params {info['params_kept']:.1%} kept; "
            f"the cut changed the outputs by {info['cut_output_change']:.1e} (relative max)")
