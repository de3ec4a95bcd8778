"""The CLI as a user meets it: bad input gets one clear line and a non-zero exit, no traceback."""

import json
from pathlib import Path

import pytest

from conftest import run_cli


def _one_line_error(r, *needles):
    assert r.returncode != 0, r.stdout
    lines = [ln for ln in r.stderr.strip().splitlines() if ln.strip()]
    assert len(lines) == 1, r.stderr
    assert lines[0].startswith("error: ") and "Traceback" not in r.stderr
    for n in needles:
        assert n in lines[0], lines[0]
    return lines[0]


@pytest.fixture(scope="module")
def bad_inputs(tmp_path_factory, tiny_pt):
    from ultralytics import YOLO

    d = tmp_path_factory.mktemp("bad")
    trunc = d / "truncated.pt"
    trunc.write_bytes(tiny_pt.read_bytes()[:4096])
    cls = d / "classifier.pt"
    YOLO("yolov8n-cls.yaml").save(cls)
    data = d / "data.yaml"
    data.write_text("path: .\ntrain: images/train\nval: images/val\nnames: [a, b, c]\n")
    return {"truncated": trunc, "classifier": cls, "data": data, "dir": d}


def test_missing_model_file(tmp_path):
    _one_line_error(run_cli("export", str(tmp_path / "missing.pt"), "--imgsz", "64"), "missing.pt", "not found")


def test_truncated_checkpoint(bad_inputs):
    _one_line_error(run_cli("export", str(bad_inputs["truncated"]), "--imgsz", "64"), "truncated.pt", "truncated")


def test_classification_checkpoint(bad_inputs):
    _one_line_error(run_cli("info", str(bad_inputs["classifier"])), "classifier.pt", "'classify' model")


def test_data_yaml_with_missing_images(tiny_onnx, bad_inputs):
    line = _one_line_error(run_cli("bench", str(tiny_onnx), "--data", str(bad_inputs["data"]), "--runs", "0"),
                           "data.yaml", "do not exist")
    assert "images/val" in line


def test_unknown_format(tiny_pt):
    _one_line_error(run_cli("export", str(tiny_pt), "--format", "tfjs", "--imgsz", "64"), "'tfjs'", "onnx")


@pytest.mark.parametrize("cmd", ["export", "bench"])
def test_imgsz_zero(tiny_pt, cmd):
    _one_line_error(run_cli(cmd, str(tiny_pt), "--imgsz", "0"), "--imgsz 0")


def test_unknown_runtime(tiny_onnx):
    _one_line_error(run_cli("bench", str(tiny_onnx), "--runtime", "tensorrt", "--runs", "0"), "tensorrt")


def test_debug_shows_traceback(tmp_path):
    r = run_cli("export", str(tmp_path / "missing.pt"), "--debug")
    assert r.returncode != 0 and "Traceback" in r.stderr and "CheckpointError" in r.stderr


def test_failed_export_leaves_no_partial_output(tiny_pt, tmp_path):
    out = tmp_path / "x.torchscript"
    _one_line_error(run_cli("export", str(tiny_pt), "--format", "torchscript", "--half", "--imgsz", "64",
                            "--out", str(out)), "CUDA GPU")
    assert not out.exists()


def test_export_then_bench_cli(tiny_pt, tmp_path):
    out = tmp_path / "cli.onnx"
    r = run_cli("export", str(tiny_pt), "--imgsz", "64", "--out", str(out))
    assert r.returncode == 0, r.stderr
    assert "parity PASSED" in r.stdout and out.exists() and Path(f"{out}.parity.json").exists()
    r = run_cli("bench", str(tiny_pt), str(out), "--imgsz", "64", "--runs", "50", "--warmup", "1", "--out",
                str(tmp_path / "b"), "--names", "torch,onnx")
    assert r.returncode == 0, r.stderr
    assert (tmp_path / "b" / "bench.md").exists() and "onnxruntime" in r.stdout
    rows = json.loads((tmp_path / "b" / "bench.json").read_text())["rows"]
    assert [x["name"] for x in rows] == ["torch", "onnx"] and all(x["lat_p50_ms"] > 0 and x["lat_runs"] == 50 for x in rows), rows


def test_help_lists_commands():
    r = run_cli("--help")
    assert r.returncode == 0
    for c in ("export", "bench", "parity", "demo", "info"):
        assert c in r.stdout


def test_the_help_page_s_examples_are_commands_the_parser_takes():
    """``yolo-compress --help`` ends with a 'start here' list; each example must parse as written (placeholders
    aside), so the page cannot drift from the options it advertises."""
    import shlex

    from yolo_compress.cli import EPILOG, build_parser

    examples = [ln.split("  ")[1] if ln.startswith("  yolo-compress") else None for ln in EPILOG.splitlines()]
    examples = [shlex.split(x.strip()) for x in examples if x]
    assert len(examples) >= 4
    parser = build_parser()
    for ex in examples:
        assert ex[0] == "yolo-compress"
        argv = ex[1:]
        if "--help" in argv:  # 'COMMAND --help'
            continue
        ns = parser.parse_args(argv)
        assert ns.command == argv[0], ex


def test_info_counts_gflops_at_the_checkpoint_s_training_imgsz(default_model):
    """A model trained at 320 reports its GFLOPs at 320 unless --imgsz says otherwise (at 640 it read 4x its cost);
    the number is the measured one at that size, not a fixed string."""
    r = run_cli("info", str(default_model))
    assert r.returncode == 0 and "GFLOPs at 320 (its training imgsz)" in r.stdout, r.stdout + r.stderr
    r640 = run_cli("info", str(default_model), "--imgsz", "640")
    assert r640.returncode == 0 and "GFLOPs at 640," in r640.stdout
    g = [float(x.stdout.split(" GFLOPs")[0].rsplit(" ", 1)[1]) for x in (r, r640)]
    assert 3.9 < g[1] / g[0] < 4.1, g  # GFLOPs scale with the pixel count


def test_commands_default_to_the_checkpoint_s_training_imgsz(default_model, tiny_pt, tmp_path):
    """Without --imgsz, every command that takes a checkpoint uses its training imgsz (as Ultralytics' export and
    train do): the built-in model was trained at 320, so its export is a 320 graph, not a 640 one at 4x the cost."""
    import argparse

    import onnx
    from rich.console import Console

    from yolo_compress.cli import _default_imgsz
    from yolo_compress.io import checkpoint_state

    out = tmp_path / "m.onnx"
    r = run_cli("export", str(default_model), "--out", str(out))
    assert r.returncode == 0 and "imgsz 320: the checkpoint's training size" in r.stdout, r.stdout + r.stderr
    assert [d.dim_value for d in onnx.load(out).graph.input[0].type.tensor_type.shape.dim][2:] == [320, 320]
    quiet = Console(file=open(tmp_path / "log", "w"))
    for cmd, key in (("distill", "student"), ("finetune", "model"), ("prune", "model"), ("quantize", "model")):
        ns = argparse.Namespace(command=cmd, imgsz=None, **{key: str(default_model)})
        assert _default_imgsz(ns, quiet) and ns.imgsz == 320
        ns = argparse.Namespace(command=cmd, imgsz=160, **{key: str(default_model)})  # given: kept
        assert not _default_imgsz(ns, quiet) and ns.imgsz == 160
    own = checkpoint_state(tiny_pt)["imgsz"]  # a checkpoint saved from a YAML: whatever its train_args hold, or 640
    for src, want in ((str(tiny_pt), own or 640), ("yolov8n.yaml", 640), (str(tmp_path / "missing.pt"), 640)):
        ns = argparse.Namespace(command="export", imgsz=None, model=src)
        _default_imgsz(ns, quiet)
        assert ns.imgsz == want, src
