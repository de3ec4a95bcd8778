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


@register_criterion("taylor", True, "first-order Taylor |w * dL/dw| on training batches (Molchanov et al. 2019)")
def _taylor():
    import torch_pruning as tp

    return tp.importance.GroupTaylorImportance()


@register_criterion("hessian", True, "diagonal Hessian (OBD-style, squared per-sample gradients; Torch-Pruning)")
def _hessian():
    import torch_pruning as tp

    return tp.importance.GroupHessianImportance()


@register_criterion("random", False, "random scores: the sanity baseline every criterion must beat")
def _random():
    import torch_pruning as tp

    return tp.importance.RandomImportance()
