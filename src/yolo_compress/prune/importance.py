"""Importance criteria: which channels go. A registry of small factories over Torch-Pruning's
importance classes (timm-style ``@register_criterion`` / ``list_criteria()``)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

CRITERIA: dict[str, "Criterion"] = {}


@dataclass(frozen=True)
class Criterion:
    name: str
    make: Callable[[], object]  # -> a torch_pruning importance
    needs_gradients: bool  # Taylor / Hessian: need a loss on real data before pruning
    description: str


def register_criterion(name: str, needs_gradients: bool, description: str):
    def deco(fn):
        CRITERIA[name] = Criterion(name, fn, needs_gradients, description)
        return fn

    return deco


def list_criteria() -> list[str]:
    return sorted(CRITERIA)


def check_criterion(name: str) -> None:
    """One line when ``name`` is not a registered criterion (PruneConfig does not know the registry)."""
    if name not in CRITERIA:
        from ..errors import ConfigError

        raise ConfigError(f"criterion '{name}' is unknown; choose one of: {', '.join(list_criteria())}")


@register_criterion("l1", False, "group L1 norm of weights (Li et al. 2017)")
def _l1():
    import torch_pruning as tp

    return tp.importance.GroupMagnitudeImportance(p=1)


@register_criterion("l2", False, "group L2 norm of weights (DepGraph default)")
def _l2():
    import torch_pruning as tp

    return tp.importance.GroupMagnitudeImportance(p=2)


@register_criterion("bn", False, "BatchNorm scale |gamma| (network slimming, Liu et al. 2017)")
def _bn():
    import torch_pruning as tp

    return tp.importance.BNScaleImportance()


@register_criterion("lamp", False, "layer-adaptive magnitude (LAMP, Lee et al. 2021)")
def _lamp():
    import torch_pruning as tp

    return tp.importance.LAMPImportance(p=2)


class _RootSized:
    """Mixin over a Torch-Pruning group importance: the group's score vector has one entry per channel of the
    group's *root*, whatever layer is scored first.

    Torch-Pruning 1.6.1's ``_reduce`` sizes the summed scores by the first layer the criterion scores
    (``zeros_like(group_imp[0])``). That is the root where the root is a plain conv, but its Taylor importance
    scores no BatchNorm (its "BN" branch tests the GroupNorm function) and no depthwise conv, so in a group rooted
    at a depthwise conv (YOLOv10's C2fCIB ``cv1.4``) the first scored layer can be the concat consumer, whose input
    holds the root's channels twice: the vector came out longer than the root, its tail of zeros ranked lowest, and
    the cut named channels the root does not have. Torch-Pruning's depthwise pruner then took its channel counts
    down by every index and its weight only by those in range: "pruning broke this model (Given groups=...)".
    Where the first scored layer is the root (every YOLOv8n / YOLO11n group), the scores are Torch-Pruning's own,
    bit for bit."""

    _n_root: int | None = None

    def __call__(self, group):
        roots = [r for r in group[0].root_idxs if r is not None]
        self._n_root = max(roots) + 1 if roots else None
        try:
            return super().__call__(group)
        finally:
            self._n_root = None

    def _reduce(self, group_imp, group_idxs):
        import torch

        n = self._n_root
        if not group_imp or n is None or len(group_imp[0]) == n or self.group_reduction not in ("mean", "sum"):
            return super()._reduce(group_imp, group_idxs)
        reduced, k = torch.zeros(n, dtype=torch.float32), 0
        for imp, root_idxs in zip(group_imp, group_idxs):
            if any(r is None for r in root_idxs):
                continue  # as Torch-Pruning: a layer whose channels do not all map to the root's is skipped
            reduced.scatter_add_(0, torch.tensor(root_idxs), imp.to(torch.float32))
            k += 1
        return reduced / k if self.group_reduction == "mean" and k else reduced


def _root_sized(cls):
    return type(f"RootSized{cls.__name__}", (_RootSized, cls), {})


@register_criterion("taylor", True, "first-order Taylor |w * dL/dw| on training batches (Molchanov et al. 2019)")
def _taylor():
    import torch_pruning as tp

    return _root_sized(tp.importance.GroupTaylorImportance)()


@register_criterion("hessian", True, "diagonal Hessian (OBD-style, squared per-sample gradients; Torch-Pruning)")
def _hessian():
    import torch_pruning as tp

    return _root_sized(tp.importance.GroupHessianImportance)()


@register_criterion("random", False, "random scores: the sanity baseline every criterion must beat")
def _random():
    import torch_pruning as tp

    return tp.importance.RandomImportance()
