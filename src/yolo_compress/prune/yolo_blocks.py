"""Make Ultralytics blocks tractable for Torch-Pruning's dependency graph, and back.

Torch-Pruning cannot follow C2f's ``chunk(2, 1)`` (IndexError in 1.6 on yolov8n) nor C3k2's, its
subclass. At prune time each C2f/C3k2 is replaced by :class:`C2fSplitFree`, an exactly equivalent block
whose ``cv1`` is two convolutions (one per half), so DepGraph sees ordinary convs and concats. After
pruning, :func:`from_prunable` equalises the two halves (dropping the least important channels of the
larger one) and folds them back into the original C2f/C3k2 object, so the pruned model is a plain
Ultralytics model: ``YOLO("pruned.pt")`` loads it without yolo-compress.

Kept whole by default (see :func:`default_ignored_layers`): the Detect output convolutions (box and
class logits), DFL, and attention blocks (C2PSA / PSA / Attention: their heads and key dims are coupled
by reshapes that DepGraph cannot follow safely).
"""

from __future__ import annotations

import copy

import torch
from torch import nn

_ULTRA_ATTRS = ("f", "i", "type", "np")  # set by Ultralytics' parse_model on top-level layers


class C2fSplitFree(nn.Module):
    """C2f / C3k2 with ``cv1`` split into ``cv0`` (first half) and ``cv1`` (second half). Same outputs."""

    def __init__(self, orig: nn.Module):
        super().__init__()
        self._orig = [orig]  # list: not registered as a submodule
        c = orig.c
        self.cv0 = _slice_conv(orig.cv1, slice(0, c))
        self.cv1 = _slice_conv(orig.cv1, slice(c, 2 * c))
        self.m = orig.m
        self.cv2 = orig.cv2
        for a in _ULTRA_ATTRS:
            if hasattr(orig, a):
                setattr(self, a, getattr(orig, a))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        y = [self.cv0(x), self.cv1(x)]
        y.extend(m(y[-1]) for m in self.m)
        return self.cv2(torch.cat(y, 1))


def _slice_conv(conv_block: nn.Module, sl: slice) -> nn.Module:
    """A copy of an Ultralytics ``Conv`` (conv + bn + act) keeping output channels ``sl``."""
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


def _c2f_types() -> tuple[type, ...]:
    from ultralytics.nn.modules.block import C2f

    return (C2f,)  # C3k2 subclasses C2f


def to_prunable(model: nn.Module) -> int:
    """Replace every C2f/C3k2 by its split-free equivalent, in place. Returns how many were replaced."""
    n = 0
    for parent in list(model.modules()):
        for name, child in list(parent.named_children()):
            if isinstance(child, _c2f_types()) and not isinstance(child, C2fSplitFree):
                setattr(parent, name, C2fSplitFree(child))
                n += 1
    return n


def from_prunable(model: nn.Module, graph=None) -> None:
    """Fold split-free blocks back into the original C2f/C3k2 objects, in place.

    The two halves must be equally wide for ``chunk(2)``; where pruning left them unequal (global
    allocation), the wider half loses its lowest-L2 channels through the dependency ``graph``, which
    keeps every coupled layer consistent.
    """
    import torch_pruning as tp

    for parent in list(model.modules()):
        for name, child in list(parent.named_children()):
            if not isinstance(child, C2fSplitFree):
                continue
            a, b = child.cv0.conv.out_channels, child.cv1.conv.out_channels
            if a != b:
                if graph is None:
                    raise RuntimeError("unequal C2f halves need the dependency graph to be equalised")
                wide = child.cv0 if a > b else child.cv1
                w = wide.conv.weight.detach().flatten(1).norm(dim=1)
                drop = torch.argsort(w)[: abs(a - b)].tolist()
                group = graph.get_pruning_group(wide.conv, tp.prune_conv_out_channels, idxs=drop)
                if graph.check_pruning_group(group):
                    group.prune()
            orig = child._orig[0]
            orig.cv1 = _merge_convs(child.cv0, child.cv1)
            orig.c = child.cv0.conv.out_channels
            orig.m = child.m
            orig.cv2 = child.cv2
            setattr(parent, name, orig)


def default_ignored_layers(model: nn.Module) -> list[nn.Module]:
    """Layers whose output channels must not change: head outputs, DFL, attention blocks."""
    from ultralytics.nn.modules.head import Detect

    ignored: list[nn.Module] = []
    attention_types = _attention_types()
    for m in model.modules():
        if isinstance(m, Detect):
            ignored.append(m.dfl) if hasattr(m, "dfl") else None
            for branch in ("cv2", "cv3", "one2one_cv2", "one2one_cv3"):
                seqs = getattr(m, branch, None)
                if seqs is not None:
                    ignored.extend(s[-1] for s in seqs)
        elif isinstance(m, attention_types):
            ignored.append(m)
    return [m for m in ignored if m is not None]


def _attention_types() -> tuple[type, ...]:
    from ultralytics.nn.modules import block

    return tuple(getattr(block, n) for n in ("C2PSA", "PSA", "PSABlock", "Attention", "AAttn", "A2C2f") if hasattr(block, n))


# Top-level Ultralytics layers whose pruning is verified by the tests (v5u, v8, v11 families).
VERIFIED_LAYERS = ("Conv", "C2f", "C3k2", "C3", "SPPF", "Concat", "Upsample", "Detect", "C2PSA", "C2fSplitFree")


def unsupported_layers(model: nn.Module) -> list[str]:
    """Top-level layer types that pruning has not been made to work on (e.g. v9's ELAN blocks with
    ``chunk`` on their input, v10's v10Detect / C2fCIB)."""
    layers = getattr(model, "model", [])
    return sorted({type(m).__name__ for m in layers} - set(VERIFIED_LAYERS))
