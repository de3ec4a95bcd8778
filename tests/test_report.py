"""The run report as headless Chromium lays it out: the detection images of the input and of the deployable
artifact are painted, the per-class AP table is there, every failed target has a line of what to try, and
no two texts of the accuracy-vs-latency plot overlap."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from browser import overlapping, render
from yolo_compress.shipped import DEFAULT_MODEL
from yolo_compress.pipeline.report import _rising, _targets, detection_sample, final_indices, write_report

RECIPE = """name: report-test
model: {model}
data: {data}
imgsz: 160
runtimes: [onnxruntime]
targets: {{max_map_drop: 50, min_size_reduction: 30}}
bench: {{runs: 50, warmup: 2}}
stages:
  - quantize: {{backend: onnxruntime, calib_images: 8, calibration: minmax}}
"""


@pytest.fixture(scope="module")
def run(val_as_train_data, tmp_path_factory) -> Path:
    """The shipped model -> ONNX Runtime INT8: input and one deliverable, benchmarked at 160 px."""
    from yolo_compress.pipeline.runner import run_recipe

    tmp = tmp_path_factory.mktemp("report")
    rec = tmp / "r.yaml"
    rec.write_text(RECIPE.format(model=DEFAULT_MODEL, data=val_as_train_data))
    return run_recipe(rec, tmp / "run")


def test_report_renders_detections_per_class_table_and_advice(run, tmp_path):
    det = json.loads((run / "detections.json").read_text())
    assert len(det["files"]) == 3 and det["panels"][0].startswith("input [onnxruntime]")
    assert det["panels"][1].startswith("01-quantize [onnxruntime] int8")
    md = (run / "report.md").read_text()
    assert "## AP50-95 per class" in md and "](detections/" in md
    # a size target no INT8 model of this network can meet: FAIL, with what to try from the run's numbers
    assert "- FAIL [onnxruntime]" in md and "  - try: prune more:" in md
    measured, _ = render(run / "report.html", tmp_path / "chromium")
    imgs = measured["images"]
    assert len(imgs) == 3 and all(i["complete"] and i["w"] > 2 * 160 and i["h"] > 160 for i in imgs), imgs
    assert all(i["box"][2] > 300 for i in imgs), imgs  # laid out at a visible size
    pc = measured["per_class"]
    assert [r[0] for r in pc] == ["garbage", "garbage_bin", "overflow"], pc
    bench = json.loads((run / "bench.json").read_text())["rows"]
    assert [float(r[2]) for r in pc] == [round(bench[0]["eval_per_class"][c]["ap50_95"], 4) for c, *_ in pc]
    assert measured["tries"] and all(t.startswith("try: ") for t in measured["tries"]), measured["tries"]
    labels = [x for x in measured["labels"] if x["box"][2] > 0 and x["box"][3] > 0]
    assert len(labels) >= 8, labels  # ticks, axis labels, one legend entry per point and the front
    assert overlapping(labels) == [], overlapping(labels)


def test_the_overlap_check_catches_labels_written_at_the_points(tmp_path):
    """The check above can fail: the former plot style (each name written beside its point) with two points
    at the same place (the input on two runtimes) is caught."""
    import io

    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(7, 4.5))
    for name in ("00-input [onnxruntime]", "00-input [openvino]"):
        ax.scatter([1.0], [0.44])
        ax.annotate(name, (1.0, 0.44), textcoords="offset points", xytext=(4, 4), fontsize=7)
    buf = io.StringIO()
    fig.savefig(buf, format="svg")
    plt.close(fig)
    svg = buf.getvalue()
    page = tmp_path / "old.html"
    page.write_text(f'<!doctype html><html><body><div id="plot">{svg[svg.index("<svg"):]}</div></body></html>')
    measured, _ = render(page, tmp_path / "chromium")
    assert overlapping(measured["labels"]), measured["labels"]


def test_same_detection_images_every_run_and_final_rows():
    files = [Path(f"img{i:02d}.jpg") for i in range(10)]
    boxes = [1, 4, 0, 7, 4, 2, 7, 1, 0, 3]
    pick = detection_sample(files, boxes)
    assert pick == [Path("img03.jpg"), Path("img06.jpg"), Path("img01.jpg")]
    assert pick == detection_sample(list(reversed(files)), list(reversed(boxes)))  # not the listing order
    assert final_indices(["00-input", "00-input", "01-prune", "02-quantize", "03-quantize"]) == [3, 4]
    assert final_indices(["00-input", "01-prune", "02-distill", "02-distill"]) == [2, 3]
    assert _rising([0.30, 0.33, 0.35]) == pytest.approx(2.0) and _rising([0.3]) is None
    assert _rising([0.35, 0.36, 0.36, 0.35, 0.36, 0.36]) == pytest.approx(0.0)


@pytest.mark.parametrize("opts,expect", [({"backend": "onnxruntime"}, "quantize with max_drop: 0.5"),
                                         ({"backend": "onnxruntime", "max_drop": 0.5}, "control_split: <a split")])
def test_int8_advice_names_the_control_split_when_max_drop_was_already_set(tmp_path, opts, expect):
    """An INT8 stage that misses the mAP target: without max_drop the advice is max_drop; with it (the control set
    of held-out train images saw no drop, as on YOLO26n's fine-tuned cuts) the advice is a control split the
    model never trained on, or the head in float."""
    from yolo_compress.pipeline.report import _advice

    recipe = {"targets": {"max_map_drop": 0.5}, "stages": [{"quantize": opts}]}
    rows = [{"runtime": "onnxruntime", "kind": "input", "precision": "fp32", "stage": "00-input", "d_map": 0.0},
            {"runtime": "onnxruntime", "kind": "artifact", "precision": "int8", "stage": "01-quantize", "d_map": -0.89}]
    line = _advice("map", rows[1], rows, [rows[1]], tmp_path, recipe)
    assert expect in line and "0.89" in line, line


def test_a_latency_target_the_run_did_not_time_is_said_not_dropped():
    rows = [{"stage": "input", "runtime": "onnxruntime", "d_map": 0.0, "lat_ratio": None, "size_x": 1.0},
            {"stage": "01-quantize", "runtime": "onnxruntime", "d_map": -0.5, "lat_ratio": None, "size_x": 3.5}]
    lines = _targets(rows, {"targets": {"max_map_drop": 1.5, "max_latency_ratio": 0.5}})
    assert lines[0] == ("- PASS [onnxruntime] mAP50-95 drop 0.50 pt <= 1.5 pt", None)
    assert lines[1][0] == "- NOT MEASURED [onnxruntime] latency <= 0.5x: this run did not measure it"
    assert "bench: {runs: 50}" in lines[1][1] and len(lines) == 2
    rows[1]["lat_ratio"] = 0.4  # timed: a plain PASS, no NOT MEASURED line
    assert [x[0] for x in _targets(rows, {"targets": {"max_latency_ratio": 0.5}})] == \
        ["- PASS [onnxruntime] latency 0.40x <= 0.5x"]


@pytest.mark.parametrize("key,gone,line", [
    ("max_map_drop", "d_map", "- NOT MEASURED [openvino] mAP50-95 drop <= 1.0 pt: this run did not measure it"),
    ("min_size_reduction", "size_x", "- NOT MEASURED [openvino] >= 1.0x smaller: this run did not measure it")])
def test_every_target_the_run_could_not_measure_is_said_not_dropped(key, gone, line):
    """The same holds for each target, not only latency: a value the run lacks gives NOT MEASURED, in the place of
    that target's line, and the other targets keep their PASS/FAIL."""
    rows = [{"stage": "input", "kind": "input", "runtime": "openvino", "precision": "fp32", "gflops": 8.7,
             "d_map": 0.0, "lat_ratio": 1.0, "size_x": 1.0},
            {"stage": "01-quantize", "kind": "artifact", "runtime": "openvino", "precision": "int8", "gflops": 8.7,
             "d_map": -0.5, "lat_ratio": 0.6, "size_x": 3.5}]
    t = {"max_map_drop": 1.0, "max_latency_ratio": 0.5, "min_size_reduction": 1.0}
    measured = [x[0] for x in _targets(rows, {"targets": t})]
    assert measured == ["- PASS [openvino] mAP50-95 drop 0.50 pt <= 1.0 pt", "- FAIL [openvino] latency 0.60x <= 0.5x",
                        "- PASS [openvino] 3.5x smaller >= 1.0x"]
    rows[1][gone] = None
    lines = _targets(rows, {"targets": t})
    i = list(t).index(key)
    assert lines[i][0] == line and lines[i][1]  # with how to measure it
    assert [x[0] for n, x in enumerate(lines) if n != i] == [x for n, x in enumerate(measured) if n != i]


def test_the_ms_budget_check_says_what_it_could_not_time():
    from yolo_compress.pipeline.device_report import _ms_checks

    rows = [{"stage": "input", "kind": "input", "runtime": "onnxruntime", "p50": 10.0},
            {"stage": "01-prune", "kind": "artifact", "runtime": "onnxruntime", "p50": 6.0},
            {"stage": "01-prune", "kind": "artifact", "runtime": "openvino", "p50": None}]
    got = _ms_checks({"targets": {"max_latency_ms": 7.0}}, False, rows, rows[1:])
    assert got[0] == "- PASS [onnxruntime] latency 6.00 ms p50 <= 7 ms (this run's bench machine)"
    assert got[1].startswith("- NOT MEASURED [openvino] latency <= 7 ms: this run did not time it") and len(got) == 2
    got = _ms_checks({"targets": {"max_latency_ratio": 0.5}}, True, rows, rows[1:])
    assert got[0].startswith("- FAIL [onnxruntime] latency 0.600x of the input's ONNX Runtime FP32 <= 0.5x")
    assert got[1].startswith("- NOT MEASURED [openvino] latency <= 0.5x of the input's ONNX Runtime FP32")
