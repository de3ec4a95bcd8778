"""Iterative pruning: N steps of (prune a little, fine-tune a little), measured after each step. With a
teacher, each step recovers by distillation instead (iterative prune + distill; ``teacher="input"``:
self-distillation from the unpruned model).

The GFLOPs (or params) target is split geometrically: each step keeps ``target ** (1 / N)`` of the
current model, so N steps end at the target. After every step the model is evaluated on the val split
through the one evaluator; with ``max_drop`` (mAP50-95 points, as everywhere: 2 means 0.40 -> 0.38) the
schedule stops at the first step whose mAP50-95 falls more than ``max_drop`` points below the input
model's and returns the last step within the bound.

Resumable: every step lives in ``out/step-K/`` and is marked done by ``step.json`` (written atomically
last); re-running skips finished steps and resumes an interrupted fine-tune. A step folder records a
fingerprint (its input model's bytes, the per-step prune and fine-tune configs, the dataset, ``max_drop``
and the schedule's original model): a step made from another model or config is set aside and redone,
never reused. ``GFLOPs kept`` is relative to the original model (its GFLOPs / params are kept in
``out/schedule.json``), also after a resume.
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
    from ..runtime.evaluator import evaluate
    from ..runtime.runtimes import TorchRunner
    from ..data import load_data
    from ..runtime.artifact import inspect_artifact

    art = inspect_artifact(pt)
    return evaluate(TorchRunner(art), load_data(data), imgsz, art.end2end).map50_95


def check_max_drop(max_drop: float | None) -> None:
    """``max_drop`` is in mAP50-95 points (0-100), as for ``quantize``; refuse a negative or absurd value."""
    import math

    if max_drop is not None and (not isinstance(max_drop, (int, float)) or isinstance(max_drop, bool)
                                 or not math.isfinite(max_drop) or not 0 <= max_drop < 100):
        raise ConfigError(f"--max-drop {max_drop!r} is invalid; give mAP50-95 points in [0, 100), e.g. 2 for a "
                          f"2-point drop (0.40 -> 0.38)")


def prune_iterative(model: str | Path, data: str, cfg: PruneConfig, steps: int, finetune_cfg, out_dir: str | Path,
                    max_drop: float | None = None, teacher: str | Path | None = None,
                    distill_cfg=None) -> list[StepResult]:
    """Run the schedule; returns one result per step done (the last one is the model to use).

    ``teacher`` (a trained .pt, or ``"input"`` for the unpruned ``model`` itself) recovers every step by
    distillation (``distill_cfg``, default :class:`~yolo_compress.config.DistillConfig`) instead of a plain
    fine-tune: iterative prune + distill. The pair is checked (classes, head layout, imgsz) before any work."""
    from ..train import finetune
    from .importance import check_criterion
    from .prune import prune_checkpoint

    check_criterion(cfg.criterion)  # before the baseline evaluation, not at the first step
    if steps < 1:
        raise ConfigError(f"--steps {steps} is invalid; give 1 or more")
    check_max_drop(max_drop)
    if teacher is not None:
        from ..config import DistillConfig
        from ..data import load_data
        from ..distill.distill import check_kd_warmup, check_pair
        from ..distill.losses import check_losses

        teacher = Path(model) if str(teacher) == "input" else Path(teacher)
        if not teacher.exists():
            raise ConfigError(f"--teacher '{teacher}' not found; give a trained .pt, or 'input' for the unpruned model")
        distill_cfg = distill_cfg or DistillConfig()
        check_losses(distill_cfg.losses)
        check_kd_warmup(distill_cfg, finetune_cfg)
        check_pair(model, teacher, load_data(data, splits=("train", "val")).names, finetune_cfg.imgsz)
    if cfg.ratio is not None:
        per_step = replace(cfg, ratio=1 - (1 - cfg.ratio) ** (1 / steps))
    elif cfg.target_flops is not None:
        per_step = replace(cfg, target_flops=cfg.target_flops ** (1 / steps))
    else:
        per_step = replace(cfg, target_params=cfg.target_params ** (1 / steps))
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    from ..fingerprints import data_hash, fingerprint, hash_file

    origin = hash_file(model)
    dhash = data_hash(data)
    base_map = _map(Path(model), data, cfg.imgsz)
    sched, skey = out / "schedule.json", fingerprint(model=origin, imgsz=cfg.imgsz)
    g0 = p0 = None
    if sched.exists():
        s0 = json.loads(sched.read_text())
        if s0.get("fingerprint") == skey:
            g0, p0 = s0["gflops"], s0["params"]
    results: list[StepResult] = []
    current = Path(model)
    for k in range(1, steps + 1):
        sd = out / f"step-{k}"
        marker = sd / "step.json"
        fp = fingerprint(input=hash_file(current), prune=per_step.fingerprint_dict(),
                         finetune=finetune_cfg.fingerprint_dict(), data=dhash, max_drop=max_drop, origin=origin, step=k,
                         **({"teacher": hash_file(teacher), "distill": distill_cfg.as_dict()} if teacher else {}))
        done = json.loads(marker.read_text()) if marker.exists() else None
        if done is not None and done.pop("fingerprint", None) == fp and Path(done["model"]).exists():
            r = StepResult(**done)
        else:
            started = sd / "fingerprint.json"
            if sd.exists() and (not started.exists() or json.loads(started.read_text()).get("fingerprint") != fp):
                import os
                import time

                os.replace(sd, out / f".step-{k}.stale-{time.strftime('%Y%m%d-%H%M%S')}-{os.getpid()}")
            atomic_write_text(started, json.dumps({"fingerprint": fp}))
            pruned = sd / "pruned.pt"
            res, _ = prune_checkpoint(current, per_step, pruned)
            if g0 is None:
                if k == 1:
                    g0, p0 = res.gflops_before, res.params_before
                else:  # schedule.json lost: measure the original model the same way
                    from ..models import load_model
                    from .prune import _stats

                    p0, g0 = _stats(load_model(model).model, cfg.imgsz)
                atomic_write_text(sched, json.dumps({"fingerprint": skey, "gflops": g0, "params": p0}))
            if teacher is None:
                best = finetune(pruned, data, finetune_cfg, (sd / "finetune").resolve(), resume=True)
            else:
                from ..distill.distill import distill

                best = distill(pruned, teacher, data, distill_cfg, finetune_cfg, (sd / "distill").resolve(), resume=True)
            m = _map(best, data, cfg.imgsz)
            r = StepResult(k, str(best), res.gflops_after / g0, res.params_after / p0, m,
                           max_drop is None or 100 * (base_map - m) <= max_drop)
            atomic_write_text(marker, json.dumps({**asdict(r), "fingerprint": fp}, indent=2))
        results.append(r)
        current = Path(r.model)
        if not r.within_bound:
            break
    return results
