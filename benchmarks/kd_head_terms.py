"""The distillation head terms between a teacher and each student on a few val images: how large each loss is
before and after training, so that a loss weight can be read against the others (BENCHMARKS.md section 11).

    YOLO_OFFLINE=1 .venv/bin/python benchmarks/kd_head_terms.py \\
        --teacher benchmarks/zoo/yolo26n-garbage320-200ep-extra20/seed0/final.pt \\
        --student benchmarks/results/recovery-yolo26n-converged-0.50-100ep-bf16/pruned-allocationsensitivity-criteriontaylor-round_to4.pt \\
        --student benchmarks/results/recovery-yolo26n-converged-0.50-100ep-bf16/f-sens-s0/final.pt

Both models in eval mode, the one-to-many head (the branch the distillation reads), temperature 2 (the default),
every registered head loss with the weights of the teacher's confidence, as ``distill`` computes them.
"""

from __future__ import annotations

import argparse
from pathlib import Path

import torch

from yolo_compress.data import load_data, preprocess, read_image
from yolo_compress.distill.losses import LOSSES, list_losses
from yolo_compress.models import load_model

DATA = Path(__file__).resolve().parents[2] / "shared/datasets/garbage-320/data.yaml"


def head(model, x):
    with torch.no_grad():
        out = model(x)
    out = out[1] if isinstance(out, tuple) else out
    return out["one2many"] if isinstance(out, dict) and "one2many" in out else out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--teacher", type=Path, required=True)
    ap.add_argument("--student", type=Path, action="append", required=True)
    ap.add_argument("--data", type=Path, default=DATA, help="data.yaml; its val split is read")
    ap.add_argument("--n", type=int, default=8, help="how many val images (sorted by name)")
    ap.add_argument("--imgsz", type=int, default=320)
    ap.add_argument("--temperature", type=float, default=2.0)
    a = ap.parse_args()
    files = load_data(a.data).images("val", limit=a.n)
    x = torch.from_numpy(preprocess([read_image(f) for f in files], a.imgsz)[0])
    teacher = load_model(a.teacher).model.float().eval()
    reg_max = teacher.model[-1].reg_max
    t = head(teacher, x)
    names = list_losses("head")
    print(f"teacher {a.teacher} (reg_max {reg_max}), {len(files)} val images of {a.data} at {a.imgsz}, "
          f"T {a.temperature}\n")
    print("| student | " + " | ".join(names) + " |")
    print("|---|" + "---|" * len(names))
    for s_path in a.student:
        s = head(load_model(s_path).model.float().eval(), x)
        vals = [float(LOSSES[n].make(channels=[1], reg_max=reg_max)(s, t, a.temperature)) for n in names]
        print(f"| {s_path} | " + " | ".join(f"{v:.4f}" for v in vals) + " |")


if __name__ == "__main__":
    main()
