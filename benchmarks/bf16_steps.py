"""Forward + backward of a checkpoint at batch 16, 320 px, 2 threads: fp32 vs torch CPU bf16 autocast, interleaved.

    YOLO_OFFLINE=1 .venv/bin/python benchmarks/bf16_steps.py MODEL.pt [REPEATS]

The part of a training step that ``--precision bf16`` changes (data loading, the optimizer and val are not in it):
a ratio from one run on one machine (benchmarks/results/bf16-check/README.md), never a claim for another CPU.
"""

from __future__ import annotations

import statistics
import sys
import time

import torch

from yolo_compress.models import load_model


def _tensors(o) -> list:
    if torch.is_tensor(o):
        return [o]
    if isinstance(o, dict):
        o = list(o.values())
    return [t for i in o for t in _tensors(i)] if isinstance(o, (list, tuple)) else []


def main() -> None:
    torch.set_num_threads(2)
    m = load_model(sys.argv[1]).model.float().train()
    for p in m.parameters():
        p.requires_grad_(True)
    x = torch.rand(16, 3, 320, 320)

    def step(bf16: bool) -> float:
        t = time.perf_counter()
        with torch.autocast("cpu", dtype=torch.bfloat16, enabled=bf16):
            loss = sum(o.float().sum() for o in _tensors(m(x)))
        loss.backward()
        m.zero_grad(set_to_none=True)
        return time.perf_counter() - t

    for b in (False, True, False, True):  # warm-up
        step(b)
    times: dict[bool, list[float]] = {False: [], True: []}
    for _ in range(int(sys.argv[2]) if len(sys.argv) > 2 else 5):
        for b in (False, True):
            times[b].append(step(b))
    f, h = statistics.median(times[False]), statistics.median(times[True])
    print(f"{sys.argv[1]}: fp32 {f:.3f} s, bf16 {h:.3f} s, bf16/fp32 {h / f:.2f}x "
          f"(median of {len(times[True])}, interleaved)")


if __name__ == "__main__":
    main()
