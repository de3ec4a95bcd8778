"""Run a recipe: the stages in order, one folder per stage, resumable, every stage measured the same way.

Run folder::

    RUN/recipe.yaml               the validated recipe (a resumed run must match it)
    RUN/01-prune/model.pt         a stage's output (model.pt, or its deployable artifact)
    RUN/01-prune/stage.json       config, result summary, wall time: written last, marks the stage done
    RUN/01-prune/bench/           FP32 exports of a .pt stage for each benchmarked runtime
    RUN/.02-distill.partial/      a stage in progress (training resumes from here after an interruption)
    RUN/bench.json, report.md, report.html

A stage runs in ``.NN-name.partial`` and is renamed to ``NN-name`` when complete (atomic on one file
system), so a killed run never leaves a half-written stage that looks finished.
"""

from __future__ import annotations

import json
import os
import shutil
import time
from dataclasses import dataclass
from pathlib import Path

from ..errors import ConfigError, InputError
from ..io import atomic_write_text
from .recipe import Recipe, Stage, load_recipe, stage_configs


@dataclass
class StageRecord:
    stage: Stage
    folder: Path
    output: Path  # model.pt or the artifact
    produces: str  # pt | artifact
    info: dict

    def as_dict(self) -> dict:
        return {"index": self.stage.index, "kind": self.stage.kind, "options": self.stage.options,
                "output": self.output.name, "produces": self.produces, "info": self.info}


def _json_default(o):
    return str(o)


def _check_inputs(r: Recipe) -> None:
    from ..data import load_data
    from ..models import load_model

    load_model(r.model)
    needs_train = any(s.kind in ("finetune", "distill") or (s.kind == "quantize" and s.options.get("mode", "ptq")
                                                                 in ("ptq", "qat")) for s in r.stages)
    load_data(r.data, splits=("train", "val") if needs_train else ("val",))


def run_recipe(recipe: str | os.PathLike, out: str | os.PathLike | None = None, resume: bool = False,
               console=None, threads: int | None = None, overrides: dict | None = None) -> Path:
    """Run (or resume) ``recipe`` into ``out``; returns the run folder with the report. ``overrides``
    (``model``, ``data``, ``teacher``, ``imgsz``) replace the recipe's values."""
    from ..demo import new_run_dir

    r = load_recipe(recipe, overrides=overrides)
    _check_inputs(r)
    if out is not None and not resume and Path(out).exists() and any(Path(out).iterdir()) \
            and not (Path(out) / "recipe.yaml").exists():
        raise ConfigError(f"--out '{out}' is a non-empty folder that is not a run; pick a new folder")
    if out is None and resume:
        raise ConfigError("--resume needs --out RUN_DIR (the folder of the run to continue)")
    run = Path(out) if out else new_run_dir(Path("runs"), r.name)
    saved = run / "recipe.yaml"
    normalized = json.dumps(r.as_dict(), indent=2, default=_json_default)
    if saved.exists():
        if not resume:
            raise ConfigError(f"run folder '{run}' already holds a run; pass --resume to continue it or another --out")
        if saved.read_text() != normalized:
            raise ConfigError(f"recipe changed since run '{run}' started; start a new run (another --out)")
    elif resume and run.exists() and any(run.iterdir()):
        raise ConfigError(f"'{run}' is not a yolo-compress run folder (no recipe.yaml); check --out")
    run.mkdir(parents=True, exist_ok=True)
    atomic_write_text(saved, normalized)

    records: list[StageRecord] = []
    current = Path(r.model)
    for stage in r.stages:
        rec = _run_stage(r, stage, current, run, console, threads)
        records.append(rec)
        if rec.produces == "pt":
            current = rec.output
    from .report import bench_run, write_report

    bench_run(r, run, records, console=console, threads=threads)
    write_report(run)
    return run


def _say(console, msg: str) -> None:
    if console is not None:
        console.print(msg, highlight=False)


def _run_stage(r: Recipe, stage: Stage, current: Path, run: Path, console, threads) -> StageRecord:
    from .recipe import STAGES

    done = run / stage.label
    if (done / "stage.json").exists():
        info = json.loads((done / "stage.json").read_text())
        _say(console, f"[{stage.label}] done earlier: {info['output']} (skipped)")
        return StageRecord(stage, done, done / info["output"], info["produces"], info["info"])
    work = run / f".{stage.label}.partial"
    work.mkdir(exist_ok=True)
    _say(console, f"[{stage.label}] running on {current.name} ...")
    t0 = time.time()
    output, info = STAGE_RUNNERS[stage.kind](r, stage, current, work, threads)
    info["wall_s"] = round(time.time() - t0, 1)
    rec = StageRecord(stage, done, done / output.name, STAGES[stage.kind].produces, info)
    atomic_write_text(work / "stage.json", json.dumps(rec.as_dict(), indent=2, default=_json_default))
    if done.exists():  # a stale folder without stage.json (cannot normally happen): keep it aside
        shutil.move(str(done), str(run / f".{stage.label}.stale-{int(time.time())}"))
    os.replace(work, done)
    _say(console, f"[{stage.label}] done in {info['wall_s']:.0f} s: {rec.output}")
    return rec


# --------------------------------------------------------------------------------------- stages
def _prune(r: Recipe, stage: Stage, current: Path, work: Path, threads):
    from ..prune import prune_checkpoint

    cfg = stage_configs(stage, r.imgsz, r.data)["prune"]
    dest = work / "model.pt"
    if dest.exists():
        dest.unlink()
    res, _ = prune_checkpoint(current, cfg, dest)
    return dest, {"summary": res.summary()}


def _train_result(train_dir: Path, work: Path) -> tuple[Path, dict]:
    dest = work / "model.pt"
    shutil.copy2(train_dir / "weights" / "last.pt", dest)  # the last epoch: val is the test split
    rows = (train_dir / "results.csv").read_text().splitlines()
    head = [h.strip() for h in rows[0].split(",")]
    last = dict(zip(head, (v.strip() for v in rows[-1].split(","))))
    return dest, {"epochs": int(float(last.get("epoch", 0))), "val_map50_95": float(last.get("metrics/mAP50-95(B)", "nan"))}


def _finetune(r: Recipe, stage: Stage, current: Path, work: Path, threads):
    from ..train import finetune, finished_run

    cfg = stage_configs(stage, r.imgsz, r.data)["train"]
    train_dir = (work / "train").resolve()
    if not finished_run(train_dir, cfg.epochs):
        finetune(current, r.data, cfg, train_dir, resume=(train_dir / "weights" / "last.pt").exists())
    return _train_result(train_dir, work)


def _distill(r: Recipe, stage: Stage, current: Path, work: Path, threads):
    from ..distill.distill import distill
    from ..train import finished_run

    c = stage_configs(stage, r.imgsz, r.data)
    teacher = r.model if r.teacher == "input" else r.teacher
    train_dir = (work / "train").resolve()
    if not finished_run(train_dir, c["train"].epochs):
        distill(current, teacher, r.data, c["distill"], c["train"], train_dir,
                resume=(train_dir / "weights" / "last.pt").exists())
    dest, info = _train_result(train_dir, work)
    info["teacher"] = str(teacher)
    return dest, info


def _quantize(r: Recipe, stage: Stage, current: Path, work: Path, threads):
    from ..quant.quantize import SUFFIX, quantize

    cfg = stage_configs(stage, r.imgsz, r.data)["quantize"]
    dest = work / f"model{SUFFIX[(cfg.backend, cfg.mode)]}" if (cfg.backend, cfg.mode) in SUFFIX else work / "model"
    res = quantize(current, cfg, dest, threads=threads)
    return dest, {"quant": res.as_dict()}


def _export(r: Recipe, stage: Stage, current: Path, work: Path, threads):
    from ..export.exporter import default_output, export

    cfg = stage_configs(stage, r.imgsz, r.data)["export"]
    dest = default_output(work / "model.pt", cfg.format)
    res = export(current, cfg, out=dest, threads=threads)
    return dest, {"parity": res.parity.as_dict() if res.parity else None}


def _reparam(r: Recipe, stage: Stage, current: Path, work: Path, threads):
    from ..reparam import reparam_checkpoint

    tol = stage_configs(stage, r.imgsz, r.data)["tolerance"]
    res, dest = reparam_checkpoint(current, work / "model.pt", r.imgsz, tol)
    return dest, {"summary": res.summary()}


def _surgery(r: Recipe, stage: Stage, current: Path, work: Path, threads):
    from ..surgery import surgery_checkpoint

    c = stage_configs(stage, r.imgsz, r.data)
    res, dest = surgery_checkpoint(current, work / "model.pt", c["kind"], c["layers"], r.imgsz)
    return dest, {"summary": res.summary(), "fit_error": res.replaced}


STAGE_RUNNERS = {"surgery": _surgery, "prune": _prune, "finetune": _finetune, "distill": _distill, "reparam": _reparam,
                 "quantize": _quantize, "export": _export}


def check_runner_registry() -> None:
    from .recipe import STAGES

    missing = set(STAGES) - set(STAGE_RUNNERS)
    if missing:  # pragma: no cover - a developer error caught by the tests
        raise InputError(f"stages without a runner: {sorted(missing)}")
