"""Structured pruning on Torch-Pruning's DepGraph: yolo_blocks (graph), importance (criteria), prune."""

from .importance import list_criteria
from .checkpoint import prune_checkpoint
from .prune import PruneResult, prune
from .yolo_blocks import kept_whole

__all__ = ["PruneResult", "kept_whole", "list_criteria", "prune", "prune_checkpoint"]
