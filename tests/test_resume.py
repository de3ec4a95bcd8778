"""Resume you can trust: stage-by-stage fingerprints (a fixed recipe keeps the finished stages, a changed input
file is noticed), a lock on the run folder, prune steps that are never reused for another model, and a tiny
recipe killed at many points that always resumes to the same report with every artifact passing parity."""

from __future__ import annotations

import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest

from conftest import TINY_IMGSZ, run_cli
from yolo_compress.errors import InputError
from yolo_compress.io import FolderLock
from yolo_compress.pipeline.runner import run_recipe

QUICK = """name: quick
model: {model}
data: {data}
imgsz: 64
runtimes: [onnxruntime]
bench: {{runs: 0, limit: 8}}
stages:
  - prune: {{ratio: 0.3}}
  - quantize: {{backend: onnxruntime, calib_images: {calib}}}
"""


def _mtimes(run: Path) -> dict[str, int]:
    return {d.name: (d / "stage.json").stat().st_mtime_ns for d in sorted(run.glob("[0-9][0-9]-*"))
            if d.name != "00-input"}


def test_fixed_recipe_keeps_finished_stages_and_changed_inputs_are_redone(tmp_path, tiny_pt, val_as_train_data):
    data = tmp_path / "data.yaml"
    shutil.copy(val_as_train_data, data)
    model = tmp_path / "m.pt"
    shutil.copy(tiny_pt, model)
    rec = tmp_path / "r.yaml"
    rec.write_text(QUICK.format(model=model, data=data, calib=8))
    run = tmp_path / "run"
    run_recipe(rec, run)
    first = _mtimes(run)
    assert set(first) == {"01-prune", "02-quantize"}

    # the recipe is fixed / changed in stage 2 only: stage 1 is kept as it is, stage 2 redone
    rec.write_text(QUICK.format(model=model, data=data, calib=4))
    run_recipe(rec, run, resume=True)
    second = _mtimes(run)
    assert second["01-prune"] == first["01-prune"] and second["02-quantize"] != first["02-quantize"]
    assert json.loads((run / "02-quantize" / "stage.json").read_text())["info"]["quant"]["calib_images"] == 4
    assert json.loads((run / "recipe.yaml").read_text())["stages"][1]["quantize"]["calib_images"] == 4

    # a changed data file: the stage that reads it (INT8 calibration) is redone, pruning (l2) did not read it
    data.write_text(data.read_text() + "# edited\n")
    run_recipe(rec, run, resume=True)
    third = _mtimes(run)
    assert third["01-prune"] == second["01-prune"] and third["02-quantize"] != second["02-quantize"]

    # another model at the same path: everything is redone, the old stages are set aside, not deleted
    from yolo_compress.models import load_model, save_model

    save_model(load_model("yolov8n.yaml", nc=2), model)
    run_recipe(rec, run, resume=True)
    fourth = _mtimes(run)
    assert all(fourth[k] != third[k] for k in fourth)
    assert len(list((run / ".stale").glob("01-prune-*"))) == 1
    assert "00-input" in (run / "rows.json").read_text() and (run / "report.md").exists()


def test_a_second_run_on_a_folder_in_use_is_refused_and_a_dead_holders_lock_is_taken(tmp_path, tiny_pt,
                                                                                     val_as_train_data):
    from yolo_compress.cli import main

    run = tmp_path / "run"
    run.mkdir()
    holder = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"])
    try:
        (run / ".lock").write_text(json.dumps({"pid": holder.pid, "host": socket.gethostname(), "started": "now"}))
        rec = tmp_path / "r.yaml"
        rec.write_text(QUICK.format(model=tiny_pt, data=val_as_train_data, calib=8))
        with pytest.raises(InputError, match=f"'{run}' is in use by process {holder.pid}"):
            run_recipe(rec, run, resume=True)
        assert main(["run", str(rec), "--out", str(run), "--resume"]) != 0
        assert sorted(p.name for p in run.iterdir()) == [".lock"]  # nothing was written
    finally:
        holder.kill()
        holder.wait()
    # the holder is gone (killed): its lock is stale and taken over; released at the end
    with FolderLock(run) as lock:
        assert json.loads(lock.path.read_text())["pid"] == os.getpid()
        with pytest.raises(InputError, match="in use by process"):
            FolderLock(run).acquire()
    assert not (run / ".lock").exists()


def test_prune_steps_are_not_reused_for_another_model(tmp_path, val_as_train_data):
    from yolo_compress.config import PruneConfig
    from yolo_compress.models import load_model, save_model
    from yolo_compress.prune.schedule import prune_iterative
    from yolo_compress.train import FinetuneConfig

    a = save_model(load_model("yolov8n.yaml", nc=3), tmp_path / "a.pt")
    b = save_model(load_model("yolo11n.yaml", nc=3), tmp_path / "b.pt")  # another model: YOLO11n
    cfg = PruneConfig(ratio=0.3, imgsz=TINY_IMGSZ)
    ft = FinetuneConfig(epochs=1, imgsz=TINY_IMGSZ, batch=16, workers=0, fraction=0.25)
    work = tmp_path / "steps"
    data = str(val_as_train_data)
    sa = prune_iterative(a, data, cfg, 1, ft, work)
    kind = lambda p: type(load_model(p).model.model[2]).__name__  # noqa: E731 - C2f (v8) or C3k2 (11)
    assert kind(sa[0].model) == "C2f"
    sb = prune_iterative(b, data, cfg, 1, ft, work)
    assert kind(sb[0].model) == "C3k2", "step 1 of model b is model a's pruned step (reused)"
    assert list(work.glob(".step-1.stale-*"))  # the other model's step set aside, not deleted


KILLED = """name: killed
model: {model}
data: {data}
imgsz: 64
runtimes: [onnxruntime]
bench: {{runs: 50, warmup: 2, limit: 8}}
stages:
  - prune: {{ratio: 0.2}}
  - finetune: {{epochs: 2, batch: 16, workers: 0}}
  - quantize: {{backend: onnxruntime, calib_images: 8}}
  - export: {{format: onnx}}
"""

# where to SIGKILL the run, in the order a run reaches them: (what, glob under the run folder or $TMPDIR)
KILL_POINTS = [
    ("in stage 1 (prune)", "run", ".01-prune.partial"),
    ("between stages 1 and 2", "run", "01-prune/stage.json"),
    ("inside training, before its first checkpoint", "run", ".02-finetune.partial/train/args.yaml"),
    # held by the trainer once epoch 1's last.pt is saved whole ($YOLO_COMPRESS_HOLD_AFTER_EPOCH), so the kill
    # lands after the checkpoint and not while it is written (a cut last.pt restarts the training: test_train.py)
    ("inside training, after epoch 1 of 2 (last.pt)", "hold", "held"),
    ("between stages 2 and 3", "run", "02-finetune/stage.json"),
    ("inside the FP32 export of the INT8 stage", "tmp", "yc-quant-*/*.onnx"),
    ("between stages 3 and 4", "run", "03-quantize/stage.json"),
    ("inside the export stage", "tmp", "yc-export-*"),
    ("inside the bench's FP32 exports", "run", "*/bench/*.onnx"),
    ("after the bench, before the report", "run", "bench.json"),
    ("during the report", "run", "plot.svg"),
]


def _cli(args, env):
    return subprocess.Popen([sys.executable, "-m", "yolo_compress.cli", *args], stdout=subprocess.DEVNULL,
                            stderr=subprocess.PIPE, start_new_session=True, env=env, text=True)


def _kill_at(args, env, roots: dict, where: str, pattern: str, timeout: float = 300) -> bool:
    """Start the CLI; SIGKILL its process group as soon as a *new* match of ``pattern`` appears. False if the
    run ended first."""
    before = set(roots[where].glob(pattern))
    if where == "hold":
        env = {**env, "YOLO_COMPRESS_HOLD_AFTER_EPOCH": f"1:{roots['hold'] / pattern}"}
    proc = _cli(args, env)
    deadline = time.time() + timeout
    while proc.poll() is None and time.time() < deadline:
        if set(roots[where].glob(pattern)) - before:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()
            return True
        time.sleep(0.02)
    err = proc.stderr.read() if proc.stderr else ""
    assert proc.returncode == 0, err
    return False


def _table(run: Path) -> list[list[str]]:
    """The report's deterministic columns: stage, runtime, precision, params, GFLOPs, size, x smaller, mAPs."""
    text = (run / "report.md").read_text()
    first = text[text.index("| stage |"):].split("\n\n")[0]  # the stage table
    lines = [x for x in first.splitlines() if x.startswith("| ") and "---" not in x]
    head = [c.strip() for c in lines[0].strip("|").split("|")]
    keep = [head.index(c) for c in ("stage", "runtime", "precision", "params M", "GFLOPs", "size MB", "x smaller",
                                    "mAP50", "mAP50-95", "Δ mAP50-95 (pt)")]
    return [[[c.strip() for c in x.strip("|").split("|")][i] for i in keep] for x in lines[1:]]


def test_killed_at_many_points_always_resumes_to_the_same_report(tmp_path, default_model, few_images_data):
    """prune -> fine-tune (2 epochs) -> INT8 -> export, SIGKILLed at every point a run passes (in a stage, between
    stages, in training after its first epoch, in the bench, in the report) and resumed each time: finished stages
    are never redone, training continues, and the last resume's report equals an uninterrupted run's, rebuilds
    from its measurements alone, renders in Chromium, and every artifact it measured passes parity."""
    from browser import check_report_page
    from yolo_compress.export.exporter import verify

    rec = tmp_path / "r.yaml"
    rec.write_text(KILLED.format(model=default_model, data=few_images_data))
    tmp = tmp_path / "tmp"
    tmp.mkdir()
    env = {**os.environ, "YOLO_OFFLINE": "1", "YOLO_COMPRESS_PROGRESS": "0", "TMPDIR": str(tmp)}
    ref = tmp_path / "ref"  # the uninterrupted run, by the same CLI
    for extra in ([], ["--resume"]):
        if extra:  # measured again by a process that only benches, as the last resume below does: the INT8 mAP
            (ref / "bench.json").unlink()  # of a process that trained first differs in the 4th decimal (open)
        r = subprocess.run([sys.executable, "-m", "yolo_compress.cli", "run", str(rec), "--out", str(ref), "--threads",
                            "1", *extra], capture_output=True, text=True, env=env, timeout=600)
        assert r.returncode == 0, r.stderr
    run = tmp_path / "run"
    args = ["run", str(rec), "--out", str(run), "--threads", "1"]
    killed, stage1, epoch1 = [], None, None
    hold = tmp_path / "hold"
    hold.mkdir()
    for what, where, pattern in KILL_POINTS:
        if _kill_at(args + (["--resume"] if run.exists() else []), env, {"run": run, "tmp": tmp, "hold": hold},
                    where, pattern):
            killed.append(what)
            if what.startswith("inside training, after epoch 1"):  # results.csv is written before last.pt
                epoch1 = (run / ".02-finetune.partial" / "train" / "results.csv").read_text().splitlines()[1]
        if stage1 is None and (run / "01-prune" / "stage.json").exists():  # stage 1 as first finished
            stage1 = ((run / "01-prune" / "model.pt").stat().st_mtime_ns, (run / "01-prune" / "stage.json").read_text())
    assert len(killed) >= 10, f"killed at {killed} only"
    assert "inside training, after epoch 1 of 2 (last.pt)" in killed, killed  # so the resume continued a training
    r = subprocess.run([sys.executable, "-m", "yolo_compress.cli", *args, "--resume"], capture_output=True,
                       text=True, env=env, timeout=600)
    assert r.returncode == 0, r.stderr
    assert "[01-prune] done earlier" in r.stdout
    # stage 1 was never redone by the resumes after it finished, and training ran both epochs across its kills
    assert ((run / "01-prune" / "model.pt").stat().st_mtime_ns, (run / "01-prune" / "stage.json").read_text()) == stage1
    assert json.loads((run / "02-finetune" / "stage.json").read_text())["info"]["epochs"] == 2
    epochs = (run / "02-finetune" / "train" / "results.csv").read_text().splitlines()[1:]
    assert [e.split(",")[0].strip() for e in epochs] == ["1", "2"]
    assert epochs[0] == epoch1  # epoch 1 is the one trained before the kill: the resume continued, not restarted
    assert _table(run) == _table(ref)
    md = (run / "report.md").read_text()
    assert "03-quantize" in md and "int8" in md and "plot.svg" in md
    page = (run / "report.html").read_text()
    assert "<svg" in page and "Pareto front" in page and 'id="stages"' in page
    check_report_page(run / "report.html", tmp_path / "chromium", rows=5)
    # the report rebuilds from the measurements alone
    (run / "report.md").unlink()
    r = run_cli("report", str(run))
    assert r.returncode == 0 and (run / "report.md").read_text() == md, r.stderr
    # a finished run is not silently overwritten (a changed recipe resumes stage by stage: the test above)
    r = run_cli(*args)
    assert r.returncode != 0 and "--resume" in r.stderr
    rows = json.loads((run / "rows.json").read_text())
    assert [x["stage"] for x in rows] == ["00-input", "01-prune", "02-finetune", "03-quantize", "04-export"]
    sources = {"00-input": default_model, "01-prune": run / "01-prune/model.pt",
               "02-finetune": run / "02-finetune/model.pt", "03-quantize": run / "02-finetune/model.pt",
               "04-export": run / "02-finetune/model.pt"}
    for x in rows:  # every artifact the report measured reproduces the checkpoint it came from
        rep = verify(run / x["artifact"], sources[x["stage"]], imgsz=64)
        assert rep.passed, (x, rep.summary())
    assert not list(run.glob(".*.partial")) and not (run / ".lock").exists()


def test_bench_export_cache_is_dropped_when_its_source_changes(tmp_path, tiny_pt):
    from yolo_compress.pipeline.runner import _bench_cache
    from yolo_compress.pipeline.recipe import Recipe

    model = tmp_path / "m.pt"
    shutil.copy(tiny_pt, model)
    r = Recipe(None, str(model), "data.yaml", 64, ())
    cached = tmp_path / "run" / "00-input" / "bench" / "model.onnx"
    cached.parent.mkdir(parents=True)
    cached.write_text("an export of another model")  # no fingerprint: made by an older run, or another model
    _bench_cache(r, tmp_path / "run", [])
    assert not cached.exists()
    cached.write_text("an export of m.pt")
    _bench_cache(r, tmp_path / "run", [])  # same source and imgsz: kept
    assert cached.exists()
    model.write_bytes(model.read_bytes() + b"\0")  # the source changed
    _bench_cache(r, tmp_path / "run", [])
    assert not cached.exists()
