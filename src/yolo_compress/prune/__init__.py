"""Structured pruning on Torch-Pruning's DepGraph: yolo_blocks (graph), importance (criteria), prune."""

from .importance import list_criteria
from .prune import PruneResult, prune, prune_checkpoint

__all__ = ["PruneResult", "list_criteria", "prune", "prune_checkpoint"]
