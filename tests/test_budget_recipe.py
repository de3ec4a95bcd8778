"""Recipes with a latency budget: ``targets: {max_latency_ms | max_latency_ratio}`` with ``prune: {target_flops:
auto}`` / ``quantize: {backend: auto}`` pick the level, runtime and precision from a device profile before any
work; an unattainable budget is one line naming the fastest candidate, a non-zero exit and nothing trained;
``run --check`` refuses a malformed budget recipe with file:line; a changed profile is noticed on resume.

The profiles here are written by hand (the numbers a profile of some device could hold) so the choice is
known in advance; tests/test_profile.py measures real ones."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from conftest import TINY_IMGSZ, run_cli
from yolo_compress.errors import YoloCompressError
from yolo_compress.pipeline.recipe import load_recipe
from yolo_compress.pipeline.stages import budget_decision, check_decision

HEAD = "name: budget\nmodel: {model}\ndata: {data}\nimgsz: 64\nruntimes: [onnxruntime, openvino]\n"
# level -> (prune ratio, {runtime/precision: (p50 ms, slow-end ms)}); the reference L1.00 ORT FP32 is 10 ms.
# ORT INT8 is never >= 10% faster than ORT FP32 (skipped as not paying); OpenVINO INT8 is.
LEVELS = {
    1.0: (0.0, {"onnxruntime/fp32": (10.0, 10.5), "onnxruntime/int8": (9.6, 10.2),
                "openvino/fp32": (9.0, 9.6), "openvino/int8": (7.0, 7.6)}),
    0.6: (0.25, {"onnxruntime/fp32": (7.0, 7.5), "onnxruntime/int8": (6.8, 7.3),
                 "openvino/fp32": (6.5, 7.0), "openvino/int8": (5.0, 5.6)}),
    0.4: (0.4, {"onnxruntime/fp32": (5.0, 5.4), "onnxruntime/int8": (4.9, 5.3),
                "openvino/fp32": (4.6, 5.0), "openvino/int8": (3.4, 3.9)}),
}


def _profile(path: Path, gflops: float, imgsz: int = TINY_IMGSZ, scale: float = 1.0) -> Path:
    ref = LEVELS[1.0][1]["onnxruntime/fp32"][0] * scale
    cands, levels = [], []
    for lv, (ratio, rows) in LEVELS.items():
        levels.append({"level": lv, "name": f"L{lv:.2f}", "prune_ratio": ratio, "gflops": gflops * lv,
                       "gflops_kept": lv})
        for key, (p50, slow) in rows.items():
            rt, prec = key.split("/")
            p50, slow = p50 * scale, slow * scale
            cands.append({"name": f"L{lv:.2f}-{rt}-{prec}", "level": lv, "runtime": rt, "precision": prec,
                          "gflops": gflops * lv, "p50_ms": p50, "p90_ms": slow, "slow_ms": slow,
                          "ratio": p50 / ref, "ratio_slow": slow / ref})
    prof = {"kind": "yolo-compress device profile", "version": 1, "device": {"cpu": "Test CPU"},
            "threads": {"effective": 2}, "model": "tiny", "imgsz": imgsz, "input": {"gflops": gflops},
            "prune": {"round_to": 8, "max_layer_ratio": 0.9},
            "reference": {"name": "L1.00-onnxruntime-fp32", "p50_ms": ref, "p90_ms": ref * 1.05},
            "levels": levels, "candidates": cands}
    path.write_text(json.dumps(prof, indent=1))
    return path


@pytest.fixture(scope="module")
def tiny_gflops(tiny_pt) -> float:
    from yolo_compress.models import load_model
    from yolo_compress.runtime.graphstats import model_info

    return model_info(load_model(tiny_pt), TINY_IMGSZ).gflops


def _recipe(tmp_path: Path, body: str, model, data, name: str = "r.yaml") -> Path:
    p = tmp_path / name
    p.write_text(HEAD.format(model=model, data=data) + body)
    return p


def test_budget_picks_the_least_pruning_that_meets_it_from_the_given_profile(tmp_path, tiny_pt, tiny_gflops,
                                                                           val_as_train_data):
    _profile(tmp_path / "device.json", tiny_gflops)
    # 0.55x: L1.00 (fastest slow end 0.76x) and L0.60 (0.56x) are too slow at the slow end; L0.40 OpenVINO
    # INT8 meets it (0.39x) although L0.60 OpenVINO INT8's *median* (0.50x) would have
    rec = _recipe(tmp_path, "device_profile: device.json\ntargets: {max_latency_ratio: 0.55}\nstages:\n"
                            "  - prune: {target_flops: auto, criterion: l1}\n  - quantize: {backend: auto}\n",
                  tiny_pt, val_as_train_data)
    r = load_recipe(rec)  # the recipe check decides now: a budget it cannot meet would raise here
    d = budget_decision(r, r.device_profile)
    assert (d.level, d.runtime, d.precision) == (0.4, "openvino", "int8")
    plan = check_decision(r, r.context(), d, r.device_profile)
    prune, quant = plan[0][1], plan[1][1]
    assert (prune.ratio, prune.target_flops, prune.criterion, prune.round_to, prune.global_pruning) == \
        (0.4, None, "l1", 8, False)
    assert (quant.backend, quant.mode) == ("openvino", "ptq")
    assert "onnxruntime/int8" in d.skipped_precisions  # 0.98x of its FP32 here: does not pay, and says so
    assert any("INT8 skipped on onnxruntime" in x for x in d.reasons)

    # 8 ms: the input itself meets it as OpenVINO INT8 (7.6 ms slow end): no pruning (the stage is skipped)
    rec2 = _recipe(tmp_path, "device_profile: device.json\ntargets: {max_latency_ms: 8}\nstages:\n"
                             "  - prune: {target_flops: auto}\n  - quantize: {backend: auto}\n",
                   tiny_pt, val_as_train_data, "r2.yaml")
    r2 = load_recipe(rec2)
    plan2 = check_decision(r2, r2.context(), budget_decision(r2, r2.device_profile), r2.device_profile)
    assert plan2[0][1] is None and (plan2[1][1].backend, plan2[1][1].mode) == ("openvino", "ptq")

    # no quantize stage: only FP32 candidates count (the deliverable is FP32): 5.4 ms slow end at L0.40 ORT
    # is too slow for 5 ms, OpenVINO FP32 at L0.40 (5.0 ms) meets it
    rec3 = _recipe(tmp_path, "device_profile: device.json\ntargets: {max_latency_ms: 5}\nstages:\n"
                             "  - prune: {target_flops: auto}\n", tiny_pt, val_as_train_data, "r3.yaml")
    r3 = load_recipe(rec3)
    d3 = budget_decision(r3, r3.device_profile)
    assert (d3.level, d3.runtime, d3.precision) == (0.4, "openvino", "fp32")


def test_unattainable_budget_is_one_line_naming_the_fastest_and_nothing_is_trained(tmp_path, tiny_pt, tiny_gflops,
                                                                                 val_as_train_data):
    _profile(tmp_path / "device.json", tiny_gflops)
    rec = _recipe(tmp_path, "device_profile: device.json\ntargets: {max_latency_ms: 2}\nstages:\n"
                            "  - prune: {target_flops: auto}\n  - finetune: {epochs: 1}\n"
                            "  - quantize: {backend: auto}\n", tiny_pt, val_as_train_data)
    out = tmp_path / "run"
    res = run_cli("run", str(rec), "--out", str(out))
    assert res.returncode == 2, res.stderr
    err = res.stderr.strip()
    assert err.count("\n") == 0, err
    # file:line of the budget, and the fastest candidate (OpenVINO INT8 at L0.40: 3.40 ms p50, 3.90 ms slow end)
    assert "r.yaml:7:" in err and "max_latency_ms 2" in err, err
    assert "L0.40-openvino-int8" in err and "3.40 ms p50" in err and "3.90 ms slow end" in err, err
    assert not out.exists()  # refused before anything: no run folder, no stage, no weights
    assert not list(tmp_path.rglob("*.pt")) and not list(Path("runs").glob("budget*"))
    assert run_cli("run", "--check", str(rec)).returncode == 2


BAD = [  # (body, line, message): run --check refuses these with file:line, one line
    ("targets: {max_latency_ms: 8, max_latency_ratio: 0.4}\nstages:\n  - prune: {target_flops: auto}\n", 6,
     "give one latency budget"),
    ("stages:\n  - prune: {target_flops: auto}\n", 7, "target_flops: auto needs a latency budget"),
    ("targets: {max_latency_ratio: 0.4}\nstages:\n  - prune: {target_flops: half}\n", 8,
     "--target-flops 'half' is invalid"),
    ("targets: {max_latency_ratio: 0.4}\nstages:\n  - prune:\n      target_flops: auto\n      global_pruning: true\n",
     10, "drop 'global_pruning'"),
    ("targets: {max_latency_ratio: 0.4}\nstages:\n  - prune:\n      target_flops: auto\n      ignore: [model.9.cv1]\n",
     10, "drop 'ignore'"),
    ("targets: {max_latency_ratio: 0.4}\nstages:\n  - quantize: {backend: auto, mode: dynamic}\n", 8,
     "mode: dynamic cannot go with it"),
    ("device_profile: device.json\nstages:\n  - prune: {ratio: 0.3}\n", 6, "device_profile is read only by"),
    ("device_profile: nowhere.json\ntargets: {max_latency_ratio: 0.4}\nstages:\n  - prune: {target_flops: auto}\n", 6,
     "device_profile '.*nowhere.json' not found"),
    ("device_profile: device320.json\ntargets: {max_latency_ratio: 0.4}\nstages:\n  - prune: {target_flops: auto}\n", 6,
     "was made at imgsz 320, not 64"),
]


@pytest.mark.parametrize("body,line,match", BAD, ids=[b[2][:28] for b in BAD])
def test_run_check_refuses_a_malformed_budget_recipe_with_file_line(tmp_path, tiny_pt, tiny_gflops, val_as_train_data,
                                                                   body, line, match):
    import re

    _profile(tmp_path / "device.json", tiny_gflops)
    _profile(tmp_path / "device320.json", tiny_gflops, imgsz=320)
    rec = _recipe(tmp_path, body, tiny_pt, val_as_train_data)
    with pytest.raises(YoloCompressError, match=f"r.yaml:{line}: .*{match}"):
        load_recipe(rec)
    from yolo_compress.cli import main

    assert main(["run", "--check", str(rec)]) == 2


def test_a_good_budget_recipe_passes_check(tmp_path, tiny_pt, tiny_gflops, val_as_train_data, capsys):
    from yolo_compress.cli import main

    _profile(tmp_path / "device.json", tiny_gflops)
    rec = _recipe(tmp_path, "device_profile: device.json\ntargets: {max_latency_ratio: 0.55}\nstages:\n"
                            "  - prune: {target_flops: auto}\n  - quantize: {backend: auto}\n",
                  tiny_pt, val_as_train_data)
    assert main(["run", "--check", str(rec)]) == 0, capsys.readouterr().err


def test_run_uses_the_decision_and_a_changed_profile_is_noticed_on_resume(tmp_path, tiny_pt, tiny_gflops,
                                                                         val_as_train_data):
    from yolo_compress.pipeline.runner import run_recipe

    model = tmp_path / "m.pt"
    shutil.copy(tiny_pt, model)
    prof = _profile(tmp_path / "device.json", tiny_gflops)
    body = ("device_profile: device.json\ntargets: {max_latency_ms: 7.2}\nbench: {runs: 0, limit: 4}\n"
            "stages:\n  - prune: {target_flops: auto}\n")
    rec = _recipe(tmp_path, body, model, val_as_train_data)
    rec.write_text(rec.read_text().replace("runtimes: [onnxruntime, openvino]", "runtimes: [onnxruntime]"))
    run = tmp_path / "run"
    run_recipe(rec, run)
    # FP32 ORT only (the recipe's runtime, no quantize): L0.60 (7.5 ms slow end) misses 7.2 ms, L0.40 meets it
    st = json.loads((run / "01-prune" / "stage.json").read_text())
    cfg = st["parts"]["config"]
    assert cfg["ratio"] == 0.4 and cfg["target_flops"] is None and "device_profile" in st["parts"]
    dec = json.loads((run / "decision.json").read_text())
    assert dec["candidate"] == "L0.40-onnxruntime-fp32" and (run / "device.png").stat().st_size > 1000
    report = (run / "report.md").read_text()
    assert "## Latency budget (device profile)" in report and "L0.40-onnxruntime-fp32" in report
    # bench runs: 0 timed nothing: the ms target is said to be unmeasured (the profile only predicted it), not dropped
    assert "- NOT MEASURED [onnxruntime] latency <= 7.2 ms: this run did not time it" in report
    assert "no stage was both timed and scored" in (run / "plot.svg").read_text()  # an empty plot says why
    first = (run / "01-prune" / "stage.json").stat().st_mtime_ns

    run_recipe(rec, run, resume=True)  # nothing changed: kept
    assert (run / "01-prune" / "stage.json").stat().st_mtime_ns == first

    # the same device re-profiled, everything 20% faster: L0.60 now meets 7.2 ms (6.0 ms slow end)
    _profile(prof, tiny_gflops, scale=0.8)
    run_recipe(rec, run, resume=True)
    st2 = json.loads((run / "01-prune" / "stage.json").read_text())
    assert st2["parts"]["config"]["ratio"] == 0.25 and st2["parts"]["device_profile"] != st["parts"]["device_profile"]
    assert len(list((run / ".stale").glob("01-prune-*"))) == 1
    assert json.loads((run / "decision.json").read_text())["candidate"] == "L0.60-onnxruntime-fp32"
