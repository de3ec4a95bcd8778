"""Quantization-aware training on CPU, with PyTorch's own fake-quant ops and Ultralytics' trainer.

Why not NNCF's PyTorch QAT: it compiles a C++ extension at first use (minutes, a compiler, a lock that
times out on a busy 2-core box); Ultralytics' QAT needs NVIDIA ModelOpt. PyTorch's ``FakeQuantize`` and
``fake_quantize_per_channel_affine`` need nothing and have straight-through gradients.

What is simulated is exactly what the static INT8 backends then run (see :mod:`.onnxrt`): every
convolution except the fixed DFL one gets UINT8 per-tensor asymmetric input activations (min/max
ranges from the calibration images, as ONNX Runtime's MinMax calibration finds them) and INT8 per-output-channel symmetric weights,
7-bit on CPUs without VNNI. Convolutions are BN-folded first (``fuse()``), as they are when exported.
After training the fake-quant wrappers are stripped and the trained float weights go through the same
static quantizer as PTQ, so the QAT artifact has PTQ's kernels and speed.
"""

from __future__ import annotations

from typing import Sequence

import numpy as np
import torch
from torch import nn

from .groups import BOX_BRANCHES


class FakeQuantConv(nn.Module):
    """A ``Conv2d`` whose input and weights are fake-quantized; ``conv`` stays a plain ``Conv2d``."""

    def __init__(self, conv: nn.Conv2d, weight_levels: int = 127):
        super().__init__()
        from torch.ao.quantization import FakeQuantize, MinMaxObserver

        self.conv = conv
        self.weight_levels = weight_levels  # 63: 7-bit weights (ORT reduce_range on CPUs without VNNI)
        self.act = FakeQuantize(observer=MinMaxObserver, quant_min=0, quant_max=255, dtype=torch.quint8,
                                qscheme=torch.per_tensor_affine)

    def quantized_weight(self) -> torch.Tensor:
        w = self.conv.weight
        amax = w.detach().abs().amax(dim=(1, 2, 3)).clamp_min(1e-8)
        scale = (amax / self.weight_levels).float()
        zero = torch.zeros_like(scale, dtype=torch.int32)
        return torch.fake_quantize_per_channel_affine(w, scale, zero, 0, -self.weight_levels, self.weight_levels)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.conv._conv_forward(self.act(x), self.quantized_weight(), self.conv.bias)


def _skip(name: str, head_index: int, box_float: bool = False) -> bool:
    branches = ("dfl", *(f"{b}." for b in BOX_BRANCHES)) if box_float else ("dfl",)
    return any(name.startswith(f"model.{head_index}.{b}") for b in branches)


def prepare(model: nn.Module, weight_levels: int = 127, box_float: bool = False) -> nn.Module:
    """BN-fold ``model`` (an Ultralytics DetectionModel) and wrap its convolutions in place; ``box_float``: not
    the head's box-regression branch, which the static INT8 after training keeps float
    (``QuantConfig.box_float``)."""
    model = model.float().fuse()
    head = len(model.model) - 1
    targets = [(n, m) for n, m in model.named_modules()
               if isinstance(m, nn.Conv2d) and not _skip(n, head, box_float)]
    for name, conv in targets:
        parent_name, _, attr = name.rpartition(".")
        parent = model.get_submodule(parent_name) if parent_name else model
        setattr(parent, attr, FakeQuantConv(conv, weight_levels))
    return model


@torch.no_grad()
def calibrate(model: nn.Module, tensors: Sequence[np.ndarray]) -> None:
    """Initialise activation ranges on calibration images (observers on, quantization off), then freeze
    them: training moves the weights, the ranges stay what the calibration found (the static quantizer will
    re-derive the same ranges from the same images)."""
    fqs = [m.act for m in model.modules() if isinstance(m, FakeQuantConv)]
    for fq in fqs:
        fq.disable_fake_quant()
        fq.enable_observer()
    was = model.training
    model.eval()
    for x in tensors:
        model(torch.from_numpy(x))
    for fq in fqs:  # scale / zero point were set from the final min/max by the last observed forward
        fq.enable_fake_quant()
        fq.disable_observer()
    model.train(was)


def strip(model: nn.Module) -> nn.Module:
    """Replace every wrapper by its (trained) plain convolution, in place."""
    for name, m in list(model.named_modules()):
        if isinstance(m, FakeQuantConv):
            parent_name, _, attr = name.rpartition(".")
            parent = model.get_submodule(parent_name) if parent_name else model
            setattr(parent, attr, m.conv)
    return model


def count(model: nn.Module) -> int:
    return sum(isinstance(m, FakeQuantConv) for m in model.modules())


def claim_run(run, fingerprint: str) -> None:
    """A QAT run folder belongs to one input model and config (``fingerprint.json`` inside): one made for
    another input or config is set aside (``<run>.stale-...``) so the training starts again, never resumed
    from someone else's weights."""
    import json
    import os
    import time
    from pathlib import Path

    from ..io import atomic_write_text

    run = Path(run)
    mark = run / "fingerprint.json"
    if run.exists():
        try:
            same = json.loads(mark.read_text()).get("fingerprint") == fingerprint
        except (OSError, ValueError):
            same = False
        if same:
            return
        os.replace(run, run.with_name(f"{run.name}.stale-{time.strftime('%Y%m%d-%H%M%S')}-{os.getpid()}"))
    atomic_write_text(mark, json.dumps({"fingerprint": fingerprint}))
