"""Iterative pruning: N steps of (prune a little, fine-tune a little), measured after each step.

The GFLOPs (or params) target is split geometrically: each step keeps ``target ** (1 / N)`` of the
current model, so N steps end at the target. After every step the model is evaluated on the val split
through the one evaluator; with ``max_drop`` the schedule stops at the first step whose mAP50-95 falls
more than ``max_drop`` below the input model's and returns the last step within the bound.

Resumable: every step lives in ``out/step-K/`` and is marked done by ``step.json`` (written atomically
last); re-running skips finished steps and resumes an interrupted fine-tune.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, replace
from pathlib import Path

from ..config import PruneConfig
from ..errors import ConfigError
from ..io import atomic_write_text


@dataclass(frozen=True)
class StepResult:
    step: int
    model: str
    gflops_kept: float
    params_kept: float
    map50_95: float
    within_bound: bool


def _map(pt: Path, data: str, imgsz: int) -> float:
    from ..bench.evaluator import evaluate
    from ..bench.runtimes import TorchRunner
    from ..data import load_data
    from ..export.formats import inspect_artifact

    art = inspect_artifact(pt)
    return evaluate(TorchRunner(art), load_data(data), imgsz, art.end2end).map50_95


def prune_iterative(model: str | Path, data: str, cfg: PruneConfig, steps: int, finetune_cfg, out_dir: str | Path,
                    max_drop: float | None = None) -> list[StepResult]:
    """Run the schedule; returns one result per step done (the last one is the model to use)."""
    from ..train import finetune
    from .prune import prune_checkpoint

    if steps < 1:
        raise ConfigError(f"--steps {steps} is invalid; give 1 or more")
    if cfg.ratio is not None:
        per_step = replace(cfg, ratio=1 - (1 - cfg.ratio) ** (1 / steps))
    elif cfg.target_flops is not None:
        per_step = replace(cfg, target_flops=cfg.target_flops ** (1 / steps))
    else:
        per_step = replace(cfg, target_params=cfg.target_params ** (1 / steps))
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    base_map = _map(Path(model), data, cfg.imgsz)
    results: list[StepResult] = []
    current = Path(model)
    g0 = p0 = None
    for k in range(1, steps + 1):
        sd = out / f"step-{k}"
        marker = sd / "step.json"
        if marker.exists():
            r = StepResult(**json.loads(marker.read_text()))
        else:
            pruned = sd / "pruned.pt"
            res, _ = prune_checkpoint(current, per_step, pruned)
            g0 = g0 or res.gflops_before
            p0 = p0 or res.params_before
            best = finetune(pruned, data, finetune_cfg, (sd / "finetune").resolve(), resume=True)
            m = _map(best, data, cfg.imgsz)
            r = StepResult(k, str(best), res.gflops_after / g0, res.params_after / p0, m,
                           max_drop is None or base_map - m <= max_drop)
            atomic_write_text(marker, json.dumps(asdict(r), indent=2))
        results.append(r)
        current = Path(r.model)
        if not r.within_bound:
            break
    return results
