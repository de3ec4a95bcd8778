"""Sensitivity-aware allocation (``PruneConfig(allocation="sensitivity")``): how much each block loses.

A uniform channel ratio cuts every block alike, yet blocks are not alike: on the converged YOLOv8n at 320 the
same 5% L2 cut costs 19.2 points of mAP50-95 with every block cut and 5.3 with the backbone (layers 0-9)
kept whole (BENCHMARKS.md 10, ``benchmarks/pruned_start.py --ignore-sets``). This allocation measures, once,
what each top-level block costs and cuts the cheap ones harder (in the spirit of the per-layer sensitivity
scans of Li et al. 2017 and NetAdapt, with a loss instead of an accuracy so it needs no validation split):

1. *probe*: each block alone is cut at ``PROBE`` of its channels by ``cfg.criterion``, or by L2 when that
   criterion needs gradients (Taylor: one gradient pass per probe would cost more than the scan, which ranks
   blocks, not channels); the increase of Ultralytics' detection loss on ``cfg.grad_batches`` batches of *train* images
   (BatchNorm statistics as trained; the val split is never read) divided by the share of GFLOPs the probe
   removed is the block's cost per GFLOP saved, ``s_i``;
2. *weights*: ``w_i = clip((median(s) / s_i) ** BETA, 1 / SPAN, SPAN)``, divided by the largest, so the
   cheapest blocks have weight 1 and the costliest ``1 / SPAN**2`` of it (``BETA`` = 0.5, ``SPAN`` = 2: a block
   16x costlier than the median is cut at a quarter of the ratio of one 16x cheaper). The clip matters: on the
   converged YOLOv8n the probe costs span five orders of magnitude (deep P5 blocks lose nothing measurable,
   the stem and the head 20+ loss units), and unclipped weights freeze every block but one. ``SPAN`` is
   ``cfg.sensitivity_span`` (default 2; 1 cuts every block alike, 3 lets the costliest keep 9x more of theirs);
3. *search*: the block ratios are ``min(max_layer_ratio, r * w_i)`` and ``r`` is searched like a uniform ratio
   until the GFLOPs target is met, so the target stays a budget exactly as for the other allocations.

The channels inside a block are still chosen by ``cfg.criterion`` (Taylor, L2, ...).
"""

from __future__ import annotations

import copy
import statistics
from dataclasses import dataclass, field

import torch
from torch import nn

from ..config import SENSITIVITY_SPAN

PROBE = 0.3  # share of a block's channels cut by its probe
BETA = 0.5  # weights = clip((median cost / cost) ** BETA, 1 / SPAN, SPAN), then divided by the largest
SPAN = SENSITIVITY_SPAN  # the default; cfg.sensitivity_span is the one used
FLOOR = 1e-4  # a probe that lowers the loss (noise) counts as this cheap, in loss units


@dataclass(frozen=True)
class Sensitivity:
    """Per top-level block (index into ``model.model``): loss increase of its probe, share of GFLOPs it
    removed, and the weight the allocation gives it."""

    base_loss: float
    dloss: dict[int, float] = field(default_factory=dict)
    dflops: dict[int, float] = field(default_factory=dict)
    weights: dict[int, float] = field(default_factory=dict)
    span: float = SPAN

    def ratios(self, r: float, cap: float) -> dict[int, float]:
        return {i: min(cap, r * w) for i, w in self.weights.items()}

    def table(self) -> str:
        rows = [f"| {i} | {self.dflops[i]:.1%} | {self.dloss[i]:+.4f} | {self.weights[i]:.2f} |"
                for i in sorted(self.weights)]
        return ("| block | GFLOPs removed by the probe | loss change | weight |\n|---|---|---|---|\n"
                + "\n".join(rows))

    def as_dict(self) -> dict:
        return {"probe": PROBE, "beta": BETA, "span": self.span, "base_loss": self.base_loss,
                "blocks": {str(i): {"dflops": self.dflops[i], "dloss": self.dloss[i], "weight": self.weights[i]}
                           for i in sorted(self.weights)}}


def _batches(cfg) -> list[dict]:
    from ..data import load_data, loss_batches

    spec = load_data(cfg.data, splits=("train",))
    return list(loss_batches(spec, cfg.imgsz, cfg.grad_batches, batch_size=8))


def loss_mode(m: nn.Module) -> nn.Module:
    """Put ``m`` where Ultralytics' ``m.loss(batch)`` works with the trained statistics: loss gains at
    Ultralytics' defaults, a fresh criterion, train mode (raw head outputs) with BatchNorm in eval mode (use,
    do not update, running statistics). Shared with the Taylor / Hessian gradients of prune.py."""
    from ultralytics.cfg import get_cfg

    m.args, m.criterion = get_cfg(), None
    m.train()
    for mod in m.modules():
        if isinstance(mod, nn.BatchNorm2d):
            mod.eval()
    return m


@torch.no_grad()
def detection_loss(det: nn.Module, batches: list[dict]) -> float:
    """Mean Ultralytics detection loss (box + cls + dfl, default gains) of ``det`` on ``batches``,
    BatchNorm in eval mode (the statistics it was trained with); ``det`` is left in the mode it came in."""
    was_training = det.training
    m = loss_mode(copy.copy(det))  # a shallow copy: the loss state is not left on the caller's model
    total = 0.0
    for b in batches:
        loss, _ = m.loss(b)
        total += float(loss.sum())
    det.train(was_training)  # the submodules are shared with the copy
    return total / max(1, len(batches))


def prunable_blocks(det: nn.Module, cfg) -> list[int]:
    """Indices of the top-level blocks that have a conv wider than ``cfg.round_to`` (the head included: its
    final convs are kept whole by the graph's ignored layers anyway)."""
    return [i for i, blk in enumerate(det.model)
            if any(isinstance(m, nn.Conv2d) and m.out_channels > cfg.round_to for m in blk.modules())]


def measure(det: nn.Module, cfg, ref_shape: tuple[int, ...], prune_once, stats, couplings=None) -> Sensitivity:
    """Probe every prunable block of ``det`` (see the module docstring). ``prune_once(det, cfg, ratio,
    ref_shape, costs, ratios, roots=...)`` and ``stats(module) -> (params, gflops)`` are prune.py's;
    ``couplings`` (prune.py's ``block_couplings``) limits each probe's group search to the block's own groups."""
    from dataclasses import replace

    from ..errors import ConfigError

    if not cfg.data:
        raise ConfigError("allocation 'sensitivity' scores blocks on training images: pass --data DATA.yaml")
    batches = _batches(cfg)
    base = detection_loss(det, batches)
    f0 = stats(det)[1]
    from .importance import CRITERIA

    probe_cfg = replace(cfg, criterion="l2" if CRITERIA[cfg.criterion].needs_gradients else cfg.criterion,
                        allocation="flops", sensitivity_span=SPAN)  # a probe is a plain cut of one block
    from ..progress import task_progress

    dloss, dflops = {}, {}
    blocks = prunable_blocks(det, cfg)
    with task_progress(f"sensitivity scan: {len(blocks)} blocks, each cut {PROBE:.0%} alone", len(blocks)) as done:
        for n, i in enumerate(blocks, 1):
            roots = None if couplings is None else couplings.get(i, frozenset())
            m = prune_once(det, probe_cfg, 0.0, ref_shape, None, {i: PROBE}, roots=roots)
            removed = 1 - stats(m)[1] / f0
            if removed > 0:  # else nothing of this block can go (all kept whole): it keeps ratio 0
                dloss[i], dflops[i] = detection_loss(m, batches) - base, removed
            done(n)
    if not dloss:
        from ..errors import UnsupportedError

        raise UnsupportedError("allocation 'sensitivity': no block of this model lost GFLOPs when probed")
    cost = {i: max(dloss[i], FLOOR) / dflops[i] for i in dloss}
    span = cfg.sensitivity_span
    return Sensitivity(base, dloss, dflops, block_weights(cost, span), span)


def block_weights(cost: dict[int, float], span: float = SPAN) -> dict[int, float]:
    """Step 2 of the module docstring: cost per GFLOP saved -> weight in [1 / span**2, 1], the cheapest 1."""
    ref = statistics.median(cost.values())
    raw = {i: min(span, max(1 / span, (ref / c) ** BETA)) for i, c in cost.items()}
    top = max(raw.values())
    return {i: w / top for i, w in raw.items()}
