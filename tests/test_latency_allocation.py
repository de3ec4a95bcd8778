"""Latency-aware channel allocation (prune/latency_cost.py): the cost table maps onto real convolutions, the
HALP-like ranking reaches its target with a valid model, and the costs really steer which channels go.
No timing is asserted: a profile only has to name real layers with positive times."""

from __future__ import annotations

from dataclasses import replace

import pytest
import torch
from torch import nn

from yolo_compress.config import PruneConfig
from yolo_compress.errors import ConfigError
from yolo_compress.models import load_model
from yolo_compress.prune import prune
from yolo_compress.prune.latency_cost import (ConvCost, CostTable, flops_table, measure_onnxruntime,
                                              onnx_scope_to_module)

IMGSZ = 64


@pytest.fixture(scope="module")
def v8n():
    return load_model("yolov8n.yaml", nc=3)


def _convs(y) -> dict[str, nn.Conv2d]:
    return {n: m for n, m in y.model.named_modules() if isinstance(m, nn.Conv2d)}


def test_onnx_scopes_map_to_module_names():
    names = {"model", "model.2", "model.2.cv1", "model.2.cv1.conv", "model.22", "model.22.cv2", "model.22.cv2.0",
             "model.22.cv2.0.0", "model.22.cv2.0.0.conv", "model.22.cv2.0.2"}
    assert onnx_scope_to_module("/model.2/cv1/conv", names) == "model.2.cv1.conv"
    assert onnx_scope_to_module("/model.22/cv2.0/cv2.0.0/conv", names) == "model.22.cv2.0.0.conv"
    assert onnx_scope_to_module("/model.22/cv2.0/cv2.0.2", names) == "model.22.cv2.0.2"
    assert onnx_scope_to_module("/model.9/m", names) is None


def test_onnxruntime_cost_table_names_real_convolutions(v8n, tmp_path):
    table = measure_onnxruntime(v8n, IMGSZ, threads=1, runs=3)
    convs = _convs(v8n)
    assert table.unit == "ms" and table.source["runtime"] == "onnxruntime"
    assert set(table.convs) == set(convs), sorted(set(convs) ^ set(table.convs))  # every conv of the graph is found
    for name, c in table.convs.items():
        assert name in convs, name
        assert (c.in_channels, c.out_channels) == (convs[name].in_channels, convs[name].out_channels)
        assert c.cost > 0, name
    again = CostTable.load(table.save(tmp_path / "t.json"))
    assert again == table


def _expensive(table: CostTable, layer: str, factor: float) -> CostTable:
    convs = dict(table.convs)
    convs[layer] = replace(convs[layer], cost=convs[layer].cost * factor)
    return CostTable(convs, table.unit, table.source)


def _channels(res, layer: str) -> int:
    return dict(res.model.model.named_modules())[layer].out_channels


@pytest.mark.parametrize("criterion", ["l2", "lamp"])
def test_costs_steer_the_ranking(v8n, tmp_path, criterion):
    """The same ratio with a table where one layer the FLOPs table leaves whole is made 1000x more expensive:
    that layer now loses channels (down to the cap at most)."""
    def run(table, tag):
        p = table.save(tmp_path / f"{tag}-{criterion}.json")
        return prune(v8n, PruneConfig(ratio=0.2, imgsz=IMGSZ, criterion=criterion, allocation="latency",
                                      latency_table=str(p)))

    plain = flops_table(v8n, IMGSZ)
    res = run(plain, "plain")
    # the bottleneck first conv (its group: this conv's outputs + the next conv's inputs) that kept the most
    convs = _convs(v8n)
    layer = max((n for n in convs if ".m.0.cv1." in n), key=lambda n: _channels(res, n) / convs[n].out_channels)
    before, kept = convs[layer].out_channels, _channels(res, layer)
    assert kept > before * (1 - 0.9) + 8, (layer, kept)  # room left to lose channels
    costly = run(_expensive(plain, layer, 1000.0), "costly")
    assert before * (1 - 0.9) <= _channels(costly, layer) < kept, (layer, kept, _channels(costly, layer))


def test_no_layer_loses_more_than_the_cap(v8n, tmp_path):
    """Torch-Pruning's global threshold alone would skip, not cap, a group whose channels all rank low."""
    table = flops_table(v8n, IMGSZ)
    p = table.save(tmp_path / "t.json")
    res = prune(v8n, PruneConfig(ratio=0.4, imgsz=IMGSZ, allocation="latency", latency_table=str(p),
                                 max_layer_ratio=0.75, round_to=4))
    assert res.channels
    for name, (b, a) in res.channels.items():
        assert a >= b * (1 - 0.75) - 1e-9, (name, b, a)


def test_latency_allocation_reaches_target_and_reloads(v8n, tmp_path):
    from yolo_compress.models import save_model
    from yolo_compress.prune import prune_checkpoint

    src = save_model(v8n, tmp_path / "in.pt")
    table = flops_table(v8n, IMGSZ)
    # make the costs differ from FLOPs: the stem and the P3 head are 5x dearer per MAC than the rest
    convs = {n: replace(c, cost=c.cost * (5.0 if n.startswith(("model.0.", "model.22.cv2.0", "model.22.cv3.0"))
                                             else 1.0)) for n, c in table.convs.items()}
    tp = CostTable(convs, "ms", {"imgsz": IMGSZ}).save(tmp_path / "lat.json")
    res, dest = prune_checkpoint(src, PruneConfig(target_flops=0.6, imgsz=IMGSZ, allocation="latency",
                                                  latency_table=str(tp)), tmp_path / "out.pt")
    assert abs(res.flops_kept - 0.6) <= 0.05, res.summary()
    assert "allocation latency" in res.summary()
    with torch.inference_mode():
        ref = v8n.model.float().eval()(torch.zeros(1, 3, IMGSZ, IMGSZ))[0].shape
        out = load_model(dest).model.float().eval()(torch.zeros(1, 3, IMGSZ, IMGSZ))[0].shape
    assert out == ref
    uniform = prune(v8n, PruneConfig(target_flops=0.6, imgsz=IMGSZ))
    assert res.channels != uniform.channels  # a different allocation, not the uniform one renamed


def test_latency_table_for_another_model_is_refused(v8n, tmp_path):
    bad = CostTable({"model.0.conv": ConvCost(1.0, 3, 999)}, "ms", {"imgsz": IMGSZ}).save(tmp_path / "bad.json")
    with pytest.raises(ConfigError, match="not made for this model"):
        prune(v8n, PruneConfig(ratio=0.2, imgsz=IMGSZ, allocation="latency", latency_table=str(bad)))


@pytest.mark.parametrize("kw,match", [({"allocation": "fast"}, "allocation 'fast' is unknown"),
                                      ({"latency_table": "t.json"}, "--allocation latency only"),
                                      ({"allocation": "latency", "target_flops": "auto", "ratio": None},
                                       "auto")])
def test_config_refuses_bad_allocation(kw, match):
    opts = {"ratio": 0.2, **kw}
    with pytest.raises(ConfigError, match=match) as e:
        PruneConfig(**opts)
    assert "\n" not in str(e.value)


def test_cli_refuses_unknown_allocation(tiny_pt, tmp_path):
    from conftest import run_cli

    r = run_cli("prune", str(tiny_pt), "--target-flops", "0.6", "--imgsz", "64", "--allocation", "fast",
                "--out", str(tmp_path / "x.pt"))
    lines = [ln for ln in r.stderr.strip().splitlines() if ln.strip()]
    assert r.returncode != 0 and len(lines) == 1 and "allocation 'fast' is unknown" in lines[0], r.stderr
    assert not (tmp_path / "x.pt").exists()
