"""Latency-aware channel allocation: which channels go when a channel's *measured* cost counts.

A HALP-like criterion (Shen et al., "Structural Pruning via Latency-Saliency Knapsack", NeurIPS 2022):
channels are ranked globally by importance divided by the latency their removal saves, so channels that
are cheap in accuracy and expensive in latency go first (the greedy solution of the knapsack).

Three small pieces, each replaceable:

* the **cost table**: per convolution of the unpruned model, its time on the target runtime, measured
  once by the runtime's own profiler (``measure_onnxruntime``: our ONNX export, ONNX Runtime with
  ``enable_profiling``, the per-node median over ``runs`` calls; the convolution's activation node is
  counted with it). ``flops_table`` gives the same table with MACs as the cost: the control that
  separates "latency instead of FLOPs" from "knapsack instead of plain importance".
* the **linear latency model**: removing one channel of a dependency group saves, for every convolution
  the group touches, ``t / out_channels`` where it narrows the convolution's output and ``t / in_channels``
  where it narrows its input (a depthwise convolution counts once).
* ``CostAwareImportance``: any Torch-Pruning importance divided by that per-channel saving, used with
  global ranking (``PruneConfig(allocation="latency")``).

The model is linear in the channel counts; real kernels are step functions of them (vector-width blocks,
kernel choice per shape), which is why the benchmark that decides whether to keep this compares
*measured* latencies (BENCHMARKS.md section 9).
"""

from __future__ import annotations

import json
import math
import os
import tempfile
from dataclasses import asdict, dataclass, field
from pathlib import Path

import torch
from torch import nn

from ..errors import ConfigError, InputError

TABLE_KIND = "yolo-compress conv cost table"


@dataclass(frozen=True)
class ConvCost:
    cost: float  # ms (latency tables) or MACs (flops tables) of the whole convolution, unpruned
    in_channels: int
    out_channels: int
    groups: int = 1


@dataclass(frozen=True)
class CostTable:
    convs: dict[str, ConvCost]  # torch module name (e.g. "model.2.cv1.conv") -> cost of that nn.Conv2d
    unit: str  # "ms" or "MACs"
    source: dict = field(default_factory=dict)  # how it was made: runtime, version, threads, runs, imgsz

    def total(self) -> float:
        return sum(c.cost for c in self.convs.values())

    def save(self, path: str | os.PathLike) -> Path:
        from ..io import atomic_write_text

        p = Path(path)
        data = {"kind": TABLE_KIND, "unit": self.unit, "source": self.source,
                "convs": {k: asdict(v) for k, v in self.convs.items()}}
        atomic_write_text(p, json.dumps(data, indent=1) + "\n")
        return p

    @classmethod
    def load(cls, path: str | os.PathLike) -> "CostTable":
        p = Path(path)
        try:
            data = json.loads(p.read_text())
        except (OSError, json.JSONDecodeError) as e:
            raise InputError(f"latency table '{p}' cannot be read ({e}); pass a JSON written by "
                             f"`yolo-compress prune --allocation latency` (<out>.latency.json)") from None
        if not isinstance(data, dict) or data.get("kind") != TABLE_KIND:
            raise InputError(f"'{p}' is not a yolo-compress conv cost table (kind '{TABLE_KIND}')")
        return cls({k: ConvCost(**v) for k, v in data["convs"].items()}, data.get("unit", "ms"), data.get("source", {}))


# ------------------------------------------------------------------------------------- measuring
def _convs(det: nn.Module) -> dict[str, nn.Conv2d]:
    return {n: m for n, m in det.named_modules() if isinstance(m, nn.Conv2d)}


def onnx_scope_to_module(scope: str, names: set[str]) -> str | None:
    """The torch module name of an ONNX node scope, e.g. ``/model.22/cv2.0/cv2.0.0/conv`` ->
    ``model.22.cv2.0.0.conv``. Each scope segment is a module path relative to one of the enclosing
    modules that were called (a ModuleList is not), so each is tried under the deepest ancestor first."""
    path = ""
    for seg in (s for s in scope.split("/") if s):
        base = path
        while True:
            cand = f"{base}.{seg}" if base else seg
            if cand in names:
                path = cand
                break
            if not base:
                return None
            base = base.rsplit(".", 1)[0] if "." in base else ""
    return path or None


def ort_node_times(onnx_path: str | os.PathLike, imgsz: int, threads: int = 2, runs: int = 30,
                   warmup: int = 5) -> dict[str, tuple[str, float]]:
    """Per-node median kernel time in ms over ``runs`` calls of ONNX Runtime (CPU, batch 1, its own
    profiler): node name -> (op type, ms)."""
    import numpy as np
    import onnxruntime as ort

    with tempfile.TemporaryDirectory(prefix="yc-ortprof-") as tmp:
        so = ort.SessionOptions()
        so.intra_op_num_threads = threads
        so.inter_op_num_threads = 1
        sess = ort.InferenceSession(str(onnx_path), so, providers=["CPUExecutionProvider"])
        inp = sess.get_inputs()[0].name
        x = np.random.default_rng(0).random((1, 3, imgsz, imgsz), dtype=np.float32)
        for _ in range(warmup):
            sess.run(None, {inp: x})
        so.enable_profiling = True
        so.profile_file_prefix = str(Path(tmp) / "prof")
        sess = ort.InferenceSession(str(onnx_path), so, providers=["CPUExecutionProvider"])
        for _ in range(warmup + runs):
            sess.run(None, {inp: x})
        events = json.loads(Path(sess.end_profiling()).read_text())
    per: dict[str, list[float]] = {}
    ops: dict[str, str] = {}
    for e in events:
        name = e.get("name", "")
        if e.get("cat") == "Node" and name.endswith("_kernel_time"):
            n = name[: -len("_kernel_time")]
            per.setdefault(n, []).append(e["dur"] / 1e3)
            ops[n] = e.get("args", {}).get("op_name", "")
    return {n: (ops[n], float(np.median(t[warmup:] if len(t) > warmup else t))) for n, t in per.items()}


def conv_times(node_times: dict[str, tuple[str, float]], det: nn.Module) -> dict[str, float]:
    """Map per-node times onto the model's nn.Conv2d names: a Conv node's time plus that of its block's
    activation (``/model.2/cv1/act/...`` beside ``/model.2/cv1/conv/Conv``). Nodes of no convolution
    (concat, split, resize, the DFL softmax, layout reorders) are not prunable costs and are left out."""
    names = {n for n, _ in det.named_modules() if n}
    convs = _convs(det)
    out: dict[str, float] = {}
    act: dict[str, float] = {}
    for node, (op, ms) in node_times.items():
        scope = node.rsplit("/", 1)[0] if "/" in node else ""
        if "Conv" in op:
            mod = onnx_scope_to_module(scope, names)
            if mod in convs:
                out[mod] = out.get(mod, 0.0) + ms
        elif "/act/" in node + "/":
            block = node.split("/act/")[0] if "/act/" in node else scope.rsplit("/act", 1)[0]
            act[block] = act.get(block, 0.0) + ms
    for block, ms in act.items():
        mod = onnx_scope_to_module(block + "/conv", names)
        if mod in out:
            out[mod] += ms
    return out


def measure_onnxruntime(model, imgsz: int, threads: int = 2, runs: int = 30) -> CostTable:
    """The cost table of ``model`` (an Ultralytics YOLO or DetectionModel, unpruned): exported to ONNX with
    our exporter (no parity pass: only the graph's timing matters), profiled in ONNX Runtime."""
    import onnxruntime as ort

    from ..config import ExportConfig
    from ..export.exporter import export
    from ..models import save_model, torch_module

    det = torch_module(model)
    with tempfile.TemporaryDirectory(prefix="yc-latcost-") as tmp:
        pt = Path(tmp) / "model.pt"
        if det is not model:
            save_model(model, pt)
        else:  # a bare DetectionModel: the checkpoint layout Ultralytics' Model.save writes
            import copy

            torch.save({"model": copy.deepcopy(det).half(), "train_args": {}, "date": None, "version": None}, pt)
        onnx = export(pt, ExportConfig(format="onnx", imgsz=imgsz, verify=False), out=Path(tmp) / "model.onnx",
                      threads=threads).artifact.path
        times = conv_times(ort_node_times(onnx, imgsz, threads, runs), det)
    convs = _convs(det)
    if not times:
        raise ConfigError("the ONNX Runtime profile named none of this model's convolutions; "
                          "latency-aware allocation needs an Ultralytics model exported with its module names")
    table = {n: ConvCost(ms, c.in_channels, c.out_channels, c.groups) for n, c in convs.items()
             if (ms := times.get(n)) is not None}
    return CostTable(table, "ms", {"runtime": "onnxruntime", "version": ort.__version__, "threads": threads,
                                   "runs": runs, "imgsz": imgsz, "statistic": "per-node median"})


def flops_table(model, imgsz: int) -> CostTable:
    """The same table with each convolution's MACs as its cost (a forward pass at ``imgsz``)."""
    from ..models import torch_module

    det = torch_module(model)
    macs: dict[str, float] = {}
    hooks = []
    for n, c in _convs(det).items():
        def hook(m, inp, out, n=n):
            macs[n] = float(out[0].numel() * m.kernel_size[0] * m.kernel_size[1] * (m.in_channels // m.groups))
        hooks.append(c.register_forward_hook(hook))
    try:
        p = next(det.parameters())
        with torch.inference_mode():
            det.eval()(torch.zeros(1, 3, imgsz, imgsz, dtype=p.dtype, device=p.device))
    finally:
        for h in hooks:
            h.remove()
    convs = _convs(det)
    return CostTable({n: ConvCost(v, convs[n].in_channels, convs[n].out_channels, convs[n].groups)
                      for n, v in macs.items()}, "MACs", {"imgsz": imgsz})


# ------------------------------------------------------------------------------------- the criterion
def bind_costs(table: CostTable, m: nn.Module) -> dict[nn.Conv2d, tuple[float, float]]:
    """Per nn.Conv2d of ``m`` (the prunable copy: C2f's ``cv1`` split into ``cv0`` + ``cv1``), the cost
    saved per output channel and per input channel removed. A convolution narrower than its table entry
    (a split half) gets the matching share of the time: the model is linear in both widths."""
    out: dict[nn.Conv2d, tuple[float, float]] = {}
    for name, conv in _convs(m).items():
        entry = table.convs.get(name)
        if entry is None and ".cv0." in name:  # the first half of a split-free C2f / ELAN cv1
            entry = table.convs.get(name.replace(".cv0.", ".cv1."))
        if entry is None:
            continue
        t = entry.cost * (conv.out_channels / entry.out_channels) * (conv.in_channels / entry.in_channels)
        out[conv] = (t / conv.out_channels, t / conv.in_channels)
    return out


def group_cost(group, costs: dict[nn.Conv2d, tuple[float, float]]) -> torch.Tensor:
    """Cost saved per channel of a Torch-Pruning group (indexed like its importance vector)."""
    import torch_pruning as tp

    n = len(group[0][1])
    total = torch.zeros(n)
    for i, (dep, _idxs) in enumerate(group):
        layer, fn = dep.layer, dep.pruning_fn
        if layer not in costs:
            continue
        root = group[i].root_idxs
        if any(r is None for r in root):
            continue
        per_out, per_in = costs[layer]
        if fn == tp.prune_conv_out_channels:
            c = per_out
        elif fn == tp.prune_conv_in_channels:
            if layer.groups > 1 and layer.groups == layer.in_channels:
                continue  # depthwise: input and output channels go together; counted once, as output
            c = per_in
        else:
            continue
        total.scatter_add_(0, torch.tensor(root, dtype=torch.long), torch.full((len(root),), float(c)))
    return total


class CostAwareImportance:
    """``base(group) / cost saved per channel``: rank by importance per millisecond (HALP's greedy
    knapsack order). Groups that touch no costed convolution get the smallest cost seen, so they are not
    favoured for removal (nothing measured says they save time)."""

    def __init__(self, base, costs: dict[nn.Conv2d, tuple[float, float]], max_ratio: float = 0.9, round_to: int = 1):
        self.base = base
        self.costs = costs
        self.max_ratio = max_ratio
        self.round_to = max(1, round_to)
        vals = [v for pair in costs.values() for v in pair if v > 0]
        self.floor = min(vals) if vals else 1.0

    def __getattr__(self, name):  # Taylor / Hessian state (accumulate_grad, zero_grad, ...) stays the base's
        return getattr(self.__dict__["base"], name)

    def __call__(self, group):
        imp = self.base(group)
        if imp is None:
            return None
        cost = group_cost(group, self.costs).to(imp.device, imp.dtype)
        if len(cost) != len(imp):  # grouped layers: Torch-Pruning averages over channel groups later
            return imp
        score = imp / cost.clamp_min(self.floor)
        # Torch-Pruning's global threshold has no per-layer cap within one step (a group whose channels all
        # fall under it is skipped whole): the most important channels of every group are kept out of reach
        n = len(score)
        keep = min(n, -(-math.ceil(n * (1 - self.max_ratio)) // self.round_to) * self.round_to)
        if keep > 0:
            score[torch.topk(score, keep).indices] = float("inf")
        return score
