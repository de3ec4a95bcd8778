"""Resumable units prove they resume the same thing (issue 23): a QAT folder made for another input is not
reused, and a training counts as finished from its checkpoint, not from results.csv's line count."""

from __future__ import annotations

import json

import torch

from yolo_compress.quant.qat import claim_run
from yolo_compress.train import finished_run


def test_qat_folder_made_for_another_input_is_set_aside(tmp_path):
    run = tmp_path / "qat"
    claim_run(run, "model-A+cfg")
    (run / "weights").mkdir()
    (run / "weights" / "last.pt").write_bytes(b"A's weights")
    claim_run(run, "model-A+cfg")  # same input and config: kept, resumable
    assert (run / "weights" / "last.pt").read_bytes() == b"A's weights"
    claim_run(run, "model-B+cfg")  # another input: never resumed from A's weights
    assert not (run / "weights").exists()
    assert json.loads((run / "fingerprint.json").read_text()) == {"fingerprint": "model-B+cfg"}
    stale = [p for p in tmp_path.iterdir() if p.name.startswith("qat.stale-")]
    assert len(stale) == 1 and (stale[0] / "weights" / "last.pt").read_bytes() == b"A's weights"


def test_finished_is_read_from_the_checkpoint_not_from_results_csv(tmp_path):
    run = tmp_path / "ft"
    (run / "weights").mkdir(parents=True)
    # Ultralytics writes the results.csv row before last.pt and appends on resume: a long csv proves nothing
    (run / "results.csv").write_text("epoch,metrics\n" + "".join(f"{i},0.1\n" for i in range(1, 12)))
    last = run / "weights" / "last.pt"
    torch.save({"epoch": 2, "optimizer": {"state": {}}, "train_args": {"epochs": 4}}, last)  # mid-run
    assert finished_run(run, 4) is None
    torch.save({"epoch": -1, "optimizer": None, "train_args": {"epochs": 4}}, last)  # Ultralytics' final form
    assert finished_run(run, 4) == last
    assert finished_run(run, 8) is None  # finished, but for another number of epochs
