"""Shared by the benchmark scripts: resumable training into a run folder, and one bench run over rows."""

from __future__ import annotations

import os
import re
import shutil
from pathlib import Path

from yolo_compress.api import BenchConfig, ExportConfig, bench, export
from yolo_compress.train import FinetuneConfig, finetune, finished_run


def trained(model: Path, data: Path, cfg: FinetuneConfig, run: Path) -> Path:
    """Fine-tune ``model`` into ``run`` unless that run already finished (an interrupted one continues);
    returns the *last* epoch's weights: the val split is also our test split, so Ultralytics' best.pt would
    be selected on it. The finished weights are kept as ``run/final.pt`` (see ``kept_run``)."""
    return kept_run(run, cfg.epochs, lambda run, resume: finetune(model, data, cfg, run, resume=resume))


RESUME = "resume-last.pt"  # an unfinished run's committed resume point (benchmarks/snapshot_runs.py)
SLIM_OVER = 50 * 2**20  # bytes: a bigger last.pt (YOLOv8s: 112 MB) is snapshotted without its optimizer state


def write_atomic(dest: Path, src: Path | None = None, text: str | None = None) -> None:
    tmp = dest.with_name(f".{dest.name}.tmp")
    if src is not None:
        shutil.copyfile(src, tmp)
    else:
        tmp.write_text(text or "")
    os.replace(tmp, dest)


def write_snapshot(last: Path, snap: Path) -> str:
    """Copy ``last`` (this run's own Ultralytics last.pt) to ``snap`` atomically. Over ``SLIM_OVER`` the copy
    drops the optimizer's per-parameter state, keeping its param groups (Ultralytics resumes only a checkpoint
    whose optimizer entry is not None; the moments then start afresh, at the saved epoch, EMA and learning-rate
    schedule), so that a snapshot stays committable (YOLOv8s: 112 -> 22.5 MB)."""
    if last.stat().st_size <= SLIM_OVER:
        write_atomic(snap, src=last)
        return "full"
    import torch

    ckpt = torch.load(last, map_location="cpu", weights_only=False)  # our own training's file
    ckpt["optimizer"] = {"state": {}, "param_groups": ckpt["optimizer"]["param_groups"]}
    tmp = snap.with_name(f".{snap.name}.tmp")
    torch.save(ckpt, tmp)
    os.replace(tmp, snap)
    return "without the optimizer's moments (resume restarts them)"


def _check_snapshot(snap: Path, epochs: int) -> None:
    """A committed resume point must be a run of the length this command trains (the recovery rows also check
    their whole configuration through row.json): resuming a 20-epoch snapshot as a 60-epoch row would mix two
    schedules in one curve. One line and exit otherwise, the snapshot left as it is."""
    from yolo_compress.io import checkpoint_state

    st = checkpoint_state(snap)  # reads the plain values only: no code of the file runs
    if st is None:
        raise SystemExit(f"error: {snap} is not a readable checkpoint; fix: delete it to train the row from its start")
    if st["epochs"] != epochs:
        raise SystemExit(f"error: {snap} resumes a run of {st['epochs']} epochs, this command trains {epochs}; "
                         f"fix: run the command that made it, or delete the snapshot to start this row over")


def kept_run(run: Path, epochs: int, train) -> Path:
    """``run/weights/last.pt`` of a training of ``epochs`` epochs: ``train(run, resume)`` runs unless it already
    finished. A finished run's weights are also kept as ``run/final.pt`` (optimizer stripped, 2-6 MB for a
    YOLOv8n; not git-ignored, so they are committed with the row's results.csv): on a fresh checkout, where
    weights/ is absent, they stand for the finished run and nothing is trained again. An unfinished run whose
    weights/ is absent resumes from its committed ``run/resume-last.pt`` (written by benchmarks/snapshot_runs.py
    before a session ends), which is deleted once the run has finished."""
    run = run.resolve()
    last = run / "weights" / "last.pt"
    if not kept_finished(run, epochs):
        _refuse_retrain(run, epochs, last)
        snap = run / RESUME
        if not last.exists() and snap.exists():  # a fresh checkout: weights/ is not in git
            _check_snapshot(snap, epochs)
            last.parent.mkdir(parents=True, exist_ok=True)
            write_atomic(last, src=snap)
            print(f"restored {last} from the committed snapshot {snap}")
        train(run, last.exists())
        if kept_finished(run, epochs):  # keeps the new final.pt
            snap.unlink(missing_ok=True)  # final.pt replaces the resume point
    return last


def unfinished_runs(root: Path) -> list[Path]:
    """Run folders under ``root`` with a weights/last.pt that is not finished (Ultralytics marks a finished one
    with epoch -1 and no optimizer) and no kept final.pt: trainings in progress, whose weights a fresh checkout
    would not have."""
    from yolo_compress.io import checkpoint_state

    def running(last: Path) -> bool:
        st = checkpoint_state(last)  # None: unreadable (cut mid-write), which no resume could use either
        return st is not None and (st["epoch"] != -1 or st["has_optimizer"])

    return sorted(p.parent.parent for p in root.rglob("weights/last.pt")
                  if not (p.parent.parent / "final.pt").exists() and running(p))


def epochs_logged(run: Path) -> int:
    """Epochs ``run/results.csv`` holds (Ultralytics writes one line an epoch after its header); 0 without one."""
    csv = run / "results.csv"
    return sum(1 for line in csv.read_text().splitlines()[1:] if line.strip()) if csv.exists() else 0


def _refuse_retrain(run: Path, epochs: int, last: Path) -> None:
    """A run whose committed results.csv already holds every epoch but whose weights were never kept (rows
    trained before final.pt existed): training it again would overwrite that committed curve with another
    draw, so stop with one line unless ``YC_RETRAIN=1`` asks for exactly that."""
    csv = run / "results.csv"
    if last.exists() or not csv.exists() or os.environ.get("YC_RETRAIN") == "1":
        return
    rows = epochs_logged(run)
    if rows >= epochs:
        raise SystemExit(f"error: {run} finished {rows} epochs (results.csv) but its weights were not kept "
                         f"(no final.pt); fix: bench the other rows with --tag, or set YC_RETRAIN=1 to train it "
                         f"again and replace its results")


def kept_finished(run: Path, epochs: int) -> Path | None:
    """``run/weights/last.pt`` if ``run`` finished its ``epochs``, else None; lets a caller skip the work that only
    feeds the training (a cut, a scan). Restores weights/last.pt from the kept ``run/final.pt`` on a fresh
    checkout, and keeps a finished run's last.pt as final.pt (an unfinished one is never kept)."""
    run = run.resolve()
    last, kept = run / "weights" / "last.pt", run / "final.pt"
    if not last.exists() and kept.exists():
        last.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(kept, last)  # with its mtime: the restored file is not newer than final.pt
    done = finished_run(run, epochs)
    if done and (not kept.exists() or kept.stat().st_mtime < last.stat().st_mtime):
        tmp = kept.with_name(".final.pt.tmp")
        shutil.copy2(last, tmp)
        os.replace(tmp, kept)
    return done


def bench_rows(rows: list[tuple[Path, str]], out: Path, data: Path, imgsz: int, rounds: int = 3,
               bench_dir: Path | None = None, nms_free: bool = False):
    """Export every checkpoint row to ONNX in ``out`` (once: existing exports are reused) and bench all rows in
    one run (bench.md / bench.json in ``bench_dir``, default ``out``); rows that are not .pt checkpoints are
    benched as they are. ``nms_free``: YOLOv10 / YOLO26 rows exported NMS-free (``<row>-nmsfree.onnx``)."""
    from rich.console import Console

    onnx = []
    for pt, name in rows:  # one ONNX per row name, re-made when its checkpoint is newer
        if Path(pt).suffix != ".pt":  # an artifact made elsewhere (INT8 ONNX, an OpenVINO folder): benched as it is
            onnx.append(Path(pt))
            continue
        dest = out / (re.sub(r"[^A-Za-z0-9]+", "-", name).strip("-") + ("-nmsfree" if nms_free else "") + ".onnx")
        if not dest.exists() or dest.stat().st_mtime < Path(pt).stat().st_mtime:
            export(pt, ExportConfig(format="onnx", imgsz=imgsz, nms_free=nms_free), out=dest)
        onnx.append(dest)
    console = Console(width=200)
    report = bench(onnx, BenchConfig(data=str(data), imgsz=imgsz, threads=2, runs=100, rounds=rounds),
                   names=[n for _, n in rows], out_dir=bench_dir or out, console=console)
    report.print(console)
    return report


def grouped(rep, rows: list[tuple]) -> tuple:
    """The bench report's rows grouped by each row's group name (``rows``: (path, name, group), in bench order; the
    first group is the input): the input's bench row, and per group, in order, (group, bench rows, mAP50-95 values,
    their mean, the mean latency ratio to the input's)."""
    import statistics

    by: dict[str, list] = {}
    for r, row in zip(rep.rows, rows):
        by.setdefault(row[2], []).append(r)
    inp = next(iter(by.values()))[0]
    out = []
    for g, rs in by.items():
        m = [r.eval.map50_95 for r in rs]
        out.append((g, rs, m, statistics.mean(m), statistics.mean(r.timing.p50_ms / inp.timing.p50_ms for r in rs)))
    return inp, out
