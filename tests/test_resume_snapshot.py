"""An unfinished benchmark row resumes on a fresh checkout: weights/ is git-ignored, so before a session ends
benchmarks/snapshot_runs.py copies each unfinished run's last.pt to the committed ``resume-last.pt``, and
``_common.kept_run`` restores it (and drops it once the run has finished and kept its final.pt)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import torch

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "benchmarks"))


def _ckpt(path: Path, epoch: int, epochs: int = 10) -> None:
    """The top-level values of an Ultralytics last.pt that finished_run reads: mid-run (epoch, optimizer) or
    finished (epoch -1, optimizer stripped)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    opt = None if epoch == -1 else {"state": {}, "param_groups": [{"lr": 0.01}]}
    torch.save({"epoch": epoch, "optimizer": opt, "train_args": {"epochs": epochs, "imgsz": 64}}, path)


def test_snapshot_then_fresh_checkout_resumes_and_drops_the_snapshot(tmp_path):
    import _common
    import snapshot_runs

    root = tmp_path / "results"
    run, done = root / "study/f-sens-s1", root / "study/base-s0"
    _ckpt(run / "weights/last.pt", epoch=4)
    (run / "results.csv").write_text("epoch,x\n" + "".join(f"{i},0\n" for i in range(1, 6)))
    _ckpt(done / "weights/last.pt", epoch=-1)
    _ckpt(done / "final.pt", epoch=-1)
    old = root / "study/a-s0"  # finished before final.pt was kept: nothing to resume either
    _ckpt(old / "weights/last.pt", epoch=-1)
    (root / "study/cut-s0/weights").mkdir(parents=True)
    (root / "study/cut-s0/weights/last.pt").write_bytes(b"PK")  # cut mid-write: no resume could use it
    assert _common.unfinished_runs(root) == [run]

    assert snapshot_runs.main([str(root)]) == 0
    snap = run / _common.RESUME
    assert snap.read_bytes() == (run / "weights/last.pt").read_bytes()
    assert not (done / _common.RESUME).exists()  # a finished (kept) run needs none

    # a fresh checkout: only what git holds (results.csv, resume-last.pt) is there
    (run / "weights/last.pt").unlink()
    seen = {}

    def train(r: Path, resume: bool) -> None:
        last = r / "weights/last.pt"
        seen["resume"], seen["epoch"] = resume, torch.load(last, weights_only=False)["epoch"]
        _ckpt(last, epoch=-1)  # the run finishes

    last = _common.kept_run(run, 10, train)
    assert seen == {"resume": True, "epoch": 4}  # resumed from the snapshot's epoch, not started over
    assert (run / "final.pt").exists() and not snap.exists() and last == run / "weights/last.pt"
    assert _common.unfinished_runs(root) == []


def test_snapshot_runs_refuses_a_missing_folder(tmp_path):
    r = subprocess.run([sys.executable, str(REPO / "benchmarks/snapshot_runs.py"), str(tmp_path / "nope")],
                       capture_output=True, text=True, cwd=REPO)
    assert r.returncode == 2 and "nope" in r.stderr and "fix:" in r.stderr


def test_snapshot_runs_skips_runs_git_ignores(tmp_path, capsys):
    """A run inside a folder the repository ignores (edge_cpu's ft-*/ stages) gets no snapshot: it could not be
    committed; the same run outside that folder does, and so does every run outside a git checkout."""
    import _common
    import snapshot_runs

    subprocess.run(["git", "init", "-q", str(tmp_path)], check=True)
    (tmp_path / ".gitignore").write_text("results/**/ft-*/\nresults/**/*.pt\n!results/**/resume-last.pt\n")
    root = tmp_path / "results"
    hidden, kept = root / "edge/ft-1/stage", root / "study/f-sens-s0"
    for run in (hidden, kept):
        _ckpt(run / "weights/last.pt", epoch=2)
    assert snapshot_runs.main([str(root)]) == 0
    assert (kept / _common.RESUME).exists() and not (hidden / _common.RESUME).exists()
    assert "git ignores" in capsys.readouterr().out
    assert snapshot_runs.git_ignored(kept / _common.RESUME) is False
    assert snapshot_runs.git_ignored(hidden / _common.RESUME) is True


def test_a_snapshot_of_another_length_is_refused(tmp_path):
    """A committed resume point of a 10-epoch run does not resume a 20-epoch command, and is kept for its own."""
    import _common
    import pytest

    run = tmp_path / "study/f-sens-s0"
    _ckpt(run / _common.RESUME, epoch=3, epochs=10)
    called = []
    with pytest.raises(SystemExit, match="resumes a run of 10 epochs, this command trains 20"):
        _common.kept_run(run, 20, lambda r, resume: called.append(resume))
    assert not called and (run / _common.RESUME).exists() and not (run / "weights/last.pt").exists()
    (run / _common.RESUME).write_bytes(b"not a checkpoint")
    with pytest.raises(SystemExit, match="not a readable checkpoint"):
        _common.kept_run(run, 20, lambda r, resume: called.append(resume))
    assert not called
