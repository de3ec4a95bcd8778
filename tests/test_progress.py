"""Progress as a user sees it in a CI log (output not a terminal): one plain line per training epoch with
the epoch, the ETA and the last validation mAP50-95; other loops end with one line."""

from __future__ import annotations

import io
import os
import re
import subprocess
import sys

from rich.console import Console

from conftest import TINY_IMGSZ
from yolo_compress.progress import progress_bar, status

EPOCH_LINE = re.compile(r"^fine-tune: epoch (\d+)/(\d+)  elapsed \d+:\d\d:\d\d  ETA \d+:\d\d:\d\d  "
                        r"val mAP50-95 (\d\.\d{4})$")


def test_training_prints_one_line_per_epoch_when_not_a_tty(tiny_pt, val_as_train_data, tmp_path):
    env = {**os.environ, "YOLO_OFFLINE": "1", "YOLO_COMPRESS_PROGRESS": "1"}
    r = subprocess.run([sys.executable, "-m", "yolo_compress.cli", "finetune", str(tiny_pt), "--data",
                        str(val_as_train_data), "--epochs", "2", "--imgsz", str(TINY_IMGSZ), "--batch", "16",
                        "--workers", "0", "--precision", "bf16", "--out", str(tmp_path / "ft")],
                       stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env, timeout=600)
    assert r.returncode == 0, r.stderr[-2000:]
    lines = [m for m in map(EPOCH_LINE.match, r.stdout.splitlines()) if m]
    assert [(m[1], m[2]) for m in lines] == [("1", "2"), ("2", "2")], r.stdout
    # the mAP printed is the one Ultralytics recorded for that epoch
    rows = (tmp_path / "ft" / "results.csv").read_text().splitlines()
    col = [h.strip() for h in rows[0].split(",")].index("metrics/mAP50-95(B)")
    assert [m[3] for m in lines] == [f"{float(x.split(',')[col]):.4f}" for x in rows[1:]]
    assert "\x1b[" not in r.stdout  # no terminal control codes in a log
    assert "training precision: bf16 autocast (--precision bf16, device cpu;" in r.stdout  # the CLI passed it on


def test_loops_end_with_one_plain_line_and_stay_silent_when_off(monkeypatch):
    monkeypatch.setenv("YOLO_COMPRESS_PROGRESS", "1")
    buf = io.StringIO()
    console = Console(file=buf, width=200, force_terminal=False)
    with progress_bar("calibration images", 5, console) as wrap:
        assert list(wrap(range(5))) == [0, 1, 2, 3, 4]
    assert re.fullmatch(r"calibration images: 5/5 in 0:00:\d\d\n", buf.getvalue())
    buf.seek(0), buf.truncate()
    with status("OpenVINO INT8 calibration (8 images, minmax)", console):
        pass
    assert re.fullmatch(r"OpenVINO INT8 calibration \(8 images, minmax\): done in 0:00:00\n", buf.getvalue())
    monkeypatch.setenv("YOLO_COMPRESS_PROGRESS", "0")
    buf.seek(0), buf.truncate()
    with progress_bar("calibration images", 5, console) as wrap:
        list(wrap(range(5)))
    assert buf.getvalue() == ""
