"""Surgery: least-squares initialisation, the GFLOPs/params the seeds talk about, valid models, bad layers."""

from __future__ import annotations

import pytest
import torch
from torch import nn

from conftest import run_cli
from yolo_compress.errors import ConfigError
from yolo_compress.models import load_model
from yolo_compress.surgery import DynamicConv2d, dwsep_from, factorized_from, surgery


def test_least_squares_fits_are_exact_when_the_kernel_allows_it():
    torch.manual_seed(0)
    # a kernel that *is* depthwise-separable (rank 1 per input channel) is recovered exactly
    d, p = torch.randn(8, 9), torch.randn(16, 8)
    conv = nn.Conv2d(8, 16, 3, padding=1, bias=False)
    conv.weight.data = torch.einsum("oi,ik->oik", p, d).view(16, 8, 3, 3)
    new, err = dwsep_from(conv)
    x = torch.randn(2, 8, 12, 12)
    assert err < 1e-5 and torch.allclose(new(x), conv(x), atol=1e-4)
    # factorized at rank = out channels: exact for any kernel whose reshaped matrix has rank <= out channels
    conv2 = nn.Conv2d(4, 16, 3, padding=1, stride=2)
    new2, err2 = factorized_from(conv2)
    assert err2 < 1e-5 and torch.allclose(new2(x[:, :4]), conv2(x[:, :4]), atol=1e-4)
    # dynamic conv starts as the original
    dyn = DynamicConv2d(conv2, k=4)
    assert torch.allclose(dyn(x[:, :4]), conv2(x[:, :4]), atol=1e-5)


@pytest.mark.parametrize("kind", ["dwsep", "factorized", "dynamic"])
def test_surgery_on_reference_v8n_changes_cost_and_stays_a_valid_model(default_model, kind, tmp_path):
    from yolo_compress.api import ExportConfig, export
    from yolo_compress.models import save_model

    res = surgery(default_model, kind, imgsz=320)
    assert res.replaced
    if kind == "dwsep":
        assert res.gflops_after < 0.75 * res.gflops_before  # the seeds say ~35% fewer GFLOPs on YOLOv8n
    elif kind == "factorized":
        assert res.params_after < res.params_before
    else:
        assert res.params_after > res.params_before  # K kernels per layer
    pt = save_model(res.model, tmp_path / "s.pt")
    out = export(pt, ExportConfig(format="onnx", imgsz=64), out=tmp_path / "s.onnx")
    assert out.parity.passed
    from yolo_compress.runtime.graphstats import onnx_stats, tflite_stats, torch_stats

    # the ONNX graph is counted like the PyTorch model: depthwise, factorized, and dynamic convolutions
    # (whose per-image weight is mixed from a kernel bank by an Einsum, so it is no initializer)
    ref = torch_stats(load_model(pt).model.float().fuse(), 64)
    assert onnx_stats(out.artifact.path) == ref
    if kind == "dwsep":  # and the TFLite graph too
        lite = export(pt, ExportConfig(format="tflite", imgsz=64), out=tmp_path / "s.tflite")
        assert lite.parity.passed
        assert tflite_stats(lite.artifact.path) == ref


def test_bad_layer_names_are_refused(default_model, tmp_path):
    with pytest.raises(ConfigError, match="does not exist"):
        surgery(default_model, "dwsep", layers=("model.99",))
    with pytest.raises(ConfigError, match="unknown"):
        surgery(default_model, "ghost")
    r = run_cli("surgery", str(default_model), "--kind", "dwsep", "--layers", "model.42", "--out", str(tmp_path / "x.pt"))
    assert r.returncode != 0 and r.stderr.count("\n") == 1 and "model.42" in r.stderr
    assert not (tmp_path / "x.pt").exists()


@pytest.mark.parametrize("kind", ["dwsep", "factorized", "dynamic"])
def test_replaced_blocks_still_fold_batchnorm_exactly(kind):
    """Export and val run Ultralytics' fuse(): the replaced blocks must fold their BN without changing the
    function (checked in float64 with real BN statistics)."""
    import copy

    from yolo_compress.reparam import reparam
    from test_reparam import _randomize_bn

    y = load_model("yolov8n.yaml", nc=3)
    _randomize_bn(y.model)
    res = surgery(y, kind, layers=("model.1", "model.3"), imgsz=64)
    assert len(res.replaced) == 2
    rp = reparam(res.model, imgsz=64)
    assert rp.passed, rp.summary()
