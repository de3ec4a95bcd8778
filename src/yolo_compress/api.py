"""The public verbs. The CLI is a thin layer over these."""

from __future__ import annotations

from .bench.bench import BenchReport, bench
from .config import BenchConfig, DistillConfig, ExportConfig, ParityConfig, PruneConfig, QuantConfig
from .demo import run_demo
from .export.exporter import ExportResult, export, verify
from .export.formats import list_formats
from .runtime.artifact import Artifact, inspect_artifact
from .runtime.graphstats import model_info
from .runtime.runtimes import list_runtimes
from .data import load_data
from .models import load_checkpoint, load_model, save_model, trusted_checkpoints
from .predict import PredictResult, predict
from .prune import PruneResult, kept_whole, list_criteria, prune, prune_checkpoint
from .quant import QuantResult, quantize
from .distill.distill import distill
from .distill.losses import list_losses
from .train import RECIPES, FinetuneConfig, KeepArchitectureTrainer, auto_recipe, finetune, recipe_settings
from .profile import (Budget, BudgetError, Decision, build_candidates, check_budget, choose, plot_profile,
                      profile_device, time_candidates)

__all__ = [
    "Artifact", "BenchConfig", "BenchReport", "ExportConfig", "ExportResult", "ParityConfig", "bench", "export",
    "inspect_artifact", "list_formats", "list_runtimes", "load_data", "load_model", "model_info", "run_demo",
    "save_model", "verify", "PruneConfig", "PruneResult", "list_criteria", "prune", "prune_checkpoint",
    "FinetuneConfig", "KeepArchitectureTrainer", "finetune", "QuantConfig", "QuantResult", "quantize",
    "DistillConfig", "distill", "list_losses", "PredictResult", "predict", "load_checkpoint", "trusted_checkpoints",
]
__all__ += ["kept_whole", "RECIPES", "auto_recipe", "recipe_settings"]
__all__ += ["Budget", "BudgetError", "Decision", "build_candidates", "check_budget", "choose", "plot_profile",
            "profile_device", "time_candidates"]
