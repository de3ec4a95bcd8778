"""Pruning on DepGraph keeps v8 / v11 models valid, exportable and loadable; the criterion matters."""

import hashlib

import pytest
import torch

from yolo_compress.config import PruneConfig
from yolo_compress.errors import ConfigError, UnsupportedError
from yolo_compress.models import load_model, save_model
from yolo_compress.prune import list_criteria, prune
from yolo_compress.prune.importance import CRITERIA
from yolo_compress.prune.yolo_blocks import C2fSplitFree, to_prunable

IMGSZ = 64
FAMILIES = ["yolov8n.yaml", "yolo11n.yaml"]


@pytest.fixture(scope="module", params=FAMILIES)
def family(request):
    return request.param, load_model(request.param, nc=3)


def test_split_free_blocks_are_exact(family):
    _, y = family
    import copy

    m = copy.deepcopy(y.model).eval()
    x = torch.rand(1, 3, IMGSZ, IMGSZ)
    with torch.inference_mode():
        ref = m(x)[0]
        assert to_prunable(m) >= 4
        assert torch.equal(ref, m(x)[0])


@pytest.mark.parametrize("what,global_pruning", [("target_flops", False), ("target_params", True)])
def test_targets_reached_within_5_points(family, what, global_pruning):
    _, y = family
    res = prune(y, PruneConfig(**{what: 0.7}, global_pruning=global_pruning, imgsz=IMGSZ))
    achieved = res.flops_kept if what == "target_flops" else res.params_kept
    assert abs(achieved - 0.7) <= 0.05, res.summary()
    assert res.params_after < res.params_before and res.gflops_after < res.gflops_before
    assert res.channels  # some convs lost channels
    # the input model is untouched
    assert sum(p.numel() for p in y.model.parameters()) == res.params_before


@pytest.mark.parametrize("round_to", [4, 8])
def test_flops_target_is_a_budget(round_to):
    """"Keep 50%" lands at or under 50% whenever a level within the tolerance exists there; a level above it
    is shipped only with a note that says so and names the level under it (YOLOv8n, round_to 8: 54.6% or
    38.8%, no level in between)."""
    from yolo_compress.prune.prune import UNDER_SLACK

    y = load_model("yolov8n.yaml", nc=3)
    res = prune(y, PruneConfig(target_flops=0.5, imgsz=IMGSZ, round_to=round_to))
    if round_to == 4:
        assert 0.45 <= res.flops_kept <= 0.5 + UNDER_SLACK and not res.note, res.summary()
    else:
        assert res.flops_kept > 0.5 + UNDER_SLACK and "ABOVE the target" in res.summary(), res.summary()
        under = float(res.note.split("nearest level under it, ")[1].split("%")[0]) / 100
        assert under < 0.45 and res.flops_kept - 0.5 < 0.5 - under, res.summary()


@pytest.mark.parametrize("keep,round_to", [(0.4, 4), (0.45, 1)])
def test_flops_target_lands_close_under(keep, round_to):
    """Where a level within ``CLOSE`` (half a point) under the target exists, the search finds it instead of
    stopping at the first level within half the tolerance (2.5 points), as it did until 2026-12-06: these two
    cases then landed at 38.6% and 43.6% (where 39.6% and 44.9% exist), and "keep 40%" at --round-to 4 shipped
    38.8% of the converged YOLOv8n's GFLOPs where 39.5% exists. (Not every target has such a level: one channel
    step can move the GFLOPs by 2 points.)"""
    from yolo_compress.prune.prune import CLOSE

    res = prune(load_model("yolov8n.yaml", nc=3), PruneConfig(target_flops=keep, imgsz=IMGSZ, round_to=round_to))
    assert keep - CLOSE <= res.flops_kept <= keep and not res.note, res.summary()


def test_pruned_checkpoint_is_plain_ultralytics(family, tmp_path):
    from ultralytics import YOLO
    from ultralytics.nn.modules.block import C2f

    name, y = family
    res = prune(y, PruneConfig(target_flops=0.7, imgsz=IMGSZ))
    p = save_model(res.model, tmp_path / "pruned.pt")
    again = YOLO(str(p))
    mods = list(again.model.modules())
    assert not any(isinstance(m, C2fSplitFree) for m in mods)
    c2f = [m for m in mods if isinstance(m, C2f)]
    assert c2f and all(m.cv1.conv.out_channels == 2 * m.c for m in c2f)
    assert sum(q.numel() for q in again.model.parameters()) == res.params_after
    again.model.float().eval()
    with torch.inference_mode():
        assert again.model(torch.zeros(1, 3, IMGSZ, IMGSZ))[0].shape == (1, 7, 84)


def test_pruned_model_exports_and_passes_parity(family, tmp_path):
    from yolo_compress.api import ExportConfig, export

    _, y = family
    p = save_model(prune(y, PruneConfig(ratio=0.3, imgsz=IMGSZ)).model, tmp_path / "p.pt")
    res = export(p, ExportConfig(format="onnx", imgsz=IMGSZ), out=tmp_path / "p.onnx")
    assert res.parity.passed


@pytest.fixture(scope="module")
def train_yaml(default_data, tmp_path_factory):
    y = tmp_path_factory.mktemp("taylor") / "data.yaml"
    y.write_text(f"train: {default_data.parent / 'images' / 'val'}\nnames: [garbage, garbage_bin, overflow]\n")
    return y


@pytest.mark.parametrize("criterion", list_criteria())
def test_every_criterion_prunes(criterion, train_yaml, default_model):
    y = load_model("yolov8n.yaml", nc=3)
    res = prune(y, PruneConfig(ratio=0.3, criterion=criterion, imgsz=IMGSZ, data=str(train_yaml), grad_batches=1))
    assert res.params_after < res.params_before
    if CRITERIA[criterion].needs_gradients:  # the gradients decide: on trained weights, other channels than L2's
        t = load_model(default_model)
        g = prune(t, PruneConfig(ratio=0.3, criterion=criterion, imgsz=IMGSZ, data=str(train_yaml), grad_batches=1))
        m = prune(t, PruneConfig(ratio=0.3, criterion="l2", imgsz=IMGSZ))
        assert g.params_after == m.params_after and not torch.equal(_weights(g), _weights(m))


def test_gradient_criterion_needs_data():
    with pytest.raises(ConfigError, match="needs training images"):
        prune(load_model("yolov8n.yaml", nc=3), PruneConfig(ratio=0.3, criterion="taylor", imgsz=IMGSZ))


def _weights(res):
    return torch.cat([p.detach().flatten().float() for p in res.model.model.parameters()])


def test_criterion_matters(default_model):
    y = load_model(default_model)  # trained weights: magnitude and random must pick different channels
    a = prune(y, PruneConfig(ratio=0.3, criterion="l2", imgsz=IMGSZ))
    b = prune(y, PruneConfig(ratio=0.3, criterion="random", imgsz=IMGSZ))
    assert a.params_after == b.params_after  # uniform allocation: same widths...
    assert not torch.equal(_weights(a), _weights(b))  # ...different channels kept


def test_global_allocation_differs_from_uniform():
    y = load_model("yolov8n.yaml", nc=3)
    torch.manual_seed(0)
    for p in y.model.parameters():  # give channels unequal magnitudes so global ranking has something to rank
        p.data.mul_(torch.rand_like(p) * 2)
    u = prune(y, PruneConfig(ratio=0.3, imgsz=IMGSZ))
    g = prune(y, PruneConfig(ratio=0.3, global_pruning=True, imgsz=IMGSZ))
    assert u.channels != g.channels


@pytest.mark.parametrize("kwargs,match", [
    ({"ratio": 0.0}, "outside"), ({"ratio": 1.0}, "outside"), ({"ratio": 1.5}, "outside"),
    ({"target_flops": 0.0}, "outside"), ({}, "exactly one"), ({"ratio": 0.3, "target_flops": 0.5}, "exactly one"),
])
def test_bad_config(kwargs, match):
    with pytest.raises(ConfigError, match=match):
        PruneConfig(**kwargs)


def test_unknown_criterion_is_refused_before_any_work():
    """The criterion name is checked against the registry by prune() (config sits below the registry)."""
    with pytest.raises(ConfigError, match="criterion 'magic' is unknown; choose one of: .*l2"):
        prune(load_model("yolov8n.yaml", nc=3), PruneConfig(ratio=0.3, criterion="magic", imgsz=IMGSZ))


def test_ignore_keeps_named_layers_whole():
    y = load_model("yolov8n.yaml", nc=3)
    res = prune(y, PruneConfig(ratio=0.3, imgsz=IMGSZ, ignore=("model.2.cv1", "model.4.cv2")))
    mods = dict(res.model.model.named_modules())
    assert mods["model.2.cv1.conv"].out_channels == 32 and mods["model.4.cv2.conv"].out_channels == 64
    assert "model.6.cv2.conv" in res.channels  # others still pruned
    with pytest.raises(ConfigError, match="not a layer"):
        prune(y, PruneConfig(ratio=0.3, imgsz=IMGSZ, ignore=("model.99",)))


def test_unreachable_target():
    y = load_model("yolov8n.yaml", nc=3)
    with pytest.raises(UnsupportedError, match="cannot be reached"):
        prune(y, PruneConfig(target_flops=0.01, imgsz=IMGSZ, max_layer_ratio=0.5))


def test_no_prunable_layers():
    y = load_model("yolov8n.yaml", nc=3)
    with pytest.raises(UnsupportedError, match="no prunable layers"):
        prune(y, PruneConfig(ratio=0.3, imgsz=IMGSZ, round_to=100000))


def test_cli_prune_leaves_input_untouched(tiny_pt, tmp_path):
    from conftest import run_cli

    digest = hashlib.sha256(tiny_pt.read_bytes()).hexdigest()
    out = tmp_path / "pruned.pt"
    r = run_cli("prune", str(tiny_pt), "--target-flops", "0.7", "--imgsz", "64", "--out", str(out))
    assert r.returncode == 0, r.stderr
    assert "achieved GFLOPs" in r.stdout and out.exists()
    assert hashlib.sha256(tiny_pt.read_bytes()).hexdigest() == digest
    for args, needle in ((["--ratio", "1.5"], "--ratio 1.5"), (["--ratio", "0.3", "--criterion", "magic"], "magic"),
                         (["--ratio", "0.3", "--out", str(tiny_pt)], "is the input model")):
        r = run_cli("prune", str(tiny_pt), "--imgsz", "64", *args)
        assert r.returncode != 0 and r.stderr.startswith("error: ") and needle in r.stderr, r.stderr
        assert hashlib.sha256(tiny_pt.read_bytes()).hexdigest() == digest


@pytest.mark.parametrize("yaml_name", [*FAMILIES, "yolov9t.yaml", "yolo26n.yaml"])
def test_pruning_dead_channels_is_lossless(yaml_name):
    """Give a quarter of every prunable channel a zero BN scale and shift (its output is SiLU(0) = 0):
    BN-scale pruning at ratio 0.25 must remove exactly those and leave the outputs unchanged. This checks
    the whole graph surgery (split-free C2f/C3k2/ELAN, concats, residuals, SPPF/SPPELAN, RepConv, attention
    kept whole, both heads of an end-to-end model) against ground truth."""
    from ultralytics.nn.modules.block import C2f, RepNCSPELAN4

    from yolo_compress.prune.yolo_blocks import default_ignored_layers

    y = load_model(yaml_name, nc=3)
    m = y.model.eval()
    ignored = {mod for layer in default_ignored_layers(m) for mod in layer.modules()}
    halves = {mod.cv1.bn: mod.c for mod in m.modules() if isinstance(mod, (C2f, RepNCSPELAN4))}
    torch.manual_seed(0)
    for bn in m.modules():
        if isinstance(bn, torch.nn.BatchNorm2d) and bn not in ignored:
            bn.running_mean.uniform_(-1, 1)
            bn.running_var.uniform_(0.5, 2)
            bn.weight.data.uniform_(0.5, 1.5)
            bn.bias.data.uniform_(-0.5, 0.5)
            width = halves.get(bn, bn.num_features)  # a C2f's cv1 is pruned as two halves
            for start in range(0, bn.num_features, width):
                bn.weight.data[start : start + width // 4] = 0
                bn.bias.data[start : start + width // 4] = 0
    x = torch.rand(1, 3, IMGSZ, IMGSZ)
    with torch.inference_mode():
        ref = _raw_outputs(m(x))
    res = prune(y, PruneConfig(ratio=0.25, criterion="bn", imgsz=IMGSZ, round_to=1))
    assert res.params_after < 0.75 * res.params_before
    with torch.inference_mode():
        out = _raw_outputs(res.model.model.eval()(x))
    assert len(out) == len(ref) >= 1
    for a, b in zip(ref, out):
        assert (a - b).abs().max().item() < 1e-3


def _raw_outputs(out):
    """The decoded output and, for an end-to-end model, both heads' raw boxes and scores (its decoded output
    is a top-k, whose order near-ties could swap)."""
    preds = out[1]
    heads = [preds[k] for k in ("one2many", "one2one") if k in preds]
    return [out[0], *(h[k] for h in heads for k in ("boxes", "scores"))]
