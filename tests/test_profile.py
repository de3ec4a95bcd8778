"""Device profile: build + time candidates on a tiny model, the timing half without PyTorch, and the
budget selection from a hand-written profile (no timing noise in the expected answers)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from conftest import TINY_IMGSZ, run_cli
from yolo_compress.profile import (Budget, BudgetError, check_budget, choose, load_profile, plot_profile,
                                   read_manifest)

# ------------------------------------------------------------------------------------ a hand-written profile
# ratios are of the reference (L1.00 ONNX Runtime FP32, p50 10 ms). ORT INT8 buys nothing on this "device"
# (0.98-0.99x of its FP32); OpenVINO INT8 pays. At L0.80 the OpenVINO INT8 median (0.46x) meets a 0.5x budget
# but its slow end (0.53x) does not: a selection on the median would wrongly pick L0.80.
LEVELS = [(1.0, 0.0, 8.0), (0.8, 0.1, 6.4), (0.6, 0.2, 4.8), (0.4, 0.3, 3.2)]
ROWS = {  # level: {runtime/precision: (p50_ms, slow_ms, ratio_slow)}
    1.0: {"onnxruntime/fp32": (10.0, 11.0, 1.0), "onnxruntime/int8": (9.8, 10.9, 1.0),
          "openvino/fp32": (9.0, 10.0, 0.92), "openvino/int8": (6.0, 6.6, 0.66)},
    0.8: {"onnxruntime/fp32": (8.0, 8.8, 0.85), "onnxruntime/int8": (7.9, 8.6, 0.84),
          "openvino/fp32": (7.5, 8.0, 0.8), "openvino/int8": (4.6, 5.3, 0.53)},
    0.6: {"onnxruntime/fp32": (6.0, 6.6, 0.64), "onnxruntime/int8": (5.9, 6.4, 0.63),
          "openvino/fp32": (5.5, 6.0, 0.6), "openvino/int8": (3.5, 4.0, 0.40)},
    0.4: {"onnxruntime/fp32": (4.5, 5.0, 0.48), "onnxruntime/int8": (4.4, 4.9, 0.47),
          "openvino/fp32": (4.0, 4.4, 0.44), "openvino/int8": (2.5, 2.9, 0.29)},
}


def given_profile(rows=ROWS) -> dict:
    cands = []
    for level, _, gflops in LEVELS:
        for key, (p50, slow, ratio_slow) in rows[level].items():
            rt, prec = key.split("/")
            cands.append({"name": f"L{level:.2f}-{rt}-{prec}", "level": level, "runtime": rt, "precision": prec,
                          "gflops": gflops, "p50_ms": p50, "p90_ms": slow, "slow_ms": slow, "ratio": p50 / 10.0,
                          "ratio_slow": ratio_slow})
    return {"kind": "yolo-compress device profile", "version": 1, "model": "given.pt", "imgsz": 320,
            "device": {"cpu": "Test CPU", "family": "23", "model": "1"}, "threads": {"asked": 2, "effective": 2},
            "input": {"gflops": 8.0, "params": 3e6}, "prune": {"round_to": 8, "max_layer_ratio": 0.9},
            "reference": {"name": "L1.00-onnxruntime-fp32", "p50_ms": 10.0, "p90_ms": 11.0},
            "levels": [{"level": lv, "name": f"L{lv:.2f}", "prune_ratio": r, "gflops": g, "gflops_kept": g / 8}
                       for lv, r, g in LEVELS],
            "candidates": cands}


def test_choice_is_the_least_pruning_that_meets_the_budget_at_its_slow_end():
    d = choose(given_profile(), Budget(max_latency_ratio=0.5))
    assert (d.level, d.runtime, d.precision) == (0.6, "openvino", "int8")  # the median would have taken L0.80
    assert d.prune == {"ratio": 0.2, "global_pruning": False, "round_to": 8, "max_layer_ratio": 0.9}
    assert d.quantize == {"backend": "openvino", "mode": "ptq"} and d.as_dict()["export_format"] == "openvino"
    assert any(r.startswith("L0.80 (") and "too slow" in r for r in d.reasons)
    # ONNX Runtime INT8 does not pay on this device: skipped at the chosen level, and the decision says so
    assert "onnxruntime/int8" in d.skipped_precisions and "openvino/int8" not in d.skipped_precisions
    assert any(r.startswith("INT8 skipped on onnxruntime at L0.60: 0.98x") for r in d.reasons)

    assert choose(given_profile(), Budget(max_latency_ms=5.0)).level == 0.6  # slow end 5.3 ms at L0.80
    assert choose(given_profile(), Budget(max_latency_ms=5.4)).level == 0.8
    top = choose(given_profile(), Budget(max_latency_ratio=0.7))
    assert (top.level, top.precision, top.prune) == (1.0, "int8", None)  # no pruning needed
    assert choose(given_profile(), Budget(max_latency_ratio=0.5, margin=0.25)).level == 0.4  # 0.375x: only L0.40


def test_int8_is_skipped_where_it_does_not_pay():
    rows = {lv: {k: v for k, v in r.items()} for lv, r in ROWS.items()}
    for lv, r in rows.items():  # OpenVINO INT8 now 0.97x of its FP32, as on the AVX2 EPYC of the issue
        p50, slow, rs = r["openvino/fp32"]
        r["openvino/int8"] = (p50 * 0.97, slow * 0.97, rs * 0.97)
    d = choose(given_profile(rows), Budget(max_latency_ratio=0.5))
    assert (d.level, d.runtime, d.precision) == (0.4, "openvino", "fp32")
    assert d.quantize is None  # FP32: export OpenVINO, no quantize stage
    assert set(d.skipped_precisions) == {"onnxruntime/int8", "openvino/int8"}
    assert any("INT8 skipped on openvino at L0.40: 0.97x" in r for r in d.reasons)


def test_unattainable_budget_is_one_line_naming_the_fastest_candidate(tmp_path):
    with pytest.raises(BudgetError) as e:
        check_budget(given_profile(), Budget(max_latency_ratio=0.1))
    msg = str(e.value)
    assert "\n" not in msg and "L0.40-openvino-int8" in msg and "2.50 ms p50" in msg and "0.290x" in msg
    f = tmp_path / "device.json"
    f.write_text(json.dumps(given_profile()))
    r = run_cli("profile", "--choose", str(f), "--max-latency-ratio", "0.1")
    assert r.returncode != 0
    lines = r.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: latency budget") and "2.50 ms p50" in lines[0], r.stderr
    assert sorted(p.name for p in tmp_path.iterdir()) == ["device.json"]  # nothing written
    ok = run_cli("profile", "--choose", str(f), "--max-latency-ratio", "0.5")
    assert ok.returncode == 0, ok.stderr
    assert json.loads((tmp_path / "device-choice.json").read_text())["candidate"] == "L0.60-openvino-int8"
    assert (tmp_path / "device-choice.png").stat().st_size > 10_000


def test_bad_budget_and_bad_profile_fail_in_one_line(tmp_path):
    from yolo_compress.errors import ConfigError, InputError

    with pytest.raises(ConfigError, match="exactly one latency budget"):
        Budget(max_latency_ms=5, max_latency_ratio=0.5)
    with pytest.raises(ConfigError, match="max_latency_ratio -1"):
        Budget(max_latency_ratio=-1)
    with pytest.raises(InputError, match="made at imgsz 320, not 640"):
        check_budget(given_profile(), Budget(max_latency_ratio=0.5), imgsz=640)
    with pytest.raises(InputError, match="model of 8.000 GFLOPs, not 28.000"):
        check_budget(given_profile(), Budget(max_latency_ratio=0.5), imgsz=320, input_gflops=28.0)
    assert check_budget(given_profile(), Budget(max_latency_ratio=0.5), imgsz=320, input_gflops=8.0).level == 0.6
    (tmp_path / "x.json").write_text("{}")
    with pytest.raises(InputError, match="not a yolo-compress device profile"):
        choose(tmp_path / "x.json", Budget(max_latency_ratio=0.5))
    with pytest.raises(InputError, match=r"device profile '.*nowhere.json' not found; make one with 'yolo-compress"):
        load_profile(tmp_path / "nowhere.json")
    (tmp_path / "cut.json").write_text('{"kind": ')  # a profile cut short
    with pytest.raises(InputError, match=r"'.*cut.json' is not valid JSON; profile again"):
        load_profile(tmp_path / "cut.json")
    with pytest.raises(InputError, match=r"has no manifest.json; build candidates with 'yolo-compress profile"):
        read_manifest(tmp_path)
    (tmp_path / "manifest.json").write_text("[")
    with pytest.raises(InputError, match=r"manifest.json' is not valid JSON; rebuild the candidates folder"):
        read_manifest(tmp_path)


# -------------------------------------------------------------------------------- building and timing
@pytest.fixture(scope="module")
def profiled(tiny_pt, tmp_path_factory):
    """`yolo-compress profile MODEL` as a user runs it: build (2 levels x ONNX Runtime x FP32/INT8), time, write
    the profile, choose for a budget and plot it."""
    out = tmp_path_factory.mktemp("profile") / "device.json"
    r = run_cli("profile", str(tiny_pt), "--imgsz", str(TINY_IMGSZ), "--levels", "1.0,0.5", "--runtimes", "onnxruntime",
                "--precisions", "fp32,int8", "--calib-images", "2", "--runs", "5", "--rounds", "2", "--threads", "1",
                "--repeats", "2", "--out", str(out), "--max-latency-ratio", "5")
    assert r.returncode == 0, r.stderr
    return out, r.stdout


def test_build_writes_a_manifest_of_pruned_candidates(profiled):
    out, stdout = profiled
    folder = out.with_name("device-candidates")
    m = read_manifest(folder)
    names = [c["name"] for c in m["candidates"]]
    assert names == ["L1.00-onnxruntime-fp32", "L1.00-onnxruntime-int8", "L0.50-onnxruntime-fp32",
                     "L0.50-onnxruntime-int8"]
    lines = stdout.splitlines()
    assert sum(ln.startswith("built ") for ln in lines) == 4 and sum(ln.startswith("pruned ") for ln in lines) == 1
    assert sum(ln.startswith("timed ") for ln in lines) == 4
    lv = {x["level"]: x for x in m["levels"]}
    assert lv[1.0]["prune_ratio"] == 0 and 0 < lv[0.5]["prune_ratio"] < 0.9
    assert abs(lv[0.5]["gflops_kept"] - 0.5) <= 0.06  # one uniform prune, ratio estimated, at most one correction
    assert {c["stored_precision"] for c in m["candidates"] if c["precision"] == "int8"} == {"int8"}
    assert all((folder / c["path"]).exists() for c in m["candidates"]) and (folder / "input.npy").exists()
    assert not list(folder.glob("*.pt"))  # only the timed artifacts travel


def _check_profile(p: dict, n: int) -> None:
    load_profile(p)  # the schema choose() needs
    assert p["device"]["cpu"] and "runtimes" in p and p["runtimes"].get("onnxruntime")
    rows = {c["name"]: c for c in p["candidates"]}
    assert len(rows) == n
    ref = rows["L1.00-onnxruntime-fp32"]
    assert ref["ratio"] == 1.0 and p["reference"]["p50_ms"] == ref["p50_ms"]
    for c in rows.values():
        assert 0 < c["p50_ms"] <= c["p90_ms"] <= c["slow_ms"] and len(c["round_p50_ms"]) == p["timing"]["rounds"]
        assert c["ratio_slow"] >= max(c["ratio_rounds"])
        each = sorted(r["ratio_slow"] for r in c["repeats"])  # one entry per separate timing run
        assert len(each) == p["timing"]["repeats"] and (c is ref or c["ratio_slow"] == each[len(each) // 2])
    assert rows["L0.50-onnxruntime-fp32"]["gflops"] < ref["gflops"]


def test_profile_is_valid_and_chooses(profiled):
    out, stdout = profiled
    p = load_profile(out)
    _check_profile(p, 4)
    assert p["wall_s"] > 0 and p["threads"]["asked"] == 1 and p["timing"]["schedule"] == "interleaved"
    assert "chose L" in stdout and out.with_suffix(".png").stat().st_size > 10_000


BLOCK_TORCH = """
import importlib.abc, sys
class _Block(importlib.abc.MetaPathFinder):
    def find_spec(self, name, path=None, target=None):
        if name.split('.')[0] in ('torch', 'ultralytics', 'torchvision', 'torch_pruning'):
            raise ImportError(f'{name} is not installed on this device (blocked by the test)')
sys.meta_path.insert(0, _Block())
"""


def test_time_only_runs_without_torch(profiled, tmp_path):
    """The timing half on a 'device' where PyTorch and Ultralytics cannot be imported (blocked in the CLI
    process and in every timing worker through sitecustomize)."""
    folder = profiled[0].with_name("device-candidates")
    site = tmp_path / "site"
    site.mkdir()
    (site / "sitecustomize.py").write_text(BLOCK_TORCH)
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(site), os.environ.get("PYTHONPATH", "")])}
    probe = subprocess.run([sys.executable, "-c", "import torch"], env=env, capture_output=True, text=True)
    assert probe.returncode != 0 and "blocked by the test" in probe.stderr  # the block is in force
    out = tmp_path / "device.json"
    r = subprocess.run([sys.executable, "-m", "yolo_compress.cli", "profile", "--time-only", str(folder), "--out",
                        str(out), "--runs", "5", "--rounds", "2", "--threads", "1"],
                       env={**env, "YOLO_COMPRESS_PROGRESS": "0"}, capture_output=True, text=True, timeout=300)
    assert r.returncode == 0, r.stderr + r.stdout
    p = json.loads(out.read_text())
    _check_profile(p, 4)
    assert p["threads"]["asked"] == 1 and "--time-only" in (p["command"] or "")


def test_unattainable_budget_after_timing_keeps_the_profile_and_plots_the_gap(profiled, tmp_path):
    """A budget no candidate meets (as 0.35x on the AMX Xeon of BENCHMARKS 7c): the timing is not thrown away (the
    profile is written, so --choose can ask again with another budget), the plot shows every candidate against the
    budget line, and the error is one line naming the fastest candidate."""
    folder = profiled[0].with_name("device-candidates")
    out = tmp_path / "device.json"
    r = run_cli("profile", "--time-only", str(folder), "--out", str(out), "--runs", "5", "--rounds", "1",
                "--repeats", "1", "--threads", "1", "--max-latency-ratio", "0.01")
    assert r.returncode == 2, r.stderr + r.stdout
    lines = r.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: latency budget") and "the fastest candidate" in lines[0]
    _check_profile(json.loads(out.read_text()), 4)
    assert out.with_suffix(".png").stat().st_size > 10_000
    again = run_cli("profile", "--choose", str(out), "--max-latency-ratio", "50")
    assert again.returncode == 0, again.stderr


def test_bad_request_fails_before_work_and_keeps_the_earlier_profile(profiled, tiny_pt):
    out, _ = profiled
    before = out.read_text()
    bad = run_cli("profile", str(tiny_pt), "--imgsz", "64", "--runtimes", "tensorflow", "--out", str(out))
    assert bad.returncode == 2 and "--runtimes" in bad.stderr and len(bad.stderr.strip().splitlines()) == 1
    zero = run_cli("profile", str(tiny_pt), "--imgsz", "64", "--runtimes", "onnxruntime", "--repeats", "0",
                   "--workdir", str(out.with_name("never-built")), "--out", str(out))
    assert zero.returncode == 2 and "--repeats 0" in zero.stderr and len(zero.stderr.strip().splitlines()) == 1
    assert out.read_text() == before and not out.with_name("never-built").exists()


def test_plot_has_every_series(tmp_path):
    png = plot_profile(given_profile(), tmp_path / "p.png", Budget(max_latency_ms=5),
                       choose(given_profile(), Budget(max_latency_ms=5)))
    assert png.stat().st_size > 10_000
