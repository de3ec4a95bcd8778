"""``prune(model, PruneConfig)``: structured channel pruning of Ultralytics detectors on DepGraph.

Three separate ideas, as in Torch-Pruning: the graph (what must change together: DepGraph, made
tractable by :mod:`.yolo_blocks`), the importance (which channels go: :mod:`.importance`), and the
allocation (how much: a channel ratio, uniform per layer or global, or a GFLOPs target reached by
a search on the ratio). The result is a plain Ultralytics model with fewer channels.
"""

from __future__ import annotations

import copy
from dataclasses import dataclass, field

import torch
from torch import nn

from ..config import PruneConfig
from ..errors import ConfigError, UnsupportedError
from .importance import CRITERIA, check_criterion
from .yolo_blocks import (VERIFIED_LAYERS, WHY_UNSUPPORTED, ELANSplitFree, C2fSplitFree, default_ignored_layers, from_prunable,
                          to_prunable, unsupported_layers)


@dataclass(frozen=True)
class PruneResult:
    model: object  # the pruned Ultralytics YOLO (or DetectionModel), a copy of the input
    params_before: int
    params_after: int
    gflops_before: float
    gflops_after: float
    ratio: float  # the channel ratio that was applied
    asked: str  # what the user asked, e.g. "target_flops=0.50"
    channels: dict[str, tuple[int, int]] = field(default_factory=dict)  # conv name -> (before, after) out channels
    cost_table: object = None  # allocation latency: the per-conv CostTable the ranking used
    note: str = ""  # e.g. why the achieved level is above the target
    sensitivity: object = None  # allocation sensitivity: the per-block Sensitivity the ratios came from
    block_ratios: dict[int, float] = field(default_factory=dict)  # allocation sensitivity: the ratios applied

    @property
    def flops_kept(self) -> float:
        return self.gflops_after / self.gflops_before

    @property
    def params_kept(self) -> float:
        return self.params_after / self.params_before

    def _ratio_text(self) -> str:
        if not self.block_ratios:
            return f"channel ratio {self.ratio:.3f}"
        rs = self.block_ratios.values()
        return f"block channel ratios {min(rs):.3f}-{max(rs):.3f} (scale {self.ratio:.3f})"

    def summary(self) -> str:
        return (
            f"asked {self.asked}; achieved GFLOPs {self.gflops_before:.3f} -> {self.gflops_after:.3f} "
            f"({self.flops_kept:.1%} kept), params {self.params_before / 1e6:.3f}M -> {self.params_after / 1e6:.3f}M "
            f"({self.params_kept:.1%} kept), " + self._ratio_text() + (f"; {self.note}" if self.note else "")
        )


def _stats(module: nn.Module, imgsz: int) -> tuple[int, float]:
    from ..runtime.graphstats import torch_stats

    return sum(p.numel() for p in module.parameters()), torch_stats(module, imgsz).gflops


def _conv_channels(module: nn.Module) -> dict[str, int]:
    return {n: m.out_channels for n, m in module.named_modules() if isinstance(m, nn.Conv2d)}


def _prunable_copy(det: nn.Module) -> tuple[nn.Module, dict]:
    """A float eval-mode copy of ``det`` in the prunable form, every parameter requiring grad (DepGraph traces
    through autograd), and the copy's original ``requires_grad`` flags to restore after the cut."""
    m = copy.deepcopy(det).float()
    m.eval()
    grad_state = {p: p.requires_grad for p in m.parameters()}
    for p in m.parameters():
        p.requires_grad_(True)
    to_prunable(m)
    return m, grad_state


def _prune_once(det: nn.Module, cfg: PruneConfig, ratio: float, ref_shape: tuple[int, ...],
                costs=None, ratios: dict[int, float] | None = None, record: list | None = None,
                roots: frozenset[str] | None = None) -> nn.Module:
    """Prune a copy of a DetectionModel at channel ``ratio``; returns the pruned copy. With a cost table
    (``allocation: latency``) channels are ranked globally by importance per unit of cost saved. With
    ``ratios`` (top-level block index -> channel ratio; ``allocation: sensitivity``) each block is cut at its
    own ratio, blocks not named keep every channel, and ``ratio`` is ignored. With ``record`` (a list) the cut
    is appended to it as ``(root layer name in the prunable form, pruning function name, channel indices)``
    per DepGraph group, the plan :mod:`.soft` shrinks before it cuts. With ``roots`` (names in the prunable
    form, from :func:`block_couplings`) only those convs may root a group: every other conv is kept out of
    Torch-Pruning's group search, which then scores and walks only the groups the probe can cut (the same cut:
    every group that touches the named blocks has all its convs among the roots)."""
    import torch_pruning as tp

    m, grad_state = _prunable_copy(det)
    ignored = default_ignored_layers(m) + _named(m, cfg.ignore)
    if roots is not None:
        ignored += [mod for n, mod in m.named_modules() if isinstance(mod, nn.Conv2d) and n not in roots]
    example = torch.zeros(1, 3, cfg.imgsz, cfg.imgsz)
    criterion = CRITERIA[cfg.criterion]
    importance = criterion.make()
    if costs is not None:
        from .latency_cost import CostAwareImportance, bind_costs

        importance = CostAwareImportance(importance, bind_costs(costs, m), cfg.max_layer_ratio, cfg.round_to)
    per_block = None
    if ratios is not None:  # Torch-Pruning applies a module's ratio to the groups whose out-channels it owns
        per_block, ratio = {m.model[i]: r for i, r in ratios.items() if r > 0}, 0.0
    pruner = tp.pruner.MetaPruner(
        m, example, importance=importance, pruning_ratio=ratio, global_pruning=cfg.global_pruning or costs is not None,
        pruning_ratio_dict=per_block, max_pruning_ratio=cfg.max_layer_ratio, ignored_layers=ignored,
        round_to=cfg.round_to, output_transform=_trace_outputs,
    )
    if criterion.needs_gradients:
        _accumulate_gradients(m, cfg, importance)
    if cfg.criterion == "random":
        torch.manual_seed(cfg.seed)
    if record is None:
        pruner.step()
    else:
        names = {mod: n for n, mod in m.named_modules()}
        fn_names = _pruning_fn_names()
        for group in pruner.step(interactive=True):
            dep, idxs = group[0]
            record.append((names[dep.target.module], fn_names.get(dep.handler, repr(dep.handler)), sorted(int(i) for i in idxs)))
            group.prune()
    from_prunable(m, pruner.DG)
    for p in m.parameters():
        p.requires_grad_(grad_state.get(p, True))
    _validate(m, example, ref_shape)
    return m


def block_couplings(det: nn.Module, cfg: PruneConfig) -> dict[int, frozenset[str]]:
    """Top-level block index -> the names (in the prunable form :func:`_prune_once` works on) of every conv whose
    out-channels one DepGraph group ties to an out-channel of that block: the roots a probe of the block needs.
    Most groups stay inside one block; some cross blocks (YOLO11 / v10 / YOLO26 heads' depthwise convs share
    their input's channels), which is why a probe cannot simply keep the other blocks' convs out. Built once per
    sensitivity scan, so each probe searches only its own groups (scans 1.3-1.8x faster at imgsz 64 on YOLOv8n,
    v9t, v10n, YOLO11n and YOLO26n, with identical probe results)."""
    import torch_pruning as tp

    m, _ = _prunable_copy(det)
    dg = tp.DependencyGraph().build_dependency(m, torch.zeros(1, 3, cfg.imgsz, cfg.imgsz),
                                               output_transform=_trace_outputs)
    names = {mod: n for n, mod in m.named_modules()}
    out: dict[int, set[str]] = {}
    # as MetaPruner in _prune_once: the ignored layers and all their submodules root nothing
    ignored = [sub for layer in default_ignored_layers(m) + _named(m, cfg.ignore) for sub in layer.modules()]
    for group in dg.get_all_groups(ignored_layers=ignored):
        convs = {names[dep.target.module] for dep, _ in group
                 if dg.is_out_channel_pruning_fn(dep.handler) and isinstance(dep.target.module, nn.Conv2d)}
        for b in {int(n.split(".")[1]) for n in convs if n.startswith("model.")}:
            out.setdefault(b, set()).update(convs)
    return {b: frozenset(v) for b, v in out.items()}


def _pruning_fn_names() -> dict:
    """Torch-Pruning's pruning functions by name (``prune_conv_out_channels`` ...), to save a plan as text."""
    from torch_pruning.pruner import function

    return {getattr(function, n): n for n in dir(function) if n.startswith("prune_") and callable(getattr(function, n))}


def _trace_outputs(out):
    """What DepGraph traces back from: every raw head output (boxes and scores of both heads of an
    end-to-end model), not the post-processed top-k, which reaches only the one-to-one head."""
    if isinstance(out, (list, tuple)) and len(out) == 2 and isinstance(out[1], dict):
        preds = out[1]
        heads = [preds[k] for k in ("one2many", "one2one") if isinstance(preds.get(k), dict)] or [preds]
        raw = [h[k] for h in heads for k in ("boxes", "scores") if isinstance(h.get(k), torch.Tensor)]
        if raw:
            return raw
    return out[0] if isinstance(out, (list, tuple)) else out


def _accumulate_gradients(m: nn.Module, cfg: PruneConfig, importance=None) -> None:
    """Loss gradients on real training batches (Ultralytics' detection loss), BatchNorm statistics frozen.

    For the Hessian criterion the squared gradients are accumulated per image here and handed to
    Torch-Pruning's importance: its own ``accumulate_grad`` (1.6.1) checks names against a dict keyed by
    parameters, so it keeps only the last sample."""
    from ..data import load_data, loss_batches
    from .sensitivity import loss_mode

    if not cfg.data:
        raise ConfigError(f"criterion '{cfg.criterion}' needs training images: pass --data DATA.yaml")
    spec = load_data(cfg.data, splits=("train",))
    loss_mode(m)  # Ultralytics' loss gains, BN statistics used and not updated
    per_sample = hasattr(importance, "accumulate_grad")
    sq: dict[nn.Parameter, torch.Tensor] = {}
    n = 0
    m.zero_grad()
    for batch in loss_batches(spec, cfg.imgsz, cfg.grad_batches, batch_size=1 if per_sample else 8):
        if per_sample:
            m.zero_grad()
        loss, _ = m.loss(batch)
        loss.sum().backward()
        if per_sample:
            n += 1
            for p in m.parameters():
                if p.grad is not None:
                    sq[p] = sq[p] + p.grad.detach().pow(2) if p in sq else p.grad.detach().pow(2)
    if per_sample:
        importance.zero_grad()
        importance._accu_grad = sq
        importance._counter = {p: n for p in sq}
    m.eval()


def _output_shape(module: nn.Module, imgsz: int) -> tuple[int, ...]:
    was_training = module.training
    with torch.inference_mode():
        out = module.eval()(torch.zeros(1, 3, imgsz, imgsz))
    module.train(was_training)
    return tuple((out[0] if isinstance(out, (list, tuple)) else out).shape)


def _validate(pruned: nn.Module, x: torch.Tensor, ref_shape: tuple[int, ...]) -> None:
    """Never hand back a silently broken model: the pruned one must run and give the same output layout."""
    with torch.inference_mode():
        try:
            out = pruned.eval()(x)
        except RuntimeError as e:
            raise UnsupportedError(
                f"pruning broke this model ({str(e).splitlines()[0][:120]}); its blocks are not supported yet - "
                f"keep them whole with --ignore LAYER, or prune a YOLOv5u/v8/v9/v10/YOLO11/YOLO26 model"
            ) from None
    out0 = out[0] if isinstance(out, (list, tuple)) else out
    if tuple(out0.shape) != ref_shape:
        raise UnsupportedError(f"pruning changed the output layout {ref_shape} -> {tuple(out0.shape)}")


def _named(model: nn.Module, names: tuple[str, ...]) -> list[nn.Module]:
    mods = dict(model.named_modules())
    out = []
    for n in names:
        if n not in mods:
            raise ConfigError(f"--ignore '{n}' is not a layer of this model; see `yolo-compress info --layers`")
        out.append(mods[n])
        parent = mods.get(n.rsplit(".", 1)[0]) if "." in n else None
        if isinstance(parent, (C2fSplitFree, ELANSplitFree)) and n.endswith(".cv1"):
            out.append(parent.cv0)  # the user's C2f / ELAN cv1 is both halves of the split-free form
    return out


def prune(model, cfg: PruneConfig) -> PruneResult:
    """Prune an Ultralytics YOLO (or DetectionModel); returns a pruned copy and what was achieved."""
    from ..models import torch_module

    check_criterion(cfg.criterion)
    det = torch_module(model)
    bad = unsupported_layers(det)
    if bad:
        why = "".join(f"; {b}: {WHY_UNSUPPORTED[b]}" for b in bad if b in WHY_UNSUPPORTED)
        raise UnsupportedError(
            f"this model has layers that cannot be pruned yet: {', '.join(bad)}{why} (supported: YOLOv5u, v8, v9, v10, YOLO11, "
            f"YOLO26 layers {', '.join(v for v in VERIFIED_LAYERS if 'SplitFree' not in v)})"
        )
    if not any(isinstance(m, nn.Conv2d) and m.out_channels > cfg.round_to for m in det.modules()):
        raise UnsupportedError("model has no prunable layers (no convolution wider than --round-to)")
    p0, f0 = _stats(det, cfg.imgsz)
    ref_shape = _output_shape(det, cfg.imgsz)  # every pruned candidate must keep it
    costs = _cost_table(model, cfg) if cfg.allocation == "latency" else None
    sens = None
    if cfg.allocation == "sensitivity":
        from .sensitivity import measure

        sens = measure(det, cfg, ref_shape, _prune_once, lambda m: _stats(m, cfg.imgsz),
                       couplings=block_couplings(det, cfg))
    if cfg.ratio is not None:
        ratios = sens.ratios(cfg.ratio, cfg.max_layer_ratio) if sens else None
        ratio, asked, note = cfg.ratio, f"ratio={cfg.ratio:.2f}", ""
        pruned = _prune_once(det, cfg, cfg.ratio, ref_shape, costs, ratios)
    elif cfg.target_flops is not None:
        ratio, pruned, note = _search_ratio(det, cfg, "GFLOPs", cfg.target_flops, f0,
                                            lambda m: _stats(m, cfg.imgsz)[1], ref_shape, costs, sens)
        asked = f"target_flops={cfg.target_flops:.2f} (keep {cfg.target_flops:.0%} of GFLOPs)"
    else:
        ratio, pruned, note = _search_ratio(det, cfg, "params", cfg.target_params, p0,
                                            lambda m: _stats(m, cfg.imgsz)[0], ref_shape, costs, sens)
        asked = f"target_params={cfg.target_params:.2f} (keep {cfg.target_params:.0%} of params)"
    if costs is not None:
        asked += f", allocation latency ({costs.source.get('runtime', 'given')} cost table)"
    if sens is not None:
        asked += ", allocation sensitivity (block ratio = ratio x weight, see <out>.sensitivity.json)"
    p1, f1 = _stats(pruned, cfg.imgsz)
    before, after = _conv_channels(det), _conv_channels(pruned)
    channels = {n: (before[n], after[n]) for n in before if n in after and before[n] != after[n]}
    out = model
    if det is not model:  # a YOLO wrapper: hand back a new wrapper around the pruned model
        out = copy.copy(model)
        out._modules = dict(out._modules)  # copy.copy shares nn.Module's submodule dict
        out.model = pruned
    else:
        out = pruned
    block_ratios = sens.ratios(ratio, cfg.max_layer_ratio) if sens else {}
    return PruneResult(out, p0, p1, f0, f1, ratio, asked, channels, costs, note, sens, block_ratios)


def _cost_table(model, cfg: PruneConfig):
    """The per-conv cost table of the unpruned input: ``cfg.latency_table`` when given, else profiled here
    (ONNX Runtime, 2 threads). A table made for another model or image size is refused."""
    from ..models import torch_module
    from .latency_cost import CostTable, measure_onnxruntime

    det = torch_module(model)
    if cfg.latency_table is None:
        return measure_onnxruntime(model, cfg.imgsz)
    table = CostTable.load(cfg.latency_table)
    convs = {n: m for n, m in det.named_modules() if isinstance(m, nn.Conv2d)}
    bad = [n for n, c in table.convs.items() if n not in convs or (convs[n].in_channels, convs[n].out_channels)
           != (c.in_channels, c.out_channels)]
    if bad or not table.convs or table.source.get("imgsz", cfg.imgsz) != cfg.imgsz:
        why = f"layer '{bad[0]}' differs" if bad else f"it was made at imgsz {table.source.get('imgsz')}"
        raise ConfigError(f"latency table '{cfg.latency_table}' was not made for this model at --imgsz {cfg.imgsz} "
                          f"({why}); drop --latency-table to profile this one")
    return table


UNDER_SLACK = 0.002  # a level this far above the target counts as reaching it (one channel of rounding)
# The search stops at the first level this close under the target (or within the tolerance's half, if smaller);
# otherwise it runs its steps and keeps the closest level under it. Until 2026-12-06 it stopped at the first level
# within half the tolerance (2.5 points): "keep 40%" of the sensitivity cut shipped 38.2% of the converged YOLOv8n's
# GFLOPs where 39.8% exists (--round-to 8; with --round-to 4, 38.8% where 39.5% exists). BENCHMARKS.md 10.
CLOSE = 0.005


def _search_ratio(det: nn.Module, cfg: PruneConfig, what: str, keep: float, base: float, measure,
                  ref_shape: tuple[int, ...], costs=None, sens=None) -> tuple[float, nn.Module, str]:
    """Search the channel ratio until ``measure(model) / base`` is within ``CLOSE`` under ``keep``, or the
    steps run out; the closest level at or under ``keep`` wins.

    The target is a budget: a level at or under it is preferred to a closer one above it, so "keep 50%" never
    ships 54.6% when 46% was found (measured on the converged YOLOv8n at --round-to 8, BENCHMARKS.md 10). A level
    up to ``UNDER_SLACK`` over (one channel of rounding) counts as reaching it when nothing under it is within
    half the tolerance; only when nothing under it is within the tolerance does the closest level above it win.

    GFLOPs and parameters shrink about as ``(1 - ratio)^2`` (both sides of a conv lose channels), so the
    search interpolates on ``sqrt(share kept)`` inside a bracket [lo, hi] (regula falsi, starting at
    ``1 - sqrt(keep)``) and bisects whenever an interpolated step fails to halve the bracket. Measured at
    64 px, --round-to 2, keep 0.5: 1 prune for yolov10n / yolo26n, 2 for yolov9t (bisection: 5 or more).

    With ``sens`` (allocation sensitivity) ``r`` scales the block weights: block i is cut at
    ``min(max_layer_ratio, r * w_i)``, so ``r`` runs up to ``max_layer_ratio / min(w)``. Far enough up that range
    the share kept can *rise* with ``r`` (groups too narrow to cut that far are left whole: the converged YOLOv9t at
    --round-to 8 kept 51.5% at r 0.29, 54% at 1.95 and 83% at 3.2), so a step that keeps more than the bracket's
    lower end closes the bracket from above; before 2026-12-06 it moved the lower end up and the search found no
    level under 50% for YOLOv9t (it shipped 51.5%, ABOVE the target)."""
    lo, hi = 0.0, cfg.max_layer_ratio if sens is None else cfg.max_layer_ratio / min(sens.weights.values())
    s_lo, s_hi = 1.0, 1.0 - hi  # sqrt(share kept) at the bracket ends; s_hi is a guess until measured
    k_lo = 1.0  # share kept at lo
    target = keep ** 0.5
    best: tuple[float, nn.Module, float] | None = None  # closest at or under the target
    slack: tuple[float, nn.Module, float] | None = None  # closest within UNDER_SLACK above it
    over: tuple[float, nn.Module, float] | None = None  # closest above it
    interpolate = True
    for _ in range(cfg.search_steps):
        if interpolate and s_lo > s_hi:
            r = lo + (s_lo - target) * (hi - lo) / (s_lo - s_hi)
            r = min(max(r, lo + 0.02 * (hi - lo)), hi - 0.02 * (hi - lo))
        else:
            r = (lo + hi) / 2
        width = hi - lo
        m = _prune_once(det, cfg, r, ref_shape, costs, sens.ratios(r, cfg.max_layer_ratio) if sens else None)
        got = measure(m) / base
        if got <= keep:
            if best is None or got > best[2]:
                best = (r, m, got)
            if keep - got <= min(cfg.tolerance / 2, CLOSE):
                break
        elif got <= keep + UNDER_SLACK:
            if slack is None or got < slack[2]:
                slack = (r, m, got)
        elif over is None or got < over[2]:
            over = (r, m, got)
        monotone = got <= k_lo  # the share kept at lo
        if got > keep and monotone:
            lo, s_lo, k_lo = r, got ** 0.5, got
        elif got > keep:  # more kept than at the smaller ratio lo: past the ratios where the cut still grows with
            # the ratio (a group too narrow to cut that far is left whole), so the target is under r; s_hi is then a
            # guess (as at the start), used only once a later step lands in the monotone range again
            hi, s_hi = r, 0.0
        else:
            hi, s_hi = r, got ** 0.5
        if hi - lo < 2e-3:  # under one channel in 500: at most the widest layers change in between
            break
        # a step that did not halve the bracket, or landed past the monotone range, is followed by a bisection
        interpolate = monotone and (hi - lo) <= width / 2
    if slack is not None and (best is None or keep - best[2] > cfg.tolerance / 2):
        best = slack  # one channel of rounding over counts as reaching the target when nothing under it is near
    note = ""
    if best is None or (keep - best[2] > cfg.tolerance and over is not None and over[2] - keep < keep - best[2]):
        why = ("no level at or under it was found" if best is None else
               f"the nearest level under it, {best[2]:.1%}, is outside the {cfg.tolerance:.0%} tolerance")
        best, note = over, (f"ABOVE the target: {why} (uniform steps of --round-to {cfg.round_to} channels); a "
                            f"smaller --round-to or --global lands closer")
    ratio, m, got = best  # type: ignore[misc]
    if abs(got - keep) > cfg.tolerance:
        raise UnsupportedError(
            f"target {what} {keep:.2f} cannot be reached: the closest is {got:.2f} (channel ratio {ratio:.2f}, at most "
            f"{cfg.max_layer_ratio:.0%} of any layer). Uniform pruning moves in steps of --round-to channels per "
            f"layer; try --global, --round-to 4, or another target"
        )
    return ratio, m, note


def prune_checkpoint(src, cfg: PruneConfig, out=None, make=None):
    """Load ``src`` (.pt or model YAML), prune, save a plain Ultralytics checkpoint to ``out``.

    The input file is never written: ``out`` defaults to ``<stem>-pruned.pt`` beside it and may not be
    the input itself. The saved file is reloaded through ``YOLO()`` and run once before returning.
    ``make(dest) -> PruneResult`` replaces the one-shot cut (the soft cut of :mod:`.checkpoint`).
    """
    from pathlib import Path

    from ..errors import InputError
    from ..io import beside, check_not_input
    from ..models import load_model, save_model

    check_criterion(cfg.criterion)
    src_p = Path(src)
    dest = Path(out) if out else beside(src_p, f"{src_p.stem}-pruned.pt")
    if dest.suffix != ".pt":
        raise InputError(f"--out '{dest}' must end in .pt (a pruned model is saved as an Ultralytics checkpoint)")
    check_not_input(dest, {"model": src_p})
    result = make(dest) if make else prune(load_model(src), cfg)
    save_model(result.model, dest)
    if result.cost_table is not None and cfg.latency_table is None:  # reusable: --latency-table <out>.latency.json
        result.cost_table.save(dest.with_suffix(".latency.json"))
    if result.sensitivity is not None:
        import json

        from ..io import atomic_write_text

        atomic_write_text(dest.with_suffix(".sensitivity.json"), json.dumps(
            {**result.sensitivity.as_dict(), "scale": result.ratio,
             "ratios": {str(i): r for i, r in result.block_ratios.items()}},
            indent=2) + "\n")
    check = load_model(dest).model.float().eval()
    with torch.inference_mode():
        check(torch.zeros(1, 3, cfg.imgsz, cfg.imgsz))
    return result, dest
