"""Where OpenVINO INT8 time goes: per-layer profile (OpenVINO's PERF_COUNT) of FP32 and INT8 IRs of one model.

Answers "why is INT8 only 0.6x of FP32 here, and can a layer choice change it": the time per executed
kernel type, and per convolution the INT8 / FP32 time ratio (the convolutions are matched by node name).
The first artifact is the FP32 reference; every other one is compared with it.

    .venv/bin/python benchmarks/ov_layer_profile.py \\
        benchmarks/results/foundation/yolov8n-garbage320_openvino_model \\
        benchmarks/results/quant/ov_minmax_int8_openvino_model \\
        benchmarks/results/foundation/ultralytics-int8/yolov8n-garbage320_int8_openvino_model \\
        --out benchmarks/results/quant/ov-layer-profile

Timings are per-layer sums inside one process (1 x 3 x imgsz x imgsz, 2 threads, latency hint), so the
ratios compare kernels, not end-to-end latency (use ``yolo-compress bench`` for that). Stop other work on
the machine while it runs.
"""

from __future__ import annotations

import argparse
import collections
import statistics
from pathlib import Path

import numpy as np


def profile(folder: Path, imgsz: int, threads: int, runs: int) -> tuple[collections.Counter, dict, dict]:
    import openvino as ov

    xml = next(folder.glob("*.xml"))
    core = ov.Core()
    compiled = core.compile_model(str(xml), "CPU", {"PERF_COUNT": True, "INFERENCE_NUM_THREADS": threads,
                                                    "PERFORMANCE_HINT": "LATENCY"})
    req = compiled.create_infer_request()
    x = np.random.default_rng(0).random((1, 3, imgsz, imgsz), dtype=np.float32)
    for _ in range(20):
        req.infer({0: x})
    by_kernel: collections.Counter = collections.Counter()
    conv: dict[str, float] = collections.defaultdict(float)
    conv_kernel: dict[str, str] = {}
    for _ in range(runs):
        req.infer({0: x})
        for p in req.get_profiling_info():
            us = p.real_time.total_seconds() * 1e6 / runs
            by_kernel[(p.node_type, p.exec_type)] += us
            if p.node_type == "Convolution":
                conv[p.node_name] += us
                conv_kernel[p.node_name] = p.exec_type
    return by_kernel, conv, conv_kernel


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("folders", type=Path, nargs="+", help="OpenVINO IR folders; the first is the FP32 reference")
    ap.add_argument("--imgsz", type=int, default=320)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--runs", type=int, default=100)
    ap.add_argument("--out", type=Path, default=None)
    a = ap.parse_args()
    res = {f: profile(f, a.imgsz, a.threads, a.runs) for f in a.folders}
    ref = a.folders[0]
    ref_total = sum(res[ref][0].values())
    lines = [f"OpenVINO per-layer profile, imgsz {a.imgsz}, {a.threads} threads, {a.runs} runs; reference: `{ref}`", "",
             "| artifact | sum of layer times (ms) | vs reference | convolutions (ms) | conv share | INT8 conv kernels "
             "| median conv INT8/FP32 | convs slower than FP32 |",
             "|---|---|---|---|---|---|---|---|"]
    _, ref_conv, _ = res[ref]
    for f in a.folders:
        kern, conv, ck = res[f]
        total = sum(kern.values())
        ctime = sum(conv.values())
        common = [n for n in conv if n in ref_conv]
        ratios = [conv[n] / ref_conv[n] for n in common if ref_conv[n] > 0]
        int8 = sum("I8" in ck[n] for n in conv)
        slower = [n for n in common if conv[n] > ref_conv[n]]
        lines.append(f"| `{f.name}` | {total / 1000:.2f} | {total / ref_total:.3f}x | {ctime / 1000:.2f} | "
                     f"{ctime / total:.0%} | {int8}/{len(conv)} | {statistics.median(ratios):.2f} | "
                     f"{len(slower)} ({', '.join(s.split('/')[0].replace('__module.', '') for s in slower) or '-'}) |")
    for f in a.folders[1:]:
        kern, conv, ck = res[f]
        total = sum(kern.values())
        lines += ["", f"### `{f.name}`: time by kernel", "", "| node type | kernel | ms | share |", "|---|---|---|---|"]
        for (t, e), us in kern.most_common(8):
            lines.append(f"| {t} | {e} | {us / 1000:.3f} | {us / total:.1%} |")
        lines += ["", "Convolutions with the smallest gain (INT8 / FP32 time):", "",
                  "| layer | kernel | FP32 us | INT8 us | ratio |", "|---|---|---|---|---|"]
        common = sorted((n for n in conv if n in ref_conv), key=lambda n: conv[n] / ref_conv[n], reverse=True)
        for n in common[:8]:
            lines.append(f"| {n.split('/')[0].replace('__module.', '')} | {ck[n]} | {ref_conv[n]:.0f} | {conv[n]:.0f} | "
                         f"{conv[n] / ref_conv[n]:.2f} |")
    text = "\n".join(lines) + "\n"
    print(text)
    if a.out:
        a.out.mkdir(parents=True, exist_ok=True)
        (a.out / "profile.md").write_text(text)


if __name__ == "__main__":
    main()
