"""Pruning YOLOv9 (ELAN, AConv, SPPELAN, RepConv), YOLOv10 (SCDown, C2fCIB, PSA, dual heads) and YOLO26
(C3k2 with attention, end-to-end head without DFL) to half their GFLOPs keeps valid Ultralytics models:
they run with the same output layout, reload with ``YOLO()``, train, and export to ONNX with parity."""

import copy

import pytest
import torch

from yolo_compress.config import PruneConfig
from yolo_compress.models import load_model, save_model
from yolo_compress.prune import prune

IMGSZ = 64
FAMILIES = ["yolov9t.yaml", "yolov9s.yaml", "yolov10n.yaml", "yolo26n.yaml"]
# round_to=2: these tiny YAML models have layers 16-64 wide, where uniform pruning in steps of 8 channels
# jumps over 50% of the GFLOPs (e.g. yolov10n: 56% -> 44%); real widths (x4 and more) do not need it
HALF = PruneConfig(target_flops=0.5, imgsz=IMGSZ, round_to=2)


@pytest.fixture(autouse=True)
def one_thread():
    """2 shared cores: tiny convs run ~10x faster on one intra-op thread than on two contended ones."""
    n = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(n)


def _out(model, x):
    with torch.inference_mode():
        y = model.eval()(x)
    return y[0] if isinstance(y, (list, tuple)) else y


@pytest.fixture(scope="module", params=FAMILIES)
def pruned(request, tmp_path_factory):
    torch.set_num_threads(1)
    y = load_model(request.param, nc=3)
    res = prune(y, HALF)
    pt = save_model(res.model, tmp_path_factory.mktemp("fam") / f"{request.param[:-5]}-half.pt")
    return request.param, y, res, pt


def test_half_the_gflops_same_output_layout(pruned):
    from yolo_compress.prune.yolo_blocks import ADownSplitFree, C2fSplitFree, ELANSplitFree

    name, y, res, _ = pruned
    assert abs(res.flops_kept - 0.5) <= 0.05, res.summary()
    assert res.channels and res.params_after < res.params_before
    x = torch.rand(1, 3, IMGSZ, IMGSZ)
    ref, out = _out(y.model, x), _out(res.model.model, x)
    assert out.shape == ref.shape  # (1, 7, anchors); end-to-end: (1, anchors, 6)
    assert not any(isinstance(m, (C2fSplitFree, ELANSplitFree, ADownSplitFree)) for m in res.model.model.modules())
    assert sum(p.numel() for p in y.model.parameters()) == res.params_before  # the input is untouched


def test_reloads_as_plain_ultralytics(pruned):
    from ultralytics import YOLO
    from ultralytics.nn.modules.block import C2f, RepNCSPELAN4

    name, y, res, pt = pruned
    again = YOLO(str(pt))
    assert type(again.model) is type(y.model)
    assert sum(p.numel() for p in again.model.parameters()) == res.params_after
    for m in again.model.modules():
        if isinstance(m, (C2f, RepNCSPELAN4)):  # chunk(2) needs equal halves
            assert m.cv1.conv.out_channels == 2 * m.c, name
    x = torch.rand(1, 3, IMGSZ, IMGSZ)
    a, b = _out(again.model.float(), x), _out(res.model.model, x)
    assert ((a - b).abs() <= 1e-2 * (1 + b.abs())).all()  # checkpoints hold fp16 weights


def test_end2end_heads_pruned_in_step(pruned):
    name, y, res, _ = pruned
    det = res.model.model.model[-1]
    if getattr(det, "one2one_cv2", None) is None:
        pytest.skip(f"{name} has one head")
    for many, one in (("cv2", "one2one_cv2"), ("cv3", "one2one_cv3")):
        for a, b in zip(getattr(det, many).modules(), getattr(det, one).modules()):
            if isinstance(a, torch.nn.Conv2d):
                assert a.weight.shape == b.weight.shape, (name, many)
    widths = lambda d: [c.out_channels for c in d.cv2.modules() if isinstance(c, torch.nn.Conv2d)]  # noqa: E731
    assert sum(widths(det)) < sum(widths(y.model.model[-1])), name  # the heads were pruned, not only kept whole


def test_end2end_heads_keep_the_same_channels():
    """The one-to-one head is trained apart from the one-to-many one, so their weights rank channels
    differently; pruned in step, both keep the same channels (tagged here by a BN shift = channel index,
    which no criterion reads)."""
    from ultralytics.nn.modules.conv import Conv

    from yolo_compress.prune.yolo_blocks import _head_twins

    y = load_model("yolo26n.yaml", nc=3)
    det = y.model.model[-1]
    torch.manual_seed(0)
    pairs = _head_twins(det)
    assert len(pairs) >= 12
    for many, one in pairs:
        one.conv.weight.data.normal_()  # a different ranking from the one-to-many twin
        for c in (many, one):
            c.bn.bias.data = torch.arange(c.bn.num_features, dtype=torch.float32)
    res = prune(y, PruneConfig(ratio=0.3, imgsz=IMGSZ, round_to=2))
    det = res.model.model.model[-1]
    pruned_pairs = _head_twins(det)
    assert any(a.bn.num_features < b.bn.num_features for (a, _), (b, _) in zip(pruned_pairs, pairs))
    for many, one in pruned_pairs:
        assert isinstance(many, Conv) and torch.equal(many.bn.bias, one.bn.bias)


def test_trains_one_step(pruned, default_data):
    """One optimiser step on Ultralytics' own detection loss (both heads of an end-to-end model)."""
    from ultralytics.cfg import get_cfg

    from yolo_compress.data import load_data, loss_batches

    name, _, res, pt = pruned
    m = load_model(pt).model.float()
    m.args = get_cfg()
    m.criterion = None
    m.train()
    batch = next(iter(loss_batches(load_data(default_data, splits=("val",)), IMGSZ, 1, batch_size=4, split="val")))
    opt = torch.optim.SGD(m.parameters(), lr=0.01)
    before = [p.detach().clone() for p in m.parameters()]
    loss, _ = m.loss(batch)
    loss.sum().backward()
    opt.step()
    assert torch.isfinite(loss).all()
    assert sum(not torch.equal(a, b) for a, b in zip(before, m.parameters())) > len(before) // 2


def test_exports_to_onnx_with_parity(pruned, tmp_path):
    from yolo_compress.api import ExportConfig, export

    name, _, _, pt = pruned
    # onnxslim (~7 s a model on 2 busy cores) only for the seeds' v9t and the end-to-end YOLO26
    simplify = name in ("yolov9t.yaml", "yolo26n.yaml")
    res = export(pt, ExportConfig(format="onnx", imgsz=IMGSZ, simplify=simplify), out=tmp_path / "p.onnx")
    assert res.parity.passed, (name, res.parity)


def test_repconv_prune_then_fuse_is_exact():
    """YOLOv9's RepConv (RepConvN in the paper) pruned as two branches, then fused into one conv: exact."""
    from yolo_compress.reparam import reparam

    res = prune(load_model("yolov9t.yaml", nc=3), PruneConfig(ratio=0.3, imgsz=IMGSZ, round_to=2))
    out = reparam(res.model, imgsz=IMGSZ)
    assert out.branches_fused > 0 and out.passed, out.summary()


def _dead_quarter(m, ignored, halves=None):
    """A quarter of every prunable channel gets zero BN scale and shift (its output is SiLU(0) = 0)."""
    from ultralytics.nn.modules.block import C2f, RepNCSPELAN4

    halves = {**{mod.cv1.bn: mod.c for mod in m.modules() if isinstance(mod, (C2f, RepNCSPELAN4))}, **(halves or {})}
    g = torch.Generator().manual_seed(0)
    for bn in m.modules():
        if isinstance(bn, torch.nn.BatchNorm2d) and bn not in ignored:
            n = bn.num_features
            bn.running_mean.copy_(torch.rand(n, generator=g) * 2 - 1)
            bn.running_var.copy_(torch.rand(n, generator=g) * 1.5 + 0.5)
            bn.weight.data.copy_(torch.rand(n, generator=g) + 0.5)
            bn.bias.data.copy_(torch.rand(n, generator=g) - 0.5)
            width = halves.get(bn, n)  # a chunked cv1 is pruned as two halves
            for start in range(0, n, width):
                bn.weight.data[start : start + width // 4] = 0
                bn.bias.data[start : start + width // 4] = 0


def test_repconv_fuse_then_prune_is_exact():
    """A fused YOLOv9 (RepConv already one conv, BN folded) prunes too: with dead channels whose every
    weight is zero, L1 pruning at ratio 0.25 removes exactly those and leaves the outputs unchanged."""
    from ultralytics.nn.modules.conv import RepConv

    from yolo_compress.prune.yolo_blocks import default_ignored_layers

    y = load_model("yolov9t.yaml", nc=3)
    m = y.model.eval()
    _dead_quarter(m, {mod for layer in default_ignored_layers(m) for mod in layer.modules()})
    m.fuse(verbose=False)
    assert any(isinstance(r, RepConv) and hasattr(r, "conv") and not hasattr(r, "conv1") for r in m.modules())
    x = torch.rand(2, 3, IMGSZ, IMGSZ)
    # a dead channel's readers may hold any weight on it (it multiplies zero): zero them, so that the group
    # L1 norm of a dead channel is exactly 0 and only the dead channels rank last
    convs = [c for c in m.modules() if isinstance(c, torch.nn.Conv2d) and c.groups == 1]
    seen: dict[torch.nn.Conv2d, torch.Tensor] = {}
    hooks = [c.register_forward_pre_hook(lambda c, i: seen.__setitem__(c, i[0].abs().amax((0, 2, 3)) == 0))
             for c in convs]
    ref = _out(m, x)
    for h in hooks:
        h.remove()
    for c, dead in seen.items():
        c.weight.data[:, dead] = 0
    assert torch.equal(ref, _out(m, x))
    res = prune(y, PruneConfig(ratio=0.25, criterion="l1", imgsz=IMGSZ, round_to=1))
    assert res.params_after < 0.8 * res.params_before
    assert (ref - _out(res.model.model, x)).abs().max().item() < 1e-3


@pytest.fixture(scope="module")
def v9_adown_yaml(tmp_path_factory):
    """YOLOv9t with ADown (YOLOv9-C/E's downsampler, which chunks its input) in place of AConv."""
    from pathlib import Path

    import ultralytics

    src = Path(ultralytics.__file__).parent / "cfg" / "models" / "v9" / "yolov9t.yaml"
    p = tmp_path_factory.mktemp("adown") / "yolov9t-adown.yaml"
    p.write_text(src.read_text().replace("AConv", "ADown"))
    return p


def test_adown_dead_channels_go_and_halves_stay_equal(v9_adown_yaml, tmp_path):
    """ADown splits its input in two: dead channels in a quarter of each half are removed exactly; with
    global allocation the halves come out unequal and are equalised; both reload as plain Ultralytics."""
    from ultralytics import YOLO
    from ultralytics.nn.modules.block import ADown

    from yolo_compress.prune.yolo_blocks import default_ignored_layers

    y = load_model(str(v9_adown_yaml), nc=3)
    m = y.model.eval()
    layers = list(m.model)
    feeds = {layers[i - 1].cv4.bn: layers[i - 1].cv4.bn.num_features // 2 for i, l in enumerate(layers)
             if isinstance(l, ADown) and hasattr(layers[i - 1], "cv4")}
    assert len(feeds) >= 3
    _dead_quarter(m, {mod for layer in default_ignored_layers(m) for mod in layer.modules()}, feeds)
    x = torch.rand(1, 3, IMGSZ, IMGSZ)
    ref = _out(m, x)
    res = prune(y, PruneConfig(ratio=0.25, criterion="bn", imgsz=IMGSZ, round_to=1))
    assert (ref - _out(res.model.model, x)).abs().max().item() < 1e-3
    torch.manual_seed(0)
    for p in m.parameters():  # unequal magnitudes: global ranking prunes the two halves differently
        p.data.mul_(torch.rand_like(p) * 2)
    g = prune(y, PruneConfig(ratio=0.3, imgsz=IMGSZ, round_to=2, global_pruning=True))
    again = YOLO(str(save_model(g.model, tmp_path / "g.pt"))).model.float()
    downs = [d for d in again.modules() if isinstance(d, ADown)]
    assert downs and all(d.cv1.conv.in_channels == d.cv2.conv.in_channels for d in downs)
    assert _out(again, x).shape == ref.shape


def test_refusal_names_the_block():
    """A family that is not supported (YOLO12's area attention) is refused before any work, by name."""
    from yolo_compress.errors import UnsupportedError

    with pytest.raises(UnsupportedError, match="A2C2f.*A2C2f: YOLO12 area attention"):
        prune(load_model("yolo12n.yaml", nc=3), PruneConfig(ratio=0.3, imgsz=IMGSZ))


def test_info_layers_names_what_stays_whole_and_why():
    """`info --layers` marks the layers pruning keeps whole, with the reason (api.kept_whole)."""
    from yolo_compress.api import kept_whole

    whole = kept_whole(load_model("yolo26n.yaml", nc=3).model)
    assert "model.10.m.0.attn" in whole and "head count" in whole["model.10.m.0.attn"]
    assert "model.22.cv1" in whole and "attention" in whole["model.22.cv1"]  # the C3k2 with attention
    assert "model.23.one2one_cv3.0.2" in whole  # class logits of the one-to-one head
    v9 = kept_whole(load_model("yolov9t.yaml", nc=3).model)
    assert not any(".cv1" in k for k in v9)  # YOLOv9 has no attention: only the head outputs stay whole


@pytest.mark.parametrize("nms_free", [True, False])
def test_end2end_export_nms_free_or_for_external_nms(pruned, tmp_path, nms_free):
    """YOLOv10 / YOLO26 pruned: --nms-free exports the one-to-one head ((1, k, 6) boxes after top-k, no NMS)
    and passes parity against the same branch in PyTorch; the default exports the one-to-many head as
    Ultralytics does. A model without an end-to-end head refuses --nms-free before any export."""
    import numpy as np
    import onnxruntime as ort

    from yolo_compress.api import ExportConfig, export
    from yolo_compress.errors import InputError

    name, _, _, pt = pruned
    cfg = ExportConfig(format="onnx", imgsz=IMGSZ, simplify=False, nms_free=nms_free)
    if name.startswith("yolov9") and nms_free:
        with pytest.raises(InputError, match="no NMS-free"):
            export(pt, cfg, out=tmp_path / "p.onnx")
        assert not (tmp_path / "p.onnx").exists()
        return  # (without --nms-free, YOLOv9 goes on below: the one-to-many layout, as for the others)
    res = export(pt, cfg, out=tmp_path / "p.onnx")
    assert res.parity.passed and res.artifact.end2end is nms_free, (name, res.parity)
    y = ort.InferenceSession(str(res.artifact.path)).run(None, {"images": np.zeros((1, 3, IMGSZ, IMGSZ), np.float32)})[0]
    assert (y.shape[0], y.shape[2]) == ((1, 6) if nms_free else (1, 84)), y.shape  # 84 anchors at 64 px


@pytest.mark.parametrize("yaml_name", ["yolov8n.yaml", "yolo11n.yaml", "yolov10n.yaml"])
def test_gradient_scores_have_one_entry_per_root_channel(yaml_name):
    """Torch-Pruning 1.6.1's Taylor sums a group's scores into a vector sized by the first layer it scores; in a
    YOLOv10 C2fCIB group rooted at a depthwise conv that is the concat consumer, longer than the root, and the cut
    named channels the root does not have (importance._RootSized). Ours: one score per root channel in every
    group, and Torch-Pruning's own scores, bit for bit, wherever its vector was the root's length (every
    YOLOv8n / YOLO11n group: their Taylor cuts are unchanged)."""
    import torch_pruning as tp

    from yolo_compress.prune.importance import CRITERIA
    from yolo_compress.prune.prune import _prunable_copy, _trace_outputs
    from yolo_compress.prune.yolo_blocks import default_ignored_layers

    m, _ = _prunable_copy(load_model(yaml_name, nc=3).model)
    ours, theirs = CRITERIA["taylor"].make(), tp.importance.GroupTaylorImportance()
    # the groups the cut walks: the pruner prune.py builds (attention and head outputs kept out, with every submodule)
    pruner = tp.pruner.MetaPruner(m, torch.zeros(1, 3, IMGSZ, IMGSZ), importance=ours, pruning_ratio=0.5,
                                  ignored_layers=default_ignored_layers(m), output_transform=_trace_outputs)
    g = torch.Generator().manual_seed(0)
    for p in m.parameters():
        p.grad = torch.randn(p.shape, generator=g)
    DG, longer = pruner.DG, 0
    for group in DG.get_all_groups(ignored_layers=pruner.ignored_layers, root_module_types=pruner.root_module_types):
        dep = group[0].dep
        n = (DG.get_out_channels if DG.is_out_channel_pruning_fn(dep.handler) else DG.get_in_channels)(dep.target.module)
        a, b = ours(group), theirs(group)
        if a is None:
            assert b is None
            continue
        assert len(a) == n, (str(group), len(a), n)
        if len(b) == n:
            assert torch.equal(a, b)
        else:
            longer += 1
    # YOLOv10n has such groups (so this test meets the fault; if a Torch-Pruning release fixes it, _RootSized can go)
    assert (longer > 0) == (yaml_name == "yolov10n.yaml")


def test_yolov10_taylor_with_sensitivity_allocation_prunes(default_data, tmp_path):
    """The edge-cpu cut (Taylor scores, per-block ratios from the sensitivity scan) on YOLOv10n was refused with
    'pruning broke this model (Given groups=16 ...)' before importance._RootSized."""
    data = tmp_path / "data.yaml"
    data.write_text(f"train: {default_data.parent / 'images' / 'val'}\nnames: [garbage, garbage_bin, overflow]\n")
    y = load_model("yolov10n.yaml", nc=3)
    res = prune(y, PruneConfig(target_flops=0.4, criterion="taylor", allocation="sensitivity", imgsz=IMGSZ,
                               round_to=8, data=str(data), grad_batches=1))
    assert abs(res.flops_kept - 0.4) <= 0.05, res.summary()
    x = torch.rand(1, 3, IMGSZ, IMGSZ)
    assert _out(res.model.model, x).shape == _out(y.model, x).shape
