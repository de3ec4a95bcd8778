"""Re-parameterization: fold BatchNorm into the preceding convolution and fuse RepConv / RepVGG-style
branches into one convolution (Ultralytics' ``fuse()``: Conv/Conv2/DWConv BN folding, ``RepConv.fuse_convs``,
``RepVGGDW.fuse``), with an exactness check.

Folding is done in float64 and checked there, before vs. after, on random and on real images, where it is
exact up to rounding (~1e-12); the fused model is then cast back to float32 and that difference is
reported too (rounding on outputs that reach hundreds of pixels: ~3e-4 on the reference YOLOv8n). A
fusion that changes the function fails.
"""

from __future__ import annotations

import copy
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Sequence

import numpy as np
import torch

from .errors import ParityError


@dataclass
class ReparamResult:
    model: object  # the Ultralytics YOLO object holding the fused network
    bn_folded: int
    branches_fused: int  # RepConv / RepVGGDW blocks turned into one convolution
    max_diff_random: float  # float64
    max_diff_real: float  # float64
    max_diff_fp32: float  # float32, real images (rounding, for information)
    tolerance: float

    @property
    def passed(self) -> bool:
        return max(self.max_diff_random, self.max_diff_real) <= self.tolerance

    def summary(self) -> str:
        return (f"reparam: {self.bn_folded} BatchNorm folded, {self.branches_fused} multi-branch blocks fused; "
                f"max |diff| {self.max_diff_random:.2g} (random) / {self.max_diff_real:.2g} (real images) in float64, "
                f"{self.max_diff_fp32:.2g} in float32 rounding; tolerance {self.tolerance:g}: "
                f"{'exact' if self.passed else 'FAILED'}")


def _count(net) -> tuple[int, int]:
    from ultralytics.nn.modules.conv import RepConv
    from ultralytics.nn.modules.block import RepVGGDW

    bn = sum(isinstance(m, torch.nn.BatchNorm2d) for m in net.modules())
    rep = sum(isinstance(m, RepConv) and hasattr(m, "conv1") for m in net.modules())
    rep += sum(isinstance(m, RepVGGDW) and hasattr(m, "conv1") for m in net.modules())
    return bn, rep


def _out(net, x):
    with torch.no_grad():
        y = net(x)
    return y[0] if isinstance(y, (list, tuple)) else y


def reparam(model, imgsz: int = 640, images: Sequence[np.ndarray] | None = None, tolerance: float = 1e-4,
            seed: int = 0) -> ReparamResult:
    """Fuse ``model`` (path or Ultralytics YOLO) and prove it computes the same function."""
    from .data import preprocess
    from .models import load_model

    y = load_model(model) if isinstance(model, (str, os.PathLike)) else model
    net = y.model.float().eval()
    before = copy.deepcopy(net)
    bn0, rep0 = _count(net)
    # fold in float64: the check then measures the transformation, not float32 rounding of the new weights
    fused64 = copy.deepcopy(net).double().fuse(verbose=False)
    bn1, rep1 = _count(fused64)
    g = torch.Generator().manual_seed(seed)
    x_rand = torch.rand(2, 3, imgsz, imgsz, generator=g)
    if images is None:
        from .shipped import demo_images

        images = demo_images(4)
    x_real = torch.from_numpy(preprocess(list(images), imgsz)[0])
    a64 = copy.deepcopy(before).double()
    d_rand = float((_out(a64, x_rand.double()) - _out(fused64, x_rand.double())).abs().max())
    d_real = float((_out(a64, x_real.double()) - _out(fused64, x_real.double())).abs().max())
    fused = fused64.float()
    d32 = float((_out(before, x_real) - _out(fused, x_real)).abs().max())
    y.model = fused
    return ReparamResult(y, bn0 - bn1, rep0 - rep1, d_rand, d_real, d32, tolerance)


def reparam_checkpoint(src: str | os.PathLike, out: str | os.PathLike | None = None, imgsz: int = 640,
                       tolerance: float = 1e-4) -> tuple[ReparamResult, Path]:
    """Fuse a checkpoint into ``out`` (never over the input); refuses to save a fusion that is not exact."""
    from .io import beside, check_not_input
    from .models import save_model

    src = Path(src)
    dest = Path(out) if out else beside(src, f"{src.stem}-fused.pt")
    check_not_input(dest, {"model": src})
    res = reparam(src, imgsz, tolerance=tolerance)
    if not res.passed:
        raise ParityError(f"'{src}' {res.summary()}; nothing was written")
    save_model(res.model, dest)
    return res, dest
