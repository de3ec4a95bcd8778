"""Distillation losses, in a registry (timm style): ``@register_loss`` and ``list_losses()``.

Head losses compare the raw Detect outputs of student and teacher at the same anchors (same strides and
feature levels): ``scores`` (B, nc, A) class logits and ``boxes`` (B, 4*reg_max, A) DFL logits. They are
weighted per anchor by the teacher's confidence (its max class probability), so the background that
dominates the anchors does not dominate the loss. Heads without DFL (``reg_max`` 1: YOLO26) output the four
box sides directly (stride units); there ``ld``, which has no distribution to match, is the L1 distance
between the student's and the teacher's sides, and ``box`` takes the sides as they are.

Feature losses compare the neck outputs (the Detect inputs, P3-P5) after a learned 1x1 adapter from the
student's channels to the teacher's (identity-initialised when the widths match).

=============  ==========================================================================================
``cls_kl``     Bernoulli KL between sigmoid(teacher/T) and sigmoid(student/T) per class (YOLO's classes are
               independent sigmoids), x T^2. Hinton et al. 2015, "Distilling the Knowledge in a Neural Network".
``cls_softmax`` KL between softmax over classes of teacher/T and student/T, x T^2 (the seeds' form).
``ld``         Localization distillation: KL between the DFL box-side distributions, x T^2. Zheng et al.
               CVPR 2022, "Localization Distillation for Dense Object Detection". Without DFL (reg_max 1):
               L1 between the box sides (no temperature).
``box``        1 - IoU between student and teacher boxes (DFL expectations, or the sides without DFL),
               weighted by teacher confidence.
``mse``        MSE on adapted neck features.
``cwd``        Channel-wise distillation: per channel, KL between spatial softmaxes (T), x T^2. Shu et al.
               ICCV 2021, "Channel-wise Knowledge Distillation for Dense Prediction".
``mgd``        Masked generative distillation: mask random student positions, a small generator must
               reconstruct the teacher feature. Yang et al. ECCV 2022, "Masked Generative Distillation".
``attn_mse``   The seeds' attention-masked MSE: a learned 1x1 conv + sigmoid on |T - S| weights both
               features before MSE (article 001, "AdaptiveFeatureLoss"). Note: the attention is trained by
               the loss it weights, so it can learn to switch itself off; we measure it rather than fix it.
=============  ==========================================================================================
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

import torch
import torch.nn.functional as F
from torch import nn


@dataclass(frozen=True)
class LossSpec:
    name: str
    kind: str  # head | feature
    zero_when_equal: bool  # student == teacher gives exactly 0 (tested)
    make: Callable[..., nn.Module]


LOSSES: dict[str, LossSpec] = {}


def register_loss(name: str, kind: str, zero_when_equal: bool = True):
    def deco(cls):
        LOSSES[name] = LossSpec(name, kind, zero_when_equal, cls)
        return cls

    return deco


def list_losses(kind: str | None = None) -> list[str]:
    return sorted(n for n, s in LOSSES.items() if kind is None or s.kind == kind)


def check_losses(losses) -> None:
    """One line for the first name in ``losses`` ((name, weight) pairs) that is not a registered loss
    (DistillConfig does not know the registry)."""
    for name, _ in losses:
        if name not in LOSSES:
            import difflib

            from ..errors import ConfigError

            near = difflib.get_close_matches(name, list_losses(), 1)
            raise ConfigError(f"distillation loss '{name}' is unknown"
                              f"{f' (did you mean {near[0]}?)' if near else ''}; choose from: {', '.join(list_losses())}")


def teacher_weights(t_scores: torch.Tensor) -> torch.Tensor:
    """(B, nc, A) logits -> (B, A) teacher confidence, the per-anchor weight of the head losses."""
    return t_scores.detach().sigmoid().amax(1)


def _weighted(per_anchor: torch.Tensor, w: torch.Tensor) -> torch.Tensor:
    return (per_anchor * w).sum() / w.sum().clamp_min(1e-6)


# ------------------------------------------------------------------------------------------ head
class HeadLoss(nn.Module):
    def __init__(self, reg_max: int = 16, **_):
        super().__init__()
        self.reg_max = reg_max

    def forward(self, s: dict, t: dict, temperature: float) -> torch.Tensor:  # pragma: no cover - interface
        raise NotImplementedError


@register_loss("cls_kl", "head")
class ClsKL(HeadLoss):
    def forward(self, s, t, temperature):
        T = temperature
        p = (t["scores"].detach() / T).sigmoid()
        ce = F.binary_cross_entropy_with_logits(s["scores"] / T, p, reduction="none")
        ent = F.binary_cross_entropy_with_logits(t["scores"].detach() / T, p, reduction="none")
        return _weighted((ce - ent).sum(1), teacher_weights(t["scores"])) * T * T


@register_loss("cls_softmax", "head")
class ClsSoftmax(HeadLoss):
    def forward(self, s, t, temperature):
        T = temperature
        kl = F.kl_div(F.log_softmax(s["scores"] / T, 1), F.log_softmax(t["scores"].detach() / T, 1),
                      reduction="none", log_target=True).sum(1)
        return _weighted(kl, teacher_weights(t["scores"])) * T * T


def _dist(boxes: torch.Tensor, reg_max: int) -> torch.Tensor:
    b, _, a = boxes.shape
    return boxes.view(b, 4, reg_max, a)


def _sides(boxes: torch.Tensor, reg_max: int) -> torch.Tensor:
    """(B, 4, A) box-side distances in stride units: the DFL expectation, or, for a head without DFL
    (reg_max 1, YOLO26), the outputs themselves, which that head decodes as they are."""
    if reg_max == 1:
        return boxes
    proj = torch.arange(reg_max, dtype=boxes.dtype, device=boxes.device).view(1, 1, -1, 1)
    return (_dist(boxes, reg_max).softmax(2) * proj).sum(2)


@register_loss("ld", "head")
class LocalizationKL(HeadLoss):
    def forward(self, s, t, temperature):
        if self.reg_max == 1:  # no distribution (one bin: its softmax is 1 and the KL always 0): the sides
            d = (s["boxes"] - t["boxes"].detach()).abs().mean(1)  # (B, A)
            return _weighted(d, teacher_weights(t["scores"]))
        T = temperature
        ls = F.log_softmax(_dist(s["boxes"], self.reg_max) / T, 2)
        lt = F.log_softmax(_dist(t["boxes"].detach(), self.reg_max) / T, 2)
        kl = F.kl_div(ls, lt, reduction="none", log_target=True).sum(2).mean(1)  # (B, A)
        return _weighted(kl, teacher_weights(t["scores"])) * T * T


@register_loss("box", "head")
class BoxIoU(HeadLoss):
    def forward(self, s, t, temperature):
        # a negative side (possible without DFL, where the decode would draw an inverted box) counts as 0
        a = _sides(s["boxes"], self.reg_max).clamp_min(0)
        b = _sides(t["boxes"].detach(), self.reg_max).clamp_min(0)
        iw = torch.minimum(a[:, 0], b[:, 0]) + torch.minimum(a[:, 2], b[:, 2])
        ih = torch.minimum(a[:, 1], b[:, 1]) + torch.minimum(a[:, 3], b[:, 3])
        inter = iw.clamp_min(0) * ih.clamp_min(0)
        area_a = (a[:, 0] + a[:, 2]) * (a[:, 1] + a[:, 3])
        area_b = (b[:, 0] + b[:, 2]) * (b[:, 1] + b[:, 3])
        iou = (inter + 1e-6) / (area_a + area_b - inter + 1e-6)  # two equal empty boxes: IoU 1
        return _weighted(1 - iou, teacher_weights(t["scores"]))


# --------------------------------------------------------------------------------------- feature
class FeatureLoss(nn.Module):
    """Gets per-level lists of adapted student and teacher features (same shapes)."""

    def __init__(self, channels: list[int], **_):
        super().__init__()
        self.channels = channels

    def level(self, i: int, s: torch.Tensor, t: torch.Tensor, temperature: float) -> torch.Tensor:
        raise NotImplementedError  # pragma: no cover - interface

    def forward(self, s: list[torch.Tensor], t: list[torch.Tensor], temperature: float) -> torch.Tensor:
        return sum(self.level(i, a, b.detach(), temperature) for i, (a, b) in enumerate(zip(s, t))) / len(s)


@register_loss("mse", "feature")
class FeatureMSE(FeatureLoss):
    def level(self, i, s, t, temperature):
        return F.mse_loss(s, t)


@register_loss("cwd", "feature")
class ChannelWise(FeatureLoss):
    def level(self, i, s, t, temperature):
        T = temperature
        n, c = s.shape[:2]
        ls = F.log_softmax(s.reshape(n, c, -1) / T, -1)
        lt = F.log_softmax(t.reshape(n, c, -1) / T, -1)
        return F.kl_div(ls, lt, reduction="none", log_target=True).sum(-1).mean() * T * T


@register_loss("mgd", "feature", zero_when_equal=False)
class MaskedGenerative(FeatureLoss):
    def __init__(self, channels, mask_ratio: float = 0.65, **_):
        super().__init__(channels)
        self.mask_ratio = mask_ratio
        self.gen = nn.ModuleList(
            nn.Sequential(nn.Conv2d(c, c, 3, padding=1), nn.ReLU(inplace=True), nn.Conv2d(c, c, 3, padding=1))
            for c in channels)

    def level(self, i, s, t, temperature):
        keep = (torch.rand(s.shape[0], 1, *s.shape[2:], device=s.device) >= self.mask_ratio).to(s.dtype)
        return F.mse_loss(self.gen[i](s * keep), t)


@register_loss("attn_mse", "feature")
class SeedsAttentionMSE(FeatureLoss):
    def __init__(self, channels, **_):
        super().__init__(channels)
        self.attn = nn.ModuleList(nn.Sequential(nn.Conv2d(c, 1, 1), nn.Sigmoid()) for c in channels)

    def level(self, i, s, t, temperature):
        a = self.attn[i](torch.abs(t - s))
        return F.mse_loss(s * a, t * a)


def make_adapter(c_student: int, c_teacher: int) -> nn.Conv2d:
    """1x1 conv from student to teacher channels; the identity when the widths match, so that a student
    equal to its teacher has zero feature loss from the first step."""
    conv = nn.Conv2d(c_student, c_teacher, 1, bias=True)
    if c_student == c_teacher:
        with torch.no_grad():
            conv.weight.copy_(torch.eye(c_teacher).view(c_teacher, c_teacher, 1, 1))
            conv.bias.zero_()
    return conv
