"""Re-parameterization is exact: BN folding and RepConv branch fusion on real and random input."""

from __future__ import annotations

import pytest
import torch

from conftest import run_cli
from yolo_compress.models import load_model
from yolo_compress.reparam import reparam, reparam_checkpoint


def _randomize_bn(net, seed=0):
    """Untrained BN is the identity (mean 0, var 1): give it real statistics so that folding is tested."""
    g = torch.Generator().manual_seed(seed)
    for m in net.modules():
        if isinstance(m, torch.nn.BatchNorm2d):
            n = m.num_features
            m.running_mean.copy_(torch.randn(n, generator=g) * 0.5)
            m.running_var.copy_(torch.rand(n, generator=g) + 0.5)
            m.weight.data.copy_(torch.rand(n, generator=g) + 0.5)
            m.bias.data.copy_(torch.randn(n, generator=g) * 0.1)


def test_reference_model_folds_exactly(default_model):
    res = reparam(default_model, imgsz=320)
    assert res.bn_folded == 57 and res.passed
    assert res.max_diff_real <= 1e-4 and res.max_diff_random <= 1e-4
    assert res.max_diff_fp32 < 0.01  # float32 rounding on outputs of hundreds of pixels


@pytest.mark.parametrize("yaml", ["yolov9t.yaml", "yolo11n.yaml"])
def test_repconv_and_bn_fusion_exact_with_real_statistics(yaml):
    y = load_model(yaml, nc=3)
    _randomize_bn(y.model)
    res = reparam(y, imgsz=64)
    assert res.passed and res.bn_folded > 0
    if yaml.startswith("yolov9"):
        assert res.branches_fused > 0  # RepNCSPELAN4's RepConvN blocks became single convolutions
    assert not any(isinstance(m, torch.nn.BatchNorm2d) for m in res.model.model.modules())


def test_a_wrong_fusion_is_caught(default_model, monkeypatch):
    """The check can fail: corrupt one folded convolution and the result is refused."""
    from ultralytics.nn.tasks import DetectionModel

    real_fuse = DetectionModel.fuse

    def bad_fuse(self, verbose=True):
        out = real_fuse(self, verbose=verbose)
        conv = next(m for m in out.modules() if isinstance(m, torch.nn.Conv2d))
        conv.bias.data += 0.5
        return out

    monkeypatch.setattr(DetectionModel, "fuse", bad_fuse)
    res = reparam(default_model, imgsz=128)
    assert not res.passed and "FAILED" in res.summary()


def test_cli_reparam_saves_loadable_fused_checkpoint(default_model, tmp_path):
    out = tmp_path / "fused.pt"
    r = run_cli("reparam", str(default_model), "--imgsz", "128", "--out", str(out))
    assert r.returncode == 0, r.stderr
    assert "exact" in r.stdout
    y = load_model(out)
    assert not any(isinstance(m, torch.nn.BatchNorm2d) for m in y.model.modules())
    r = run_cli("reparam", str(default_model), "--out", str(default_model))
    assert r.returncode != 0 and "input model" in r.stderr
