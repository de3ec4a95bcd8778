"""Group-norm sparsity regularisation while training, so that a later cut removes channels training emptied.

Torch-Pruning's ``GroupNormPruner.regularize`` (DepGraph, Fang et al. CVPR 2023) adds ``reg * gamma_c * w`` to
the gradient of every parameter slice coupled to channel ``c`` of a DepGraph group (the conv's output rows,
its BatchNorm, the next layers' input columns, through concats and residual adds), with ``gamma_c`` from 1
for the group's most important channel to ``alpha`` (16) for its least important one (group L2 norm, the
``l2`` criterion). ``GrowingRegPruner`` (Wang et al. ICLR 2021) instead grows each channel's coefficient
over time by how unimportant it stays.

Both need the model in the split-free form of :mod:`.yolo_blocks`, while the model Ultralytics trains must
stay a plain ``DetectionModel`` (EMA deep-copies it, checkpoints pickle it, safe loading allow-lists its
classes). So :class:`GroupRegularizer` builds the DepGraph once on a prunable *copy* and keeps a map from
each of the copy's parameters to the training model's parameter (a row slice of it for the two halves of a
split C2f / ELAN ``cv1``). Each step it copies the current weights into the copy, lets Torch-Pruning write
the regularisation term into zeroed gradients there, and adds those gradients to the training model's.
The training model is never modified structurally and no object of ours ends up in it.

After such training, prune with ``--criterion l2``: the group L2 norm is the importance the regulariser
pushed down, so the cut removes the emptied groups.
"""

from __future__ import annotations

import copy

import torch
from torch import nn

from ..errors import ConfigError, UnsupportedError
from .importance import CRITERIA
from .yolo_blocks import _SplitFree, default_ignored_layers, to_prunable

MODES = ("bn", "group", "growing")  # bn: network slimming (SparsityTrainer); group / growing: this module
GROWING_INTERVAL = 10  # optimizer steps between two growths of GrowingRegPruner's coefficients


def check_mode(mode: str, strength: float) -> None:
    """One-line errors for ``--sparsity-mode`` / ``--sparsity`` before any work."""
    if mode not in MODES:
        raise ConfigError(f"--sparsity-mode '{mode}' is unknown; use one of {', '.join(MODES)}")
    if not isinstance(strength, (int, float)) or isinstance(strength, bool) or not strength >= 0:
        raise ConfigError(f"--sparsity {strength} is not a non-negative number; use 0 (off) or e.g. 1e-4")


def _parameter_map(orig: nn.Module, free: nn.Module) -> list[tuple[nn.Parameter, nn.Parameter, slice | None]]:
    """(parameter of the prunable copy, parameter of the training model, row slice of it or None).

    ``to_prunable`` keeps every module at its name except the two halves of a chunked ``cv1``, which become
    ``cv0`` (rows ``[0, c)`` of the original ``cv1``) and ``cv1`` (rows ``[c, 2c)``)."""
    params = dict(orig.named_parameters())
    splits = [(name + "." if name else "", m) for name, m in free.named_modules() if isinstance(m, _SplitFree)]
    pairs = []
    for name, p in free.named_parameters():
        target, rows = name, None
        for pre, blk in splits:
            c = blk.cv0.conv.out_channels
            for half, start in (("cv0", 0), ("cv1", c)):
                if name.startswith(f"{pre}{half}."):
                    target, rows = f"{pre}cv1.{name[len(pre) + len(half) + 1:]}", slice(start, start + p.shape[0])
        o = params.get(target)
        if o is None or tuple((o[rows] if rows else o).shape) != tuple(p.shape):
            raise UnsupportedError(f"group-norm regularisation cannot map parameter '{name}' of the prunable form back "
                                   f"to the model; use --sparsity-mode bn for this model")
        pairs.append((p, o, rows))
    return pairs


def _trace_outputs(out):
    from .prune import _trace_outputs as trace

    return trace(out)


def _build(model: nn.Module, imgsz: int, mode: str, strength: float, alpha: float):
    import torch_pruning as tp

    device = next(model.parameters()).device
    free = copy.deepcopy(model).float().to(device)
    free.eval()
    for p in free.parameters():
        p.requires_grad_(True)
    to_prunable(free)
    pairs = _parameter_map(model, free)
    kw = dict(importance=CRITERIA["l2"].make(), ignored_layers=default_ignored_layers(free),
              output_transform=_trace_outputs, pruning_ratio=0.5)
    example = torch.zeros(1, 3, imgsz, imgsz, device=device)
    if mode == "group":
        pruner = tp.pruner.GroupNormPruner(free, example, reg=strength, alpha=alpha, **kw)
    else:  # growing: start at `strength`; the least important grow by strength / 5 per interval
        pruner = tp.pruner.GrowingRegPruner(free, example, reg=strength, delta_reg=strength / 5, **kw)
    return free, pairs, pruner


class GroupRegularizer:
    """Adds Torch-Pruning's group-norm (or growing) regularisation gradient to a plain Ultralytics model.

    ``model``: the ``DetectionModel`` being trained (not modified). Call :meth:`apply` after the loss
    gradients are in ``.grad`` (after clipping) and before the optimizer step."""

    def __init__(self, model: nn.Module, strength: float, mode: str = "group", imgsz: int = 64, alpha: float = 16.0):
        check_mode(mode, strength)
        if mode == "bn":
            raise ConfigError("--sparsity-mode bn is BN-L1 (SparsityTrainer), not a group regulariser")
        self.model, self.mode, self.alpha, self.steps = model, mode, alpha, 0
        self.free, self._pairs, self.pruner = _build(model, imgsz, mode, strength, alpha)

    @torch.no_grad()
    def _sync(self) -> None:
        for fp, op, rows in self._pairs:
            fp.data.copy_(op.data[rows] if rows else op.data)

    @torch.no_grad()
    def apply(self) -> None:
        self._sync()
        for fp, _, _ in self._pairs:
            fp.grad = torch.zeros_like(fp)
        if self.mode == "group":
            self.pruner.regularize(self.free, alpha=self.alpha)
        else:
            if self.steps % GROWING_INTERVAL == 0:
                self.pruner.update_reg()
            self.pruner.regularize(self.free)
        self.steps += 1
        for fp, op, rows in self._pairs:
            if op.grad is not None:
                (op.grad[rows] if rows else op.grad).add_(fp.grad.to(op.grad.dtype))
            fp.grad = None


def group_norms(model: nn.Module, imgsz: int = 64) -> dict[str, torch.Tensor]:
    """Each DepGraph group's per-channel L2 norm over all its coupled parameters, keyed by the group's root
    layer (name in the prunable form): what the regulariser pushes down, measured."""
    import torch_pruning as tp

    from ..models import torch_module

    det = torch_module(model)
    free, _, pruner = _build(det, imgsz, "group", 0.0, 16.0)
    names = {m: n for n, m in free.named_modules()}
    norm = tp.importance.GroupMagnitudeImportance(p=2, group_reduction="sum", normalizer=None)
    out = {}
    with torch.no_grad():
        for group in pruner._groups:
            out[names[group[0].dep.target.module]] = norm(group).sqrt()
    return out


def group_importance(model: nn.Module, imgsz: int = 64) -> dict[str, torch.Tensor]:
    """The importance the regulariser ranks channels by (``l2`` criterion), per group root layer."""
    from ..models import torch_module

    det = torch_module(model)
    free, _, pruner = _build(det, imgsz, "group", 0.0, 16.0)
    names = {m: n for n, m in free.named_modules()}
    with torch.no_grad():
        return {names[g[0].dep.target.module]: pruner.estimate_importance(g) for g in pruner._groups}
