"""Labels are read by Ultralytics' own rules, so our mAP and image counts are the ones ``YOLO.val()`` gives on
messy real-world label files (issue 19), and bad datasets fail or warn instead of being scored (issue 23)."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy as np
import pytest

from conftest import run_cli
from yolo_compress.data import label_path, load_data
from yolo_compress.errors import CrosscheckError, DataError

IMGSZ = 320
NAMES = "names: {0: garbage, 1: garbage_bin, 2: overflow}\n"


def _rows(lines: list[str]) -> list[list[float]]:
    return [[float(v) for v in ln.split()] for ln in lines]


def _fmt(row) -> str:
    return " ".join([str(int(row[0]))] + [f"{v:.6f}" for v in row[1:]])


def _polygon(row) -> str:
    """The box as a 4-point polygon (a diamond touching its edges): Ultralytics reads its extent, the box."""
    c, x, y, w, h = row
    pts = [x - w / 2, y, x, y - h / 2, x + w / 2, y, x, y + h / 2]
    return " ".join([str(int(c))] + [f"{v:.6f}" for v in pts])


@pytest.fixture(scope="module")
def messy(default_data, tmp_path_factory) -> dict:
    """13 real garbage images with the label files real exports carry: box-only, polygon-only, a file mixing
    both, an empty file, a missing file, a duplicate row, coordinates > 1, a truncated JPEG."""
    src = default_data.parent
    labelled = sorted(p for p in (src / "labels" / "val").glob("*.txt") if p.read_text().strip())
    labelled = sorted(labelled, key=lambda p: -len(p.read_text().splitlines()))[:13]
    root = tmp_path_factory.mktemp("messy")
    (root / "images" / "val").mkdir(parents=True)
    (root / "labels" / "val").mkdir(parents=True)
    kinds = ["box", "box", "box", "polygon", "polygon", "polygon", "mixed", "empty", "missing", "duplicate",
             "over1", "edge", "truncated"]
    files, orig = {}, {}
    for kind, lab in zip(kinds, labelled):
        img = src / "images" / "val" / f"{lab.stem}.jpg"
        dst = root / "images" / "val" / f"{kind}-{img.name}"
        shutil.copy(img, dst)
        rows = _rows(lab.read_text().splitlines())
        lines = [_fmt(r) for r in rows]
        if kind == "polygon":
            lines = [_polygon(r) for r in rows]
        elif kind == "mixed":
            lines = [_polygon(rows[0])] + lines[1:]
        elif kind == "empty":
            lines = []
        elif kind == "duplicate":
            lines = lines + [lines[0]]
        elif kind == "over1":
            lines[0] = _fmt([rows[0][0], rows[0][1], rows[0][2], 1.5, rows[0][4]])  # w = 1.5: out of bounds
        elif kind == "edge":
            lines[0] = _fmt([rows[0][0], 1.004, rows[0][2], rows[0][3], rows[0][4]])  # within Ultralytics' 1%
        elif kind == "truncated":
            data = dst.read_bytes()
            dst.write_bytes(data[: len(data) // 2])
        if kind != "missing":
            label_path(dst).write_text("\n".join(lines) + ("\n" if lines else ""))
        files[kind], orig[kind] = dst, rows
    y = root / "data.yaml"
    y.write_text(f"path: {root}\ntrain: images/val\nval: images/val\n{NAMES}")
    return {"yaml": y, "root": root, "files": files, "orig": orig}


@pytest.fixture(scope="module")
def garbage_onnx(default_model, tmp_path_factory) -> Path:
    """The shipped trained model (it detects garbage), exported: the artifact both evaluators run."""
    from yolo_compress.api import ExportConfig, export

    out = tmp_path_factory.mktemp("labels-onnx") / "garbage.onnx"
    return export(default_model, ExportConfig(format="onnx", imgsz=IMGSZ), out=out).artifact.path


def test_split_check_counts(messy):
    chk = load_data(messy["yaml"]).check("val")
    f = messy["files"]
    assert chk.listed == 13 and chk.scored == 10
    assert {p.name: r for p, r in chk.skipped}.keys() == {f["mixed"].name, f["over1"].name, f["truncated"].name}
    assert chk.skipped_by_reason() == {"polygon and box rows mixed": 1, "coordinates > 1": 1, "image truncated": 1}
    assert (chk.missing, chk.empty, chk.duplicates, chk.polygon_files) == (1, 1, 1, 3)
    # a polygon file is read as the polygons' extents: the original boxes (the old reader took x1 y1 x2 y2)
    assert np.allclose(chk.labels[f["polygon"]], np.array(messy["orig"]["polygon"], np.float32), atol=1e-5)
    assert len(chk.labels[f["duplicate"]]) == len(messy["orig"]["duplicate"])
    line = "; skipped 3 as Ultralytics does"
    assert line in chk.summary() and "1 label file(s) missing" in chk.summary()
    assert (messy["files"]["truncated"]).stat().st_size > 0  # never modified or removed


def test_polygons_become_their_boxes(default_data, tmp_path):
    from yolo_compress.data import read_labels

    rows = [[0, 0.5, 0.4, 0.2, 0.3], [2, 0.25, 0.6, 0.1, 0.2]]
    f = tmp_path / "p.txt"
    f.write_text("\n".join(_polygon(r) for r in rows) + "\n")
    got = read_labels(f)
    assert np.allclose(got, np.array(rows, np.float32), atol=1e-6)
    f.write_text(_polygon(rows[0]) + "\n" + _fmt(rows[1]) + "\n")
    with pytest.raises(DataError, match="mix segment and detection"):
        read_labels(f)


def test_map_and_counts_match_ultralytics_val(messy, garbage_onnx, tmp_path):
    """Acceptance of issue 19: on an exported model, our mAP50 / mAP50-95 and the images scored / skipped are
    Ultralytics val()'s, on a dataset with every kind of label file above. Checked twice: by ``bench``'s own
    cross-check (``--crosscheck``) and by a plain ``YOLO.val()`` on the dataset YAML as a user would run it."""
    from ultralytics import YOLO

    from yolo_compress.api import BenchConfig, bench

    out = tmp_path / "bench"
    rep = bench([garbage_onnx], BenchConfig(data=str(messy["yaml"]), runs=0, threads=1), out_dir=out,
                crosscheck_val=True)
    ours, xc = rep.rows[0].eval, rep.rows[0].crosscheck
    seen = {}

    def grab(v):
        seen.update(images=v.seen, boxes=int(v.metrics.nt_per_class.sum()), listed=len(v.dataloader.dataset.im_files))

    model = YOLO(str(garbage_onnx), task="detect")
    model.add_callback("on_val_end", grab)
    theirs = model.val(data=str(messy["yaml"]), imgsz=IMGSZ, batch=1, plots=False, device="cpu", workers=0,
                       verbose=False, save_json=False, project=str(tmp_path / "ultralytics"), name="val")
    assert ours.images == seen["images"] == xc.images == 10  # 13 listed, 3 skipped by both
    assert ours.instances == seen["boxes"] == xc.instances
    assert ours.map50_95 > 0.2  # a model that detects: the comparison is not between two zeros
    assert ours.map50 == pytest.approx(theirs.box.map50, abs=2e-3)
    assert ours.map50_95 == pytest.approx(theirs.box.map, abs=2e-3)
    assert (xc.map50, xc.map50_95) == pytest.approx((theirs.box.map50, theirs.box.map), abs=1e-6)
    # what was scored and skipped, in bench.json (fields added, old ones kept) and one line in bench.md
    bj = json.loads((out / "bench.json").read_text())
    row = bj["rows"][0]
    assert row["eval_images"] == 10 and row["eval_map50_95"] == ours.map50_95 and row["crosscheck_images"] == 10
    assert bj["data_check"]["images_skipped"] == 3 and bj["data_check"]["label_files_missing"] == 1
    assert all(s["reason"] for s in bj["data_check"]["skipped"])  # why, per image
    assert "Data: val: scored 10 of 13 images" in (out / "bench.md").read_text()


def test_crosscheck_fails_loudly():
    from yolo_compress.runtime.evaluator import EvalResult, ValResult, crosscheck

    ours = EvalResult(10, 30, 0.5, 0.5, 0.600, 0.400, 0.6, 0.4)
    crosscheck("m.onnx", ours, ValResult(10, 30, 0.6015, 0.3985))  # within 0.002: passes
    with pytest.raises(CrosscheckError, match=r"ours mAP50 0\.6000 mAP50-95 0\.4000 .* val\(\) 0\.6000 / 0\.4030"):
        crosscheck("m.onnx", ours, ValResult(10, 30, 0.600, 0.403))
    with pytest.raises(CrosscheckError, match="on 9 images"):
        crosscheck("m.onnx", ours, ValResult(9, 30, 0.600, 0.400))


def test_crosscheck_flag_needs_data(garbage_onnx, capsys):
    from yolo_compress.cli import main

    assert main(["bench", str(garbage_onnx), "--runs", "0", "--crosscheck"]) == 2
    assert "--crosscheck compares mAP: pass --data" in capsys.readouterr().err


def test_class_index_out_of_range_is_one_line_error(messy, garbage_onnx, tmp_path):
    """Our one deliberate difference: Ultralytics warns and skips; we stop before any work, naming file:line."""
    root = tmp_path / "bad"
    shutil.copytree(messy["root"] / "images", root / "images")
    shutil.copytree(messy["root"] / "labels", root / "labels", ignore=shutil.ignore_patterns("*.cache"))
    bad = label_path(messy["files"]["box"]).name
    lines = (root / "labels" / "val" / bad).read_text().splitlines()
    (root / "labels" / "val" / bad).write_text("\n".join([lines[0], "7 0.5 0.5 0.1 0.1", *lines[1:]]) + "\n")
    y = root / "data.yaml"
    y.write_text(f"path: {root}\nval: images/val\n{NAMES}")
    with pytest.raises(DataError, match=rf"{bad}' line 2: class index 7 is outside 0..2"):
        load_data(y).check("val")
    out = tmp_path / "out"
    r = run_cli("bench", str(garbage_onnx), "--data", str(y), "--runs", "0", "--out", str(out))
    assert r.returncode != 0
    err = r.stderr.strip().splitlines()
    assert len(err) == 1 and bad in err[0] and "line 2" in err[0], r.stderr
    assert not out.exists()  # stopped before any work


def test_all_labels_empty_is_an_error_not_zero_map(messy, tmp_path):
    from yolo_compress.runtime.evaluator import evaluate

    root = tmp_path / "nolabels"
    shutil.copytree(messy["root"] / "images", root / "images")
    (root / "labels" / "val").mkdir(parents=True)
    for img in (root / "images" / "val").iterdir():
        label_path(img).write_text("")
    y = root / "data.yaml"
    y.write_text(f"path: {root}\nval: images/val\n{NAMES}")
    with pytest.raises(DataError, match="none of the 12 scored val images has a box"):
        evaluate(lambda x: np.zeros((1, 7, 2100), np.float32), load_data(y), IMGSZ)


def test_jpeg_checks_never_modify_the_dataset(messy, tmp_path):
    """Ultralytics rewrites a JPEG without its end marker in place; we decode it instead: a truncated one is
    skipped, a whole one (trailing bytes after the marker) is scored, and neither file changes."""
    src = messy["files"]["box"]
    root = tmp_path / "jpeg"
    (root / "images").mkdir(parents=True)
    (root / "labels").mkdir()
    whole = root / "images" / "trailing.jpg"
    whole.write_bytes(src.read_bytes() + b"\x00\x00")
    cut = root / "images" / "cut.jpg"
    cut.write_bytes(src.read_bytes()[:3000])
    for img in (whole, cut):
        shutil.copy(label_path(src), label_path(img))
    before = {p: p.read_bytes() for p in (whole, cut)}
    y = root / "data.yaml"
    y.write_text(f"path: {root}\nval: images\n{NAMES}")
    chk = load_data(y).check("val")
    assert list(chk.labels) == [whole] and [p for p, _ in chk.skipped] == [cut]
    assert "does not decode fully" in chk.skipped[0][1]
    assert all(p.read_bytes() == b for p, b in before.items())
    assert sorted(p.name for p in (root / "images").iterdir()) == ["cut.jpg", "trailing.jpg"]
