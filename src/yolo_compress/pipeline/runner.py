"""Run a recipe: the stages in order, one folder per stage, resumable stage by stage, every stage measured
the same way.

Run folder::

    RUN/.lock                     pid + host of the process using the folder (a second run is refused)
    RUN/recipe.yaml               the recipe as last run (normalized JSON; the report reads it)
    RUN/01-prune/model.pt         a stage's output (model.pt, or its deployable artifact)
    RUN/01-prune/stage.json       config, fingerprint, result summary, wall time: written last, marks it done
    RUN/01-prune/bench/           FP32 exports of a .pt stage for each benchmarked runtime (a cache, fingerprinted)
    RUN/.02-distill.partial/      a stage in progress (training resumes from here after an interruption)
    RUN/.stale/                   stage folders set aside because their inputs or config changed
    RUN/device.json               the device profile this run made (latency budget without device_profile:)
    RUN/decision.json, device.png the latency-budget decision and its plot (recipes with 'auto' stages)
    RUN/bench.json, report.md, report.html

A stage runs in ``.NN-name.partial`` and is renamed to ``NN-name`` when complete (atomic on one file
system), so a killed run never leaves a half-written stage that looks finished.

Resume (``--resume``) compares stage by stage: a stage's fingerprint is the sha256 of its kind, its typed
config, the bytes of its input model and of the other files it reads (data YAML and the dataset's files,
teacher). A finished stage whose fingerprint is unchanged is kept; one whose fingerprint changed (a fixed
recipe, a replaced model / data / teacher file) is set aside under ``.stale/`` and redone, and so is every
later stage whose input changed with it. The recipe itself may change between runs. A stage whose options
say ``auto`` is fingerprinted with its resolved config *and* the device profile's bytes: a new profile (or
budget) that moves the decision redoes it.
"""

from __future__ import annotations

import json
import os
import shutil
import time
from dataclasses import dataclass
from pathlib import Path

from ..errors import ConfigError, YoloCompressError
from ..fingerprints import data_hash, fingerprint
from ..fingerprints import hash_file as _hash
from ..io import FolderLock, atomic_write_text, check_not_input
from .recipe import Recipe, Stage, load_recipe, locate
from .stages import STAGES, Context, budget_decision, budget_stages, check_decision, inputs_load


@dataclass
class StageRecord:
    stage: Stage
    folder: Path
    output: Path  # model.pt or the artifact
    produces: str  # pt | artifact
    info: dict
    fingerprint: str = ""

    def as_dict(self) -> dict:
        return {"index": self.stage.index, "kind": self.stage.kind, "options": self.stage.options,
                "output": self.output.name, "produces": self.produces, "info": self.info,
                "fingerprint": self.fingerprint}


def _json_default(o):
    return str(o)


def _check_inputs(r: Recipe) -> None:
    inputs_load(r, r.context())


def stage_fingerprint(stage: Stage, input_model: Path, ctx: Context, config=None) -> tuple[str, dict]:
    """(fingerprint, its parts): kind, typed config (``config``: as resolved from the latency budget), input
    model bytes, the other files the stage reads (for an 'auto' stage: the device profile)."""
    cfg = stage.config if config is None else config
    parts = {"kind": stage.kind, "config": getattr(cfg, "fingerprint_dict", cfg.as_dict)(), "input": _hash(input_model)}
    for name, path in sorted(STAGES[stage.kind].inputs(stage.config, ctx).items()):
        if path:
            parts[name] = data_hash(path) if name == "data" else _hash(path)
    return fingerprint(**parts), parts


def _set_aside(run: Path, folder: Path, console, why: str) -> None:
    dest = run / ".stale" / f"{folder.name.lstrip('.')}-{time.strftime('%Y%m%d-%H%M%S')}-{os.getpid()}"
    dest.parent.mkdir(exist_ok=True)
    os.replace(folder, dest)
    _say(console, f"[{folder.name.lstrip('.').removesuffix('.partial')}] {why}: set aside as {dest.relative_to(run)}, redone")


def run_recipe(recipe: str | os.PathLike, out: str | os.PathLike | None = None, resume: bool = False,
               console=None, threads: int | None = None, overrides: dict | None = None) -> Path:
    """Run (or resume) ``recipe`` into ``out``; returns the run folder with the report. ``overrides``
    (``model``, ``data``, ``teacher``, ``imgsz``; ``epochs``: of every training stage) replace the recipe's values. Every check runs before any
    work (:func:`~yolo_compress.pipeline.recipe.load_recipe`)."""
    from ..io import new_run_dir

    r = load_recipe(recipe, overrides=overrides, check=True)
    if out is None and resume:
        raise ConfigError("--resume needs --out RUN_DIR (the folder of the run to continue)")
    run = Path(out) if out else new_run_dir(Path("runs"), r.name)
    check_not_input(run, {"model": r.model, "data YAML": r.data, "teacher": r.teacher, "recipe": r.path})
    with FolderLock(run):  # first: a folder another run is using is refused as such, whatever it holds
        held = [p for p in run.iterdir() if p.name != ".lock"]
        if held and not (run / "recipe.yaml").exists():
            if resume:
                raise ConfigError(f"'{run}' is not a yolo-compress run folder (no recipe.yaml); check --out")
            raise ConfigError(f"--out '{run}' is a non-empty folder that is not a run; pick a new folder")
        saved = run / "recipe.yaml"
        if saved.exists() and not resume:
            raise ConfigError(f"run folder '{run}' already holds a run; pass --resume to continue it or another --out")
        normalized = json.dumps(r.as_dict(), indent=2, default=_json_default)
        if saved.exists() and saved.read_text() != normalized:
            _say(console, "recipe changed since this run started: finished stages whose inputs and config are "
                          "unchanged are kept, the others redone")
        atomic_write_text(saved, normalized)
        if r.holdout:  # every stage reads a copy of the data whose train split leaves the held-out images out
            from ..data import holdout_data

            held = holdout_data(r.data, r.holdout, run / "holdout")
            _say(console, f"holdout: {r.holdout} train images left out of every stage's training "
                          f"({held.parent / 'holdout.txt'}); max_drop quantize stages measure on them")
            r = load_recipe(recipe, overrides={**(overrides or {}), "data": str(held)}, check=False)
        ctx = r.context(threads, console)
        labels = {s.label for s in r.stages}
        for old in sorted(run.glob("[0-9][0-9]-*")):  # stages the recipe no longer has (renumbered, removed)
            if old.is_dir() and old.name not in labels and old.name != "00-input":
                _set_aside(run, old, console, "not in the recipe any more")
        plan = _plan(r, run, ctx, threads)  # the latency-budget decision: before the first stage
        records: list[StageRecord] = []
        current = Path(r.model)
        for stage, cfg in plan:
            if cfg is None:
                if (run / stage.label).exists():
                    _set_aside(run, run / stage.label, console, "skipped by the latency-budget decision")
                _say(console, f"[{stage.label}] skipped: the latency-budget decision does not need it "
                              f"({ctx.decision.candidate}, see decision.json)")
                continue
            rec = _run_stage(stage, current, run, ctx, cfg)
            records.append(rec)
            if rec.produces == "pt":
                current = rec.output
        from .report import bench_run, write_report

        _bench_cache(r, run, records)
        bench_run(r, run, records, console=console, threads=threads)
        write_report(run)
    return run


def _plan(r: Recipe, run: Path, ctx: Context, threads: int | None) -> list[tuple[Stage, object]]:
    """[(stage, config to run or None to skip)]. With 'auto' stages: the device profile (``device_profile:``,
    else this machine profiled once into RUN/device.json and reused on resume), the decision, every resolved
    stage's check; RUN/decision.json and RUN/device.png for the report. Raises before any stage runs."""
    stale = [run / "decision.json", run / "device.png"]
    if not budget_stages(r):
        for f in stale:  # a decision of an earlier version of the recipe does not describe this run
            f.unlink(missing_ok=True)
        return [(s, s.config) for s in r.stages]
    console = ctx.console
    prof = Path(r.device_profile) if r.device_profile else run / "device.json"
    if not prof.exists():
        from ..profile import profile_device

        cand = run / ".device-candidates"
        bt = threads or r.bench.get("threads")
        _say(console, f"profiling this machine for the latency budget: {Path(r.model).name} at imgsz {r.imgsz}, "
                      f"{', '.join(r.runtimes)} x FP32/INT8{f', {bt} thread(s)' if bt else ''} -> {prof.name}")
        try:
            profile_device(r.model, r.imgsz, prof, workdir=cand, runtimes=r.runtimes, threads=bt,
                           log=lambda m: _say(console, f"  {m}"), command="yolo-compress run (latency budget)")
        finally:
            shutil.rmtree(cand, ignore_errors=True)
    try:
        decision = budget_decision(r, prof)
        plan = check_decision(r, ctx, decision, prof)
    except YoloCompressError as e:  # e.g. unattainable here: one line at the budget's file:line, no stage run
        key = getattr(e, "key", ())
        if key and key[0] != "device_profile":
            e.args = (f"{locate(r, *key)}: {e}" + ("" if r.device_profile else
                      f" (this machine's profile is kept in {prof}: fix the recipe and --resume)"),)
        raise e from None
    from ..profile import Budget, plot_profile

    atomic_write_text(run / "decision.json", json.dumps({**decision.as_dict(), "profile": str(prof),
                                                         "summary": decision.summary()}, indent=2,
                                                        default=_json_default))
    plot_profile(prof, run / "device.png", Budget.from_targets(r.targets), decision)
    _say(console, decision.summary())
    return plan


def _bench_cache(r: Recipe, run: Path, records: list[StageRecord]) -> None:
    """``FOLDER/bench/`` holds FP32 exports of a .pt for the bench: kept only while the .pt and imgsz it was
    made from are the same (``bench/fingerprint.json``), else removed and re-exported."""
    for folder, pt in [(run / "00-input", Path(r.model))] + [(x.folder, x.output) for x in records if x.produces == "pt"]:
        b = folder / "bench"
        fp = fingerprint(pt=_hash(pt), imgsz=r.imgsz)
        marker = b / "fingerprint.json"
        if b.exists() and (not marker.exists() or json.loads(marker.read_text()).get("fingerprint") != fp):
            shutil.rmtree(b)
        atomic_write_text(marker, json.dumps({"fingerprint": fp, "source": str(pt)}))


def _say(console, msg: str) -> None:
    if console is not None:
        console.print(msg, highlight=False)


def _run_stage(stage: Stage, current: Path, run: Path, ctx: Context, cfg=None) -> StageRecord:
    console = ctx.console
    spec = STAGES[stage.kind]
    cfg = stage.config if cfg is None else cfg
    fp, parts = stage_fingerprint(stage, current, ctx, cfg)
    done = run / stage.label
    if (done / "stage.json").exists():
        info = json.loads((done / "stage.json").read_text())
        if info.get("fingerprint") == fp and (done / info["output"]).exists():
            _say(console, f"[{stage.label}] done earlier: {info['output']} (skipped; inputs and config unchanged)")
            return StageRecord(stage, done, done / info["output"], info["produces"], info["info"], fp)
        _set_aside(run, done, console, _what_changed(info.get("parts") or {}, parts))
    elif done.exists():  # a stage folder without stage.json (cannot normally happen)
        _set_aside(run, done, console, "incomplete")
    work = run / f".{stage.label}.partial"
    mark = work / "fingerprint.json"
    if work.exists() and (not mark.exists() or json.loads(mark.read_text()).get("fingerprint") != fp):
        _set_aside(run, work, console, "interrupted with other inputs or config")
    work.mkdir(exist_ok=True)
    if not mark.exists():
        atomic_write_text(mark, json.dumps({"fingerprint": fp, "parts": parts}, indent=2, default=_json_default))
    _say(console, f"[{stage.label}] running on {current.name} ...")
    t0 = time.time()
    ctx.work = work
    try:
        output, info = spec.run(current, cfg, ctx)
    finally:
        ctx.work = None
    info["wall_s"] = round(time.time() - t0, 1)
    rec = StageRecord(stage, done, done / output.name, spec.produces, info, fp)
    atomic_write_text(work / "stage.json", json.dumps({**rec.as_dict(), "parts": parts}, indent=2,
                                                      default=_json_default))
    os.replace(work, done)
    _say(console, f"[{stage.label}] done in {info['wall_s']:.0f} s: {rec.output}")
    return rec


def _what_changed(old: dict, new: dict) -> str:
    if not old:
        return "ran before fingerprints were kept"
    names = {"input": "input model", "config": "config", "data": "data", "teacher": "teacher", "kind": "stage",
             "device_profile": "device profile"}
    diff = [names.get(k, k) for k in new if old.get(k) != new.get(k)]
    return f"{', '.join(diff) or 'fingerprint'} changed since it ran"
