"""Quantization on the shipped reference YOLOv8n at a small image size (real ONNX Runtime, OpenVINO, NNCF;
nothing mocked). Calibration/control images come from a train split made of the shipped images."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import pytest

from conftest import run_cli
from yolo_compress.api import QuantConfig, inspect_artifact, quantize
from yolo_compress.errors import ConfigError, DataError, UnsupportedError

IMGSZ = 128


@pytest.fixture(scope="module")
def qdata(val_as_train_data) -> Path:
    return val_as_train_data


def _sha(p: Path) -> str:
    return hashlib.sha256(p.read_bytes()).hexdigest()


@pytest.mark.parametrize("backend", ["onnxruntime", "openvino", "litert"])
def test_ptq_runs_passes_parity_and_reports_int8_ops(backend, default_model, qdata, tmp_path):
    """ONNX Runtime and LiteRT through the API, OpenVINO through the CLI (one-line summary, report beside the
    artifact)."""
    before = _sha(default_model)
    if backend in ("onnxruntime", "litert"):
        out = tmp_path / ("m_int8.onnx" if backend == "onnxruntime" else "m_int8.tflite")
        res = quantize(default_model, QuantConfig(backend=backend, data=str(qdata), imgsz=IMGSZ, calib_images=16), out,
                       threads=2).as_dict()
        assert any("recommended" in w for w in res["warnings"])
        if backend == "litert":  # static INT8: activations in int8 too
            assert res["runtime_ops"]["int8_activation_convs"] == res["runtime_ops"]["int8_convs"]
    else:
        out = tmp_path / "m_int8_openvino_model"
        r = run_cli("quantize", str(default_model), "--backend", "openvino", "--data", str(qdata), "--imgsz", str(IMGSZ),
                    "--calib-images", "16", "--out", str(out), "--threads", "2")
        assert r.returncode == 0, r.stderr
        assert "runs in INT8" in r.stdout and "parity" in r.stdout and "recommended" in r.stdout
        res = json.loads((out / "quant.json").read_text())
    art = inspect_artifact(out)
    assert art.precision == "int8" and art.imgsz == IMGSZ and art.names  # metadata survives quantization
    assert res["parity"]["passed"] and res["parity"]["reference_detections"] > 0
    if backend == "litert":  # the Detect head computes in float (19 of v8n's 64 convs: see quant/litert.py)
        assert res["runtime_ops"]["int8_convs"] == 45
        assert res["runtime_ops"]["ops"]["DEQUANTIZE"] >= 18  # ...with INT8 weights dequantized in front
    else:
        assert res["runtime_ops"]["int8_convs"] >= 60  # v8n has 64 convs; only the fixed DFL conv stays float
    assert res["calib_images"] == 16
    report = json.loads((out / "quant.json" if out.is_dir() else Path(f"{out}.quant.json")).read_text())
    assert report["runtime_ops"]["int8_convs"] == res["runtime_ops"]["int8_convs"]
    assert _sha(default_model) == before


@pytest.mark.parametrize("backend,mode,precision", [("onnxruntime", "dynamic", "int8"), ("onnxruntime", "fp16", "fp16"),
                                                    ("openvino", "fp16", "fp16"), ("litert", "fp16", "fp16"),
                                                    ("litert", "dynamic", "int8")])
def test_other_modes_run_and_pass_parity(backend, mode, precision, default_model, tmp_path):
    out = tmp_path / {"onnxruntime": "m.onnx", "openvino": "m_openvino_model", "litert": "m.tflite"}[backend]
    res = quantize(default_model, QuantConfig(backend=backend, mode=mode, imgsz=IMGSZ), out, threads=2)
    assert inspect_artifact(out).precision == precision
    assert res.parity["passed"]
    if backend == "litert":  # FP16: weights behind DEQUANTIZE, no int8 kernel; dynamic: int8 weights, float activations
        ro = res.runtime_ops
        assert ro["int8_activation_convs"] == 0
        assert (ro["int8_convs"] == 0 and ro["ops"]["DEQUANTIZE"] >= 60) if mode == "fp16" else ro["int8_convs"] >= 60
    else:
        assert res.warnings  # the honest note about CPU speed


def test_mixed_precision_keeps_layers_float_only_when_needed(default_model, qdata, tmp_path):
    # One calibration image and 8-bit weights: a quantization that costs accuracy on the control set. Whether
    # it does depends on the CPU (AVX2 saturates u8*s8 products, VNNI does not) and on which image calibrates,
    # so the calibration seed is the first of four that costs something here. The backbone and most of the
    # neck are kept float by --ignore, and the Detect head too (its first try, head-first, is the next test),
    # so the sensitivity search ranks the 6 groups model.16-21, not 28 (test time).
    common = dict(backend="onnxruntime", data=str(qdata), imgsz=IMGSZ, calib_images=1, calibration="minmax",
                  control_images=24, reduce_range=False,
                  ignore=tuple(f"model.{i}" for i in range(16)) + ("model.22",))
    for seed in range(4):
        common["seed"] = seed
        strict = quantize(default_model, QuantConfig(max_drop=0.0, **common), tmp_path / f"strict{seed}.onnx",
                          threads=2)
        if strict.control_map["fp32"] - strict.control_map["int8"] > 0:
            break
    # (this deliberately poor quantization fails the parity check, as it should: skip it for the loose run)
    loose = quantize(default_model, QuantConfig(max_drop=99.0, verify=False, **common), tmp_path / "loose.onnx",
                     threads=2)
    backbone = list(common["ignore"])
    assert loose.float_layers == backbone  # nothing added to what --ignore asked for
    assert "held-out train images" in loose.summary() and "--control-split NAME" in loose.summary()
    assert strict.sensitivity and len(strict.sensitivity) == 6 and not set(backbone) & set(strict.sensitivity)
    assert "head_float" not in strict.control_map  # no head group left to try first
    cm = strict.control_map
    assert cm["fp32"] - cm["int8"] > 0, "INT8 costs nothing on the control set: the test cannot exercise the pass"
    added = strict.float_layers[len(backbone):]
    assert strict.float_layers[: len(backbone)] == backbone
    assert added, "max-drop 0 must keep at least one more layer group in float"
    assert set(added) <= set(strict.sensitivity)
    # met the bound on the control set, or said why not (calib_images=1 always adds a calibration warning, so the
    # check names the warning of the search itself)
    assert cm["fp32"] - cm["final"] <= 0 or any("every layer group in float" in w for w in strict.warnings)
    assert strict.runtime_ops["float_convs"] > loose.runtime_ops["float_convs"]


@pytest.mark.parametrize("backend", ["onnxruntime", "openvino"])
def test_max_drop_tries_the_detect_head_in_float_first(backend, default_model, qdata, tmp_path):
    """When all-INT8 costs more than --max-drop on the control images, the first try keeps the Detect head's
    branch groups in float (YOLO26n: the control images understate INT8's cost and a per-group ranking there
    picks groups that do not help on val). Taken when it meets the bound; otherwise the search goes on."""
    from yolo_compress.quant.quantize import head_groups

    common = dict(backend=backend, data=str(qdata), imgsz=IMGSZ, calib_images=1, calibration="minmax",
                  control_images=24, reduce_range=False, ignore=tuple(f"model.{i}" for i in range(16)))
    out = (lambda k: tmp_path / f"m{k}.onnx") if backend == "onnxruntime" else (lambda k: tmp_path / f"m{k}_openvino_model")
    for seed in range(4):  # the first calibration draw whose all-INT8 model costs something on the control set
        res = quantize(default_model, QuantConfig(max_drop=0.0, seed=seed, **common), out(seed), threads=2)
        cm = res.control_map
        if cm["fp32"] - cm["int8"] > 0:
            break
    assert cm["fp32"] - cm["int8"] > 0, "INT8 costs nothing on the control set: the test cannot exercise the pass"
    assert "head_float" in cm  # tried, after all-INT8 and before anything else
    added = res.float_layers[len(common["ignore"]):]
    head = [f"model.22.cv{b}.{i}" for b in (2, 3) for i in range(3)]
    assert sorted(head_groups([*common["ignore"], "model.16", *head])) == sorted(head)
    if cm["fp32"] - cm["head_float"] <= 0:  # the head in float met the bound: taken as it is, no ranking run
        assert sorted(added) == sorted(head) and not res.sensitivity and cm["final"] == cm["head_float"]
    else:  # not enough: the search went on past it
        assert "final" in cm
        if backend == "onnxruntime":  # our ranking ran, and what it kept float comes from it
            assert res.sensitivity and set(added) <= set(res.sensitivity), (added, res.sensitivity)
            assert cm["fp32"] - cm["final"] <= 0 or any("every layer group in float" in w for w in res.warnings)
    assert res.runtime_ops["float_convs"] >= 1 + 18 * (sorted(added) == sorted(head))


def test_ignore_keeps_named_group_float(default_model, qdata, tmp_path):
    res = quantize(default_model, QuantConfig(backend="onnxruntime", data=str(qdata), imgsz=IMGSZ, calib_images=8,
                                              ignore=("model.22.cv3",)), tmp_path / "m.onnx", threads=2)
    assert res.runtime_ops["float_convs"] == 1 + 9  # DFL + the 3 convs of each of the 3 class branches
    with pytest.raises(Exception, match="matches no layer group"):
        quantize(default_model, QuantConfig(backend="onnxruntime", data=str(qdata), imgsz=IMGSZ, calib_images=8,
                                            ignore=("model.99",)), tmp_path / "x.onnx")


def test_bad_input_one_line_and_nothing_lost(default_model, qdata, tmp_path):
    existing = tmp_path / "m_int8.onnx"
    existing.write_bytes(b"earlier artifact")
    empty = tmp_path / "empty"
    (empty / "images").mkdir(parents=True)
    (empty / "data.yaml").write_text("train: images\nval: images\nnames: {0: a, 1: b, 2: c}\n")
    with pytest.raises(DataError, match="holds no images"):
        quantize(default_model, QuantConfig(backend="onnxruntime", data=str(empty / "data.yaml"), imgsz=IMGSZ), existing)
    with pytest.raises(DataError, match="not found"):
        quantize(default_model, QuantConfig(backend="onnxruntime", data=str(tmp_path / "nope.yaml"), imgsz=IMGSZ),
                 existing)
    with pytest.raises(UnsupportedError, match="tensorrt"):
        quantize(default_model, QuantConfig(backend="tensorrt", data=str(qdata), imgsz=IMGSZ), existing)
    with pytest.raises(UnsupportedError, match="dynamic"):
        quantize(default_model, QuantConfig(backend="openvino", mode="dynamic", imgsz=IMGSZ), existing)
    with pytest.raises(ConfigError, match="--data"):
        QuantConfig(backend="onnxruntime", mode="ptq")
    with pytest.raises(UnsupportedError, match="--max-drop is not available with --backend litert"):
        quantize(default_model, QuantConfig(backend="litert", data=str(qdata), imgsz=IMGSZ, max_drop=0.5), existing)
    with pytest.raises(UnsupportedError, match="--bias-correction full is not available with --backend onnxruntime; "
                                               "use --backend openvino for it"):
        quantize(default_model, QuantConfig(backend="onnxruntime", data=str(qdata), imgsz=IMGSZ,
                                            bias_correction="full"), existing)
    with pytest.raises(ConfigError, match="--bias-correction 'slow' is unknown; choose fast or full"):
        QuantConfig(backend="openvino", data=str(qdata), bias_correction="slow")
    assert existing.read_bytes() == b"earlier artifact"
    r = run_cli("quantize", str(default_model), "--backend", "tensorrt", "--data", str(qdata), "--imgsz", "128",
                "--out", str(existing))
    assert r.returncode != 0 and r.stderr.count("\n") == 1 and "tensorrt" in r.stderr
    r = run_cli("quantize", str(default_model), "--data", str(empty / "data.yaml"), "--imgsz", "128", "--out",
                str(existing))
    assert r.returncode != 0 and r.stderr.count("\n") == 1 and "holds no images" in r.stderr
    assert existing.read_bytes() == b"earlier artifact"


def test_openvino_full_bias_correction_reaches_nncf(default_model, qdata, tmp_path):
    """--bias-correction full runs NNCF's layer-wise BiasCorrection instead of FastBiasCorrection: the same
    calibration images give another INT8 model (its corrected biases differ), which still runs in INT8 and is
    reported as such."""
    import numpy as np

    arts = {}
    for bc in ("fast", "full", "fast-again"):
        out = tmp_path / f"{bc}_int8_openvino_model"
        res = quantize(default_model, QuantConfig(backend="openvino", data=str(qdata), imgsz=IMGSZ, calib_images=8,
                                                  bias_correction=bc[:4], verify=False), out, threads=2)
        assert res.bias_correction == bc[:4] and res.runtime_ops["int8_convs"] >= 60
        assert ("full bias correction" in res.summary()) == (bc == "full")
        arts[bc] = np.fromfile(next(out.glob("*.bin")), dtype=np.uint8)
    assert (arts["fast"] == arts["fast-again"]).all()  # the calibration is deterministic, so a difference below is
    assert arts["fast"].shape == arts["full"].shape  # the option's: same graph, same constants' layout...
    assert (arts["fast"] != arts["full"]).any()  # ...other values: the correction ran


def test_qat_trains_with_fake_quant_and_exports_int8(default_model, qdata, tmp_path):
    """One epoch of fake-quant training on 60 images: the wrappers are in the trained checkpoint, the
    published artifact is INT8, passes parity against the QAT weights, and a re-run resumes (no retraining)."""
    import torch

    from yolo_compress.models import load_model
    from yolo_compress.quant import qat

    cfg = QuantConfig(backend="onnxruntime", mode="qat", data=str(qdata), imgsz=IMGSZ, calib_images=8, qat_batch=8,
                      workers=0)
    out = tmp_path / "m_qat_int8.onnx"
    res = quantize(default_model, cfg, out, threads=2)
    assert inspect_artifact(out).precision == "int8" and res.parity["passed"]
    run = Path(res.qat["run"])
    trained = load_model(run / "weights" / "last.pt").model
    assert qat.count(trained) == 63  # every conv but the DFL one was fake-quantized while training
    fq = next(m for m in trained.modules() if isinstance(m, qat.FakeQuantConv))
    assert float(fq.act.scale) > 0 and bool(fq.act.fake_quant_enabled) and not bool(fq.act.observer_enabled)
    w = fq.quantized_weight().detach().float()
    scale = fq.conv.weight.detach().float().abs().amax(dim=(1, 2, 3), keepdim=True) / fq.weight_levels
    assert torch.allclose(w / scale, (w / scale).round(), atol=1e-3)  # weights sit on the integer grid
    mtime = (run / "weights" / "last.pt").stat().st_mtime
    again = quantize(default_model, cfg, out, threads=2)  # same output: the finished run is reused, not retrained
    assert again.qat["run"] == str(run) and (run / "weights" / "last.pt").stat().st_mtime == mtime


def test_openvino_float_groups_ignore_misnamed_activations():
    """OpenVINO lists fused ops by name, and the PyTorch frontend names activations without regard to their
    module (every SiLU is 'model.22.cv3.2.1.act/...'): only convolution names may decide the group."""
    from yolo_compress.quant.openvino import float_groups

    groups = {"model.9": ["__module.model.9.cv2.conv/aten::_convolution/Convolution"],
              "model.22.cv3.2": ["__module.model.22.cv3.2.1.conv/aten::_convolution/Convolution",
                                 "__module.model.22.cv3.2.1.act/aten::silu_/Swish_26"]}
    floats = ["__module.model.9.cv2.conv/aten::_convolution/Convolution,__module.model.22.cv3.2.1.act/aten::silu_/Swish_26",
              "__module.model.22.dfl.conv/aten::_convolution/Convolution"]
    assert float_groups(floats, groups) == ["model.9"]


def test_control_split_draws_the_control_images_from_that_split(default_model, qdata, tmp_path):
    """--control-split: --max-drop's control images come from another split of the YAML (one the model never
    trained on); a split the YAML lacks is one line before any work, and the option needs --max-drop."""
    imgs = sorted((Path(qdata.read_text().split("train: ")[1].split("\n")[0])).glob("*.jpg"))[:10]
    held = tmp_path / "holdout.txt"
    held.write_text("\n".join(str(p) for p in imgs) + "\n")
    data = tmp_path / "data.yaml"
    data.write_text(qdata.read_text() + f"holdout: {held}\n")
    common = dict(backend="onnxruntime", data=str(data), imgsz=IMGSZ, calib_images=4, control_images=50,
                  verify=False)
    res = quantize(default_model, QuantConfig(max_drop=99.0, control_split="holdout", **common), tmp_path / "m.onnx",
                   threads=2)
    assert res.control_images == 10 and any("only 10 control images" in w and "holdout" in w for w in res.warnings)
    assert res.control_map["fp32"] > 0 and "control mAP50-95 (10 'holdout' images)" in res.summary()
    assert "--control-split NAME" not in res.summary()  # the note is for train-image control sets only
    with pytest.raises(DataError, match="no 'test:' entry"):
        quantize(default_model, QuantConfig(max_drop=0.5, control_split="test", **common), tmp_path / "t.onnx")
    assert not (tmp_path / "t.onnx").exists()
    with pytest.raises(ConfigError, match="--control-split holdout is for --max-drop"):
        QuantConfig(control_split="holdout", **common)


def test_nms_free_litert_int8_is_refused_before_any_work():
    with pytest.raises(ConfigError, match="--nms-free with --backend litert INT8"):
        QuantConfig(backend="litert", data="d.yaml", nms_free=True)
    QuantConfig(backend="litert", mode="fp16", nms_free=True)  # FP16 keeps the head's outputs float: allowed
    # QAT fuses the model for training (Ultralytics' Detect.fuse drops the one-to-one branch): refused before training
    with pytest.raises(ConfigError, match="--nms-free with --mode qat"):
        QuantConfig(backend="openvino", mode="qat", data="d.yaml", nms_free=True)


@pytest.fixture(scope="module")
def tiny_yolo26(tmp_path_factory) -> Path:
    from yolo_compress.models import load_model, save_model

    return save_model(load_model("yolo26n.yaml", nc=3), tmp_path_factory.mktemp("y26") / "y26.pt")


@pytest.mark.parametrize("model,backend,box_float,float_convs", [
    ("yolo26", "openvino", None, 9),      # no DFL: auto keeps the box branch (3 levels x 3 convs) float on OpenVINO...
    ("yolo26", "onnxruntime", None, 0),   # ...not on ONNX Runtime, where its INT8 loss is elsewhere
    ("yolo26", "openvino", False, 0),     # off: everything INT8
    ("yolov8", "onnxruntime", True, 1 + 9),  # on: a DFL head too (its fixed DFL conv is always float)
])
def test_box_float_keeps_the_box_branch_of_heads_without_dfl_float(model, backend, box_float, float_convs,
                                                                   tiny_yolo26, default_model, qdata, tmp_path):
    """YOLO26's head regresses box coordinates directly (reg_max 1): its OpenVINO INT8 loss sits in that branch
    (BENCHMARKS.md section 11), so OpenVINO static INT8 keeps it float by default there and nowhere else."""
    pt = tiny_yolo26 if model == "yolo26" else default_model
    out = tmp_path / ("m_int8.onnx" if backend == "onnxruntime" else "m_int8_openvino_model")
    res = quantize(pt, QuantConfig(backend=backend, data=str(qdata), imgsz=64 if model == "yolo26" else IMGSZ,
                                   calib_images=4, box_float=box_float, reduce_range=False, verify=False), out,
                   threads=2)
    # OpenVINO's CPU plugin may run a quantized depthwise conv (GroupConvolution) in float on some CPUs: YOLO26's
    # attention positional convs (attn.pe) on the AVX-512 Zen 4 VM (AMD family 25 model 17), not on the AMX Xeon.
    # That is the plugin's kernel choice, not ours: count the dense convolutions, where our float choices live.
    dense = [n for n in res.runtime_ops["float_conv_names"] if "GroupConvolution" not in n]
    assert len(dense) == float_convs, dense
    assert res.box_float == (float_convs >= 9)
    assert all(g.split(".")[2] in ("cv2",) for g in res.float_layers)  # only box groups, named as such
    assert (len(res.float_layers) == 3) == res.box_float  # model.N.cv2.0 / .1 / .2
    assert ("box-regression branch" in res.summary()) == res.box_float


def test_qat_leaves_the_float_box_branch_unquantized(tiny_yolo26):
    """QAT fake-quantizes what the static INT8 after it quantizes: with box_float, not the box branch."""
    from yolo_compress.models import load_model
    from yolo_compress.quant import qat

    n = {}
    for box in (False, True):
        m = qat.prepare(load_model(tiny_yolo26).model, box_float=box)
        wrapped = [k for k, v in m.named_modules() if isinstance(v, qat.FakeQuantConv)]
        n[box] = len(wrapped)
        head = len(m.model) - 1
        assert any(k.startswith(f"model.{head}.cv2.") for k in wrapped) != box
        assert any(k.startswith(f"model.{head}.cv3.") for k in wrapped)
    assert n[False] - n[True] == 9  # 3 levels x 3 convs (the fused model keeps one head branch pair: 102 convs)
