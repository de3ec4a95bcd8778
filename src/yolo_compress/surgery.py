"""Architecture surgery from the seeds (article 002, section 3): replace chosen k x k convolutions by

- ``dwsep``: depthwise k x k + pointwise 1x1 (MobileNet), initialised by the best rank-1 fit per input
  channel (SVD of W[:, i] = P[:, i] D[i]^T, the least-squares optimum; the seeds' identity init is not);
- ``factorized``: 1 x k then k x 1 (mid channels = out channels, as in the seeds), initialised by a
  truncated SVD of W reshaped to (out*kh) x (in*kw), the least-squares optimum at that rank;
- ``dynamic``: K parallel kernels mixed per image by a softmax attention (Chen et al. 2020), initialised
  as K copies of the original so the network starts out unchanged.

Each replacement keeps the layer's BatchNorm and activation (Ultralytics ``Conv``), so only ``conv``
changes; the result is a normal Ultralytics checkpoint that trains, exports and benches. The fit error of
every replaced layer is reported; recovery is by fine-tuning or distillation from the original.
"""

from __future__ import annotations

import fnmatch
import os
from dataclasses import dataclass, field
from pathlib import Path

import torch
from torch import nn

from .errors import ConfigError

KINDS = ("dwsep", "factorized", "dynamic")


class PreConv2d(nn.Conv2d):
    """The second convolution of a separable / factorized pair, with the first one as ``pre``. It stays an
    ``nn.Conv2d`` so that Ultralytics' in-place BatchNorm folding (``fuse()``, run by export and val) folds
    the block's BN into it."""

    def __init__(self, pre: nn.Module, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.pre = pre

    def forward(self, x):
        return super().forward(self.pre(x))


class DynamicConv2d(nn.Module):
    """K kernels mixed by a per-image softmax attention over global-average-pooled input."""

    def __init__(self, conv: nn.Conv2d, k: int = 4):
        super().__init__()
        self.k = k
        self.stride, self.padding, self.dilation, self.groups = conv.stride, conv.padding, conv.dilation, conv.groups
        w = conv.weight.detach()
        # (out, K, in, kh, kw): output channels first, so that BatchNorm folding (which scales dim 0) is exact
        self.weight = nn.Parameter(w.unsqueeze(1).repeat(1, k, 1, 1, 1))
        self.bias = nn.Parameter(conv.bias.detach().clone()) if conv.bias is not None else None  # shared
        hidden = max(4, conv.in_channels // 4)
        self.attn = nn.Sequential(nn.AdaptiveAvgPool2d(1), nn.Conv2d(conv.in_channels, hidden, 1), nn.ReLU(inplace=True),
                                  nn.Conv2d(hidden, k, 1))
        nn.init.zeros_(self.attn[-1].weight)  # uniform attention at start: the mix equals the original kernel
        nn.init.zeros_(self.attn[-1].bias)

    def macs(self, inp: torch.Tensor, out: torch.Tensor) -> int:
        """Multiply-accumulates of the mixed convolution plus the kernel mixing (the attention's own 1x1
        convolutions are counted by their hooks)."""
        o, k, i, kh, kw = self.weight.shape
        return out[0].numel() * i * kh * kw + self.weight.numel()

    def forward(self, x):
        b, c, h, w = x.shape
        a = torch.softmax(self.attn(x).view(b, self.k), 1)  # (B, K)
        weight = torch.einsum("bk,okihw->boihw", a, self.weight).reshape(-1, *self.weight.shape[2:])
        bias = self.bias.repeat(b) if self.bias is not None else None
        y = nn.functional.conv2d(x.reshape(1, b * c, h, w), weight, bias, self.stride, self.padding, self.dilation,
                                 self.groups * b)
        return y.view(b, -1, *y.shape[2:])


def dwsep_from(conv: nn.Conv2d) -> tuple[PreConv2d, float]:
    w = conv.weight.detach()  # (O, I, k, k)
    o, i, kh, kw = w.shape
    dw = nn.Conv2d(i, i, (kh, kw), conv.stride, conv.padding, conv.dilation, groups=i, bias=False)
    pw = PreConv2d(dw, i, o, 1, bias=conv.bias is not None)
    d = torch.zeros(i, kh * kw)
    p = torch.zeros(o, i)
    for c in range(i):
        u, s, vh = torch.linalg.svd(w[:, c].reshape(o, -1), full_matrices=False)
        p[:, c] = u[:, 0] * s[0]
        d[c] = vh[0]
    with torch.no_grad():
        dw.weight.copy_(d.view(i, 1, kh, kw))
        pw.weight.copy_(p.view(o, i, 1, 1))
        if conv.bias is not None:
            pw.bias.copy_(conv.bias)
    approx = torch.einsum("oi,ik->oik", p, d).view_as(w)
    return pw, float((approx - w).norm() / w.norm())


def factorized_from(conv: nn.Conv2d) -> tuple[PreConv2d, float]:
    w = conv.weight.detach()
    o, i, kh, kw = w.shape
    sh, sw = conv.stride
    ph, pw_ = conv.padding
    rank = o
    a = nn.Conv2d(i, rank, (1, kw), (1, sw), (0, pw_), bias=False)
    b = PreConv2d(a, rank, o, (kh, 1), (sh, 1), (ph, 0), bias=conv.bias is not None)
    m = w.permute(0, 2, 1, 3).reshape(o * kh, i * kw)  # M[(o,kh),(i,kw)]
    u, s, vh = torch.linalg.svd(m, full_matrices=False)
    r = min(rank, s.numel())
    uu = (u[:, :r] * s[:r]).reshape(o, kh, r)  # B[o, m, kh]
    vv = vh[:r].reshape(r, i, kw)  # A[m, i, kw]
    with torch.no_grad():
        a.weight.zero_()
        b.weight.zero_()
        a.weight[:r].copy_(vv.unsqueeze(2))  # (r, i, 1, kw)
        b.weight[:, :r].copy_(uu.permute(0, 2, 1).unsqueeze(3))  # (o, r, kh, 1)
        if conv.bias is not None:
            b.bias.copy_(conv.bias)
    approx = (uu.reshape(o * kh, r) @ vv.reshape(r, i * kw)).reshape(o, kh, i, kw).permute(0, 2, 1, 3)
    return b, float((approx - w).norm() / w.norm())


@dataclass
class SurgeryResult:
    model: object
    kind: str
    replaced: dict[str, float] = field(default_factory=dict)  # layer -> relative fit error of the weights
    params_before: int = 0
    params_after: int = 0
    gflops_before: float = 0.0
    gflops_after: float = 0.0

    def summary(self) -> str:
        errs = list(self.replaced.values())
        return (f"surgery {self.kind}: {len(self.replaced)} convolutions replaced; params "
                f"{self.params_before / 1e6:.3f}M -> {self.params_after / 1e6:.3f}M, GFLOPs {self.gflops_before:.3f} -> "
                f"{self.gflops_after:.3f} ({self.gflops_after / self.gflops_before - 1:+.1%}); weight fit error "
                f"median {sorted(errs)[len(errs) // 2]:.3f}, max {max(errs):.3f}" if errs else "surgery: nothing replaced")


def candidates(net: nn.Module, layers: tuple[str, ...] = ()) -> list[str]:
    """Names of the Ultralytics ``Conv`` blocks whose k x k (k > 1), ungrouped convolution can be replaced:
    all of them when ``layers`` is empty (the Detect head and the first layer excluded), else those matching
    the given names or glob patterns (``model.2.*``)."""
    from ultralytics.nn.modules.conv import Conv

    head = len(net.model) - 1
    names = []
    for name, m in net.named_modules():
        if not isinstance(m, Conv) or not isinstance(m.conv, nn.Conv2d):
            continue
        c = m.conv
        if c.kernel_size[0] <= 1 or c.groups != 1:
            continue
        if layers:
            if any(fnmatch.fnmatch(name, pat) or name == pat for pat in layers):
                names.append(name)
        elif not name.startswith((f"model.{head}.", "model.0.")) and name != "model.0":
            names.append(name)
    return names


def surgery(model, kind: str, layers: tuple[str, ...] = (), imgsz: int = 640, dynamic_k: int = 4) -> SurgeryResult:
    """Replace convolutions of ``model`` (path or YOLO) in place of a copy; returns the new YOLO and the fits."""
    from .models import load_model
    from .runtime.graphstats import model_info

    if kind not in KINDS:
        raise ConfigError(f"surgery kind '{kind}' is unknown; choose one of: {', '.join(KINDS)}")
    y = load_model(model) if isinstance(model, (str, os.PathLike)) else model
    net = y.model
    before = model_info(y, imgsz)
    names = candidates(net, layers)
    if layers:
        all_names = {n for n, _ in net.named_modules()}
        for pat in layers:
            if not any(fnmatch.fnmatch(n, pat) or n == pat for n in names):
                near = [n for n in candidates(net)][:3]
                what = "does not exist" if not any(fnmatch.fnmatch(n, pat) or n == pat for n in all_names) else \
                    "is not a k x k ungrouped convolution block"
                raise ConfigError(f"surgery layer '{pat}' {what}; use names like {', '.join(near)} "
                                  f"(see 'yolo-compress info --layers')")
    if not names:
        raise ConfigError("no convolution to replace; pass --layers with k x k convolution blocks")
    res = SurgeryResult(y, kind)
    for name in names:
        block = net.get_submodule(name)
        conv = block.conv
        if kind == "dwsep":
            new, err = dwsep_from(conv)
        elif kind == "factorized":
            new, err = factorized_from(conv)
        else:
            new, err = DynamicConv2d(conv, dynamic_k), 0.0
        block.conv = new
        res.replaced[name] = err
    after = model_info(y, imgsz)
    res.params_before, res.params_after = before.params, after.params
    res.gflops_before, res.gflops_after = before.gflops, after.gflops
    return res


def surgery_checkpoint(src: str | os.PathLike, out: str | os.PathLike, kind: str, layers: tuple[str, ...] = (),
                       imgsz: int = 640) -> tuple[SurgeryResult, Path]:
    from .io import check_not_input
    from .models import save_model

    src, dest = Path(src), Path(out)
    check_not_input(dest, {"model": src})
    res = surgery(src, kind, layers, imgsz)
    save_model(res.model, dest)
    return res, dest
