"""Make Ultralytics blocks tractable for Torch-Pruning's dependency graph, and back.

Torch-Pruning cannot follow a ``chunk(2, 1)`` on a convolution's output (IndexError in 1.6 on yolov8n).
At prune time each block that chunks its ``cv1`` -- C2f and its subclasses C3k2 / C2fCIB (v8, v10, v11,
YOLO26), RepNCSPELAN4 and ELAN1 (YOLOv9) -- is replaced by an exactly equivalent split-free block whose
``cv1`` is two convolutions (one per half), so DepGraph sees ordinary convs and concats. After pruning,
:func:`from_prunable` equalises the two halves (dropping the least important channels of the larger one)
and folds them back into the original Ultralytics object, so the pruned model is a plain Ultralytics
model: ``YOLO("pruned.pt")`` loads it without yolo-compress.

YOLOv9's ADown chunks its *input* (not a conv of its own): it becomes :class:`ADownSplitFree`, whose
``split`` sizes follow its two convolutions' input widths, and is folded back the same way.

End-to-end heads (YOLOv10's v10Detect, YOLO26's Detect) carry a one-to-one copy of the one-to-many head.
:func:`to_prunable` ties each hidden convolution of one to its twin in the other during tracing (a ``+ 0 *
twin`` that DepGraph reads as an element-wise coupling), so both heads lose the same channels and stay in step.

Kept whole (see :func:`default_ignored_layers` and :func:`kept_whole`): the Detect output convolutions (box
and class logits), DFL, attention (``Attention``: ``qkv`` is viewed as ``num_heads x (2 key_dim + head_dim)``
and its output as ``num_heads x head_dim``, so its width is fixed by the head count), and the channels
chained to an attention block by residual adds and an equal-halves split (C2PSA / PSA ``cv1``, a C3k2 with
attention's ``cv1``). Everything around them (the feed-forward hidden layers, the blocks' output convs)
is pruned.
"""

from __future__ import annotations

import copy

import torch
from torch import nn

_ULTRA_ATTRS = ("f", "i", "type", "np")  # set by Ultralytics' parse_model on top-level layers


def _copy_ultra_attrs(src: nn.Module, dst: nn.Module) -> None:
    for a in _ULTRA_ATTRS:
        if hasattr(src, a):
            setattr(dst, a, getattr(src, a))


class _SplitFree(nn.Module):
    """A block whose ``cv1`` output is chunked in two, with ``cv1`` split into ``cv0`` (first half) and
    ``cv1`` (second half). Subclasses give the forward and how to fold back into the original object."""

    def __init__(self, orig: nn.Module):
        super().__init__()
        self._orig = [orig]  # list: not registered as a submodule
        c = orig.c
        self.cv0 = _slice_conv(orig.cv1, slice(0, c))
        self.cv1 = _slice_conv(orig.cv1, slice(c, 2 * c))
        _copy_ultra_attrs(orig, self)

    def halves(self) -> tuple[nn.Conv2d, nn.Conv2d, object]:
        """The two convs that must end equally wide, and the Torch-Pruning function that narrows them."""
        import torch_pruning as tp

        return self.cv0.conv, self.cv1.conv, tp.prune_conv_out_channels

    def fold(self) -> nn.Module:
        raise NotImplementedError


class C2fSplitFree(_SplitFree):
    """C2f / C3k2 / C2fCIB with ``cv1`` split into ``cv0`` and ``cv1``. Same outputs."""

    def __init__(self, orig: nn.Module):
        super().__init__(orig)
        self.m = orig.m
        self.cv2 = orig.cv2

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        y = [self.cv0(x), self.cv1(x)]
        y.extend(m(y[-1]) for m in self.m)
        return self.cv2(torch.cat(y, 1))

    def fold(self) -> nn.Module:
        orig = self._orig[0]
        orig.cv1 = _merge_convs(self.cv0, self.cv1)
        orig.c = self.cv0.conv.out_channels
        orig.m, orig.cv2 = self.m, self.cv2
        return orig


class ELANSplitFree(_SplitFree):
    """YOLOv9's RepNCSPELAN4 / ELAN1 with ``cv1`` split into ``cv0`` and ``cv1``. Same outputs."""

    def __init__(self, orig: nn.Module):
        super().__init__(orig)
        self.cv2, self.cv3, self.cv4 = orig.cv2, orig.cv3, orig.cv4

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        y = [self.cv0(x), self.cv1(x)]
        y.extend(m(y[-1]) for m in (self.cv2, self.cv3))
        return self.cv4(torch.cat(y, 1))

    def fold(self) -> nn.Module:
        orig = self._orig[0]
        orig.cv1 = _merge_convs(self.cv0, self.cv1)
        orig.c = self.cv0.conv.out_channels
        orig.cv2, orig.cv3, orig.cv4 = self.cv2, self.cv3, self.cv4
        return orig


class ADownSplitFree(nn.Module):
    """YOLOv9's ADown, which chunks its input: ``split`` by its convs' current input widths instead, so
    DepGraph maps each input channel to the conv that reads it. Same outputs."""

    def __init__(self, orig: nn.Module):
        super().__init__()
        self._orig = [orig]
        self.cv1, self.cv2 = orig.cv1, orig.cv2
        _copy_ultra_attrs(orig, self)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = torch.nn.functional.avg_pool2d(x, 2, 1, 0, False, True)
        x1, x2 = x.split((self.cv1.conv.in_channels, self.cv2.conv.in_channels), 1)
        x1 = self.cv1(x1)
        x2 = self.cv2(torch.nn.functional.max_pool2d(x2, 3, 2, 1))
        return torch.cat((x1, x2), 1)

    def halves(self):
        import torch_pruning as tp

        return self.cv1.conv, self.cv2.conv, tp.prune_conv_in_channels

    def fold(self) -> nn.Module:
        orig = self._orig[0]
        orig.cv1, orig.cv2 = self.cv1, self.cv2
        orig.c = self.cv1.conv.out_channels  # informational in ADown; its output is cat(cv1, cv2)
        return orig


def _slice_conv(conv_block: nn.Module, sl: slice) -> nn.Module:
    """A copy of an Ultralytics ``Conv`` (conv + bn + act, or a fused conv with bias) keeping output channels ``sl``."""
    new = copy.deepcopy(conv_block)
    c = sl.stop - sl.start
    new.conv.weight = nn.Parameter(conv_block.conv.weight.data[sl].clone())
    new.conv.out_channels = c
    if conv_block.conv.bias is not None:
        new.conv.bias = nn.Parameter(conv_block.conv.bias.data[sl].clone())
    bn = getattr(conv_block, "bn", None)
    if isinstance(bn, nn.BatchNorm2d):
        new.bn.weight = nn.Parameter(bn.weight.data[sl].clone())
        new.bn.bias = nn.Parameter(bn.bias.data[sl].clone())
        new.bn.running_mean = bn.running_mean[sl].clone()
        new.bn.running_var = bn.running_var[sl].clone()
        new.bn.num_features = c
    return new


def _merge_convs(a: nn.Module, b: nn.Module) -> nn.Module:
    """Inverse of two ``_slice_conv``: one Conv whose outputs are a's then b's."""
    new = copy.deepcopy(a)
    new.conv.weight = nn.Parameter(torch.cat([a.conv.weight.data, b.conv.weight.data], 0))
    new.conv.out_channels = a.conv.out_channels + b.conv.out_channels
    if a.conv.bias is not None:
        new.conv.bias = nn.Parameter(torch.cat([a.conv.bias.data, b.conv.bias.data], 0))
    if isinstance(getattr(a, "bn", None), nn.BatchNorm2d):
        new.bn.weight = nn.Parameter(torch.cat([a.bn.weight.data, b.bn.weight.data]))
        new.bn.bias = nn.Parameter(torch.cat([a.bn.bias.data, b.bn.bias.data]))
        new.bn.running_mean = torch.cat([a.bn.running_mean, b.bn.running_mean])
        new.bn.running_var = torch.cat([a.bn.running_var, b.bn.running_var])
        new.bn.num_features = new.conv.out_channels
    return new


def _split_free_types() -> tuple[tuple[type, type], ...]:
    """(Ultralytics block, its split-free stand-in), most specific first."""
    from ultralytics.nn.modules import block

    return ((block.RepNCSPELAN4, ELANSplitFree), (block.C2f, C2fSplitFree), (block.ADown, ADownSplitFree))


def _stand_in(child: nn.Module) -> type | None:
    if isinstance(child, _SplitFree | ADownSplitFree):
        return None
    for ultra, free in _split_free_types():
        if isinstance(child, ultra):  # ELAN1 subclasses RepNCSPELAN4; C3k2 / C2fCIB subclass C2f
            return free
    return None


def to_prunable(model: nn.Module) -> int:
    """Replace every chunking block by its split-free equivalent and tie end-to-end heads, in place.
    Returns how many blocks were replaced."""
    n = 0
    for parent in list(model.modules()):
        for name, child in list(parent.named_children()):
            free = _stand_in(child)
            if free is not None:
                setattr(parent, name, free(child))
                n += 1
    _tie_end2end_heads(model)
    return n


def _head_twins(det: nn.Module) -> list[tuple[nn.Module, nn.Module]]:
    """(one-to-many, one-to-one) pairs of hidden Ultralytics Convs of an end-to-end Detect head."""
    from ultralytics.nn.modules.conv import Conv

    pairs = []
    for many_name, one_name in (("cv2", "one2one_cv2"), ("cv3", "one2one_cv3")):
        many, one = getattr(det, many_name, None), getattr(det, one_name, None)
        if many is None or one is None:
            continue
        for seq_many, seq_one in zip(many, one):
            for a, b in zip(seq_many[:-1].modules(), seq_one[:-1].modules()):  # [-1]: the output conv, kept whole
                if isinstance(a, Conv) and isinstance(b, Conv):
                    pairs.append((a, b))
    return pairs


def _tie_end2end_heads(model: nn.Module) -> None:
    from ultralytics.nn.modules.head import Detect

    for det in model.modules():
        if not isinstance(det, Detect) or getattr(det, "_yc_tie_hooks", None):
            continue
        hooks = []
        for many, one in _head_twins(det):
            store: dict[str, torch.Tensor] = {}
            hooks.append(many.register_forward_hook(lambda _m, _i, out, s=store: s.__setitem__("y", out)))
            hooks.append(one.register_forward_hook(
                lambda _m, _i, out, s=store: out + 0 * s.pop("y") if "y" in s and s["y"].shape == out.shape else out))
        det._yc_tie_hooks = hooks


def _untie_end2end_heads(model: nn.Module) -> None:
    for m in model.modules():
        for h in getattr(m, "_yc_tie_hooks", None) or ():
            h.remove()
        if hasattr(m, "_yc_tie_hooks"):
            del m._yc_tie_hooks


def from_prunable(model: nn.Module, graph=None) -> None:
    """Fold split-free blocks back into the original Ultralytics objects and untie the heads, in place.

    The two halves must be equally wide for ``chunk(2)``; where pruning left them unequal (global
    allocation), the wider half loses its lowest-L2 channels through the dependency ``graph``, which
    keeps every coupled layer consistent.
    """
    import torch_pruning as tp

    _untie_end2end_heads(model)
    if graph is not None:
        _refresh_split_offsets(graph)
    for parent in list(model.modules()):
        for name, child in list(parent.named_children()):
            if not isinstance(child, _SplitFree | ADownSplitFree):
                continue
            a_conv, b_conv, fn = child.halves()
            width = (lambda c: c.in_channels) if fn is tp.prune_conv_in_channels else (lambda c: c.out_channels)
            a, b = width(a_conv), width(b_conv)
            if a != b:
                if graph is None:
                    raise RuntimeError(f"unequal halves of {type(child._orig[0]).__name__} need the dependency graph")
                wide = a_conv if a > b else b_conv
                dim = 1 if fn is tp.prune_conv_in_channels else 0
                w = wide.weight.detach().transpose(0, dim).flatten(1).norm(dim=1)
                drop = torch.argsort(w)[: abs(a - b)].tolist()
                group = graph.get_pruning_group(wide, fn, idxs=drop)
                if graph.check_pruning_group(group):
                    group.prune()
                if width(a_conv) != width(b_conv):
                    raise RuntimeError(f"could not equalise the halves of {type(child._orig[0]).__name__}")
            setattr(parent, name, child.fold())


def _refresh_split_offsets(graph) -> None:
    """Torch-Pruning 1.6's SplitPruner updates a split's sizes after pruning but stores the new offsets on
    itself, not on the split, so a later group through that split (equalising ADown's halves) would map
    channels with the old offsets. Recompute them from the sizes."""
    from itertools import accumulate

    for node in graph.module2node.values():
        op = node.module
        if type(op).__name__ == "_SplitOp" and getattr(op, "split_sizes", None) is not None:
            op.offsets = [0, *accumulate(op.split_sizes)]


def _is_attention(m: nn.Module) -> bool:
    return isinstance(m, _attention_types())


def kept_whole(model: nn.Module) -> dict[str, str]:
    """Layer name -> why its output channels are never pruned (what ``info --layers`` shows)."""
    from ultralytics.nn.modules import block
    from ultralytics.nn.modules.head import Detect

    why: dict[str, str] = {}
    c2f_like = (block.C2f, C2fSplitFree)
    split_attn = tuple(getattr(block, n) for n in ("C2PSA", "PSA") if hasattr(block, n))
    whole_attn = tuple(getattr(block, n) for n in ("A2C2f", "AAttn") if hasattr(block, n))
    for name, m in model.named_modules():
        if isinstance(m, Detect):
            if isinstance(getattr(m, "dfl", None), nn.Module) and any(True for _ in m.dfl.parameters()):
                why[f"{name}.dfl"] = "DFL: fixed bins (reg_max), not channels"
            for branch in ("cv2", "cv3", "one2one_cv2", "one2one_cv3"):
                seqs = getattr(m, branch, None)
                for i, s in enumerate(seqs or ()):
                    why[f"{name}.{branch}.{i}.{len(s) - 1}"] = "head output: box / class logits"
        elif isinstance(m, whole_attn):
            if not any(k for k in why if name.startswith(k + ".")):
                why[name] = "area attention (YOLO12): heads coupled by reshapes DepGraph cannot follow"
        elif type(m).__name__ == "Attention":
            why[name] = (f"attention: qkv is viewed as {m.num_heads} heads x (2 x {m.key_dim} + {m.head_dim}) and "
                         f"its output as {m.num_heads} x {m.head_dim}, so its width is fixed by the head count")
        elif isinstance(m, split_attn):
            why[f"{name}.cv1"] = "split into equal halves, one of which is the attention width (kept whole)"
        elif isinstance(m, c2f_like) and any(_is_attention(s) for s in m.m.modules()):
            why[f"{name}.cv1"] = "chunked into equal halves chained to an attention block by residual adds"
            if isinstance(m, C2fSplitFree):
                why[f"{name}.cv0"] = why[f"{name}.cv1"]
    return why


def default_ignored_layers(model: nn.Module) -> list[nn.Module]:
    """Layers whose output channels must not change: head outputs, DFL, attention (see :func:`kept_whole`)."""
    mods = dict(model.named_modules())
    return [mods[n] for n in kept_whole(model) if n in mods]


def _attention_types() -> tuple[type, ...]:
    from ultralytics.nn.modules import block

    return tuple(getattr(block, n) for n in ("Attention", "AAttn") if hasattr(block, n))


# Top-level Ultralytics layers whose pruning is verified by the tests (v5u, v8, v9, v10, v11, YOLO26).
VERIFIED_LAYERS = ("Conv", "C2f", "C3k2", "C3", "SPPF", "Concat", "Upsample", "Detect", "C2PSA",
                   "ELAN1", "RepNCSPELAN4", "AConv", "ADown", "SPPELAN", "SCDown", "C2fCIB", "PSA", "v10Detect",
                   "C2fSplitFree", "ELANSplitFree", "ADownSplitFree")


# Why known layers are refused (shown with the refusal).
WHY_UNSUPPORTED = {
    "A2C2f": "YOLO12 area attention: heads and areas are coupled by reshapes DepGraph cannot follow",
    "CBLinear": "YOLOv9-E's second backbone branch: one conv split by a fixed list of widths (c2s), each slice "
                "read by a CBFuse elsewhere; not attempted",
    "CBFuse": "sums (torch.stack) resized CBLinear slices with a feature map, coupling widths across the "
              "network; not attempted",
}


def unsupported_layers(model: nn.Module) -> list[str]:
    """Top-level layer types that pruning has not been made to work on (e.g. YOLO12's A2C2f, RT-DETR)."""
    layers = getattr(model, "model", [])
    return sorted({type(m).__name__ for m in layers} - set(VERIFIED_LAYERS))
