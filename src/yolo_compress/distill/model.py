"""The student-teacher pair that Ultralytics' trainer trains.

``KDModel`` subclasses Ultralytics' own ``DistillationModel`` (8.4, the one behind ``distill_model=``) for
everything around the loss: forward hooks on the Detect inputs and the head, a frozen teacher in eval
mode, the teacher stripped from the EMA and from the final ``best.pt`` / ``last.pt`` (Ultralytics unwraps
the student), validation on the student. We replace its loss (score-weighted L2 on the neck) by ours: any
weighted set of the registered head and feature losses, on the same augmented batch, with schedules.
"""

from __future__ import annotations

import torch
from torch import nn
from ultralytics.nn.distill_model import DistillationModel

from ..config import DistillConfig
from .losses import LOSSES, check_losses, make_adapter


class KDModel(DistillationModel):
    def __init__(self, teacher_model: nn.Module, student_model: nn.Module, cfg: DistillConfig):
        check_losses(cfg.losses)
        super().__init__(teacher_model=teacher_model, student_model=student_model)
        self.kd = cfg.as_dict()
        s_ch = [p[0].in_channels for p in self.projector]
        t_ch = [p[0].out_channels for p in self.projector]
        reg_max = student_model.model[-1].reg_max
        kinds = {LOSSES[n].kind for n, _ in cfg.losses}
        self.adapters = nn.ModuleList(make_adapter(a, b) for a, b in zip(s_ch, t_ch)) if "feature" in kinds else None
        self.kd_losses = nn.ModuleDict({n: LOSSES[n].make(channels=t_ch, reg_max=reg_max) for n, _ in cfg.losses})
        self.kd_weights = dict(cfg.losses)
        self.progress = 0.0  # share of the run done, set by the trainer every batch
        self.epochs_total = 1

    # ------------------------------------------------------------------------------------ schedule
    def factors(self) -> tuple[float, float, float]:
        """(head weight, feature weight, head temperature) at the current point of the run."""
        k = self.kd
        p = self.progress
        warm = 1.0 if k["warmup_epochs"] <= 0 else min(1.0, p * self.epochs_total / k["warmup_epochs"])
        head = feat = warm
        if k["schedule"] == "progressive":
            a, b = k["stages"]
            head = 0.0 if p < a or p >= b else warm
            feat = 0.0 if p >= b else warm
        t0, t1 = k["temperature"], k["temperature_end"] or k["temperature"]
        return head, feat, t0 + (t1 - t0) * min(1.0, p)

    def kd_terms(self, s_head: dict, t_head: dict, s_feats: list, t_feats: list) -> dict[str, torch.Tensor]:
        """Unweighted value of every configured loss (tests call this directly)."""
        _, _, T = self.factors()
        out = self.head_terms(s_head, t_head, T)
        adapted = [a(f) for a, f in zip(self.adapters, s_feats)] if self.adapters is not None else None
        for name, loss in self.kd_losses.items():
            if LOSSES[name].kind != "head":
                out[name] = loss(adapted, t_feats, self.kd["feature_temperature"])
        return out

    def head_terms(self, s_head: dict, t_head: dict, T: float) -> dict[str, torch.Tensor]:
        """Unweighted value of every configured head loss on one branch of the head."""
        return {n: loss(s_head, t_head, T) for n, loss in self.kd_losses.items() if LOSSES[n].kind == "head"}

    def loss(self, batch, preds=None):
        if not self.training:  # validation loss during training: the student's own
            return super().loss(batch, preds)
        self._teacher_feats.clear()
        self._student_feats.clear()
        with torch.no_grad():
            self.teacher_model(batch["img"])
        preds = self.student_model(batch["img"])
        regular, items = self.student_model.loss(batch, preds)
        n = len(self.feats_idx) - 1
        s_out, t_out = self._student_feats[n], self._teacher_feats[n]
        s_head = self.decouple_outputs(s_out, branch="one2many")
        t_head = self.decouple_outputs(t_out, branch="one2many")
        s_feats = [self._student_feats[i] for i in range(n)]
        t_feats = [self._teacher_feats[i] for i in range(n)]
        head_w, feat_w, T = self.factors()
        kd = torch.zeros(1, device=batch["img"].device)
        if head_w or feat_w:
            terms = self.kd_terms(s_head, t_head, s_feats, t_feats)
            if self.kd["head_branches"] == "both" and isinstance(s_out, dict) and "one2one" in s_out:
                # the one-to-one branch of an end-to-end head (detached features: only its own convs learn from it)
                for name, v in self.head_terms(s_out["one2one"], self.decouple_outputs(t_out, "one2one"), T).items():
                    terms[name] = terms[name] + v
            for name, v in terms.items():
                w = head_w if LOSSES[name].kind == "head" else feat_w
                kd = kd + self.kd_weights[name] * w * v
        items["dis_loss"] = kd.detach()  # the name Ultralytics uses (its val loss reports it too)
        return torch.cat([regular, kd * batch["img"].shape[0]]), items
