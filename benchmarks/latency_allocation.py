"""Latency-aware channel allocation vs the shipped FLOPs-based default (issue 21, deliverable 4).

    YOLO_OFFLINE=1 YOLO_COMPRESS_THREADS=1 nice -n 5 .venv/bin/python benchmarks/latency_allocation.py   # 1. build + time
    YOLO_OFFLINE=1 YOLO_COMPRESS_THREADS=1 nice -n 5 .venv/bin/python benchmarks/latency_allocation.py \\
        --train A-uniform-l2-0.50,B-lat-lamp-0.60                                                        # 2. recover + final bench

Phase 1 (always; every step reuses what exists): the per-conv ONNX Runtime cost table of the input
(``cost-table.json``), the candidates pruned from the input (``cands/<name>.pt``, ``prune.json``), their ONNX
Runtime and OpenVINO FP32 exports, then ONE bench run over the input and every candidate on both runtimes
(mAP50-95 right after pruning, and p50 latency timed interleaved, 2 threads): ``after-prune/bench.{md,json}``.
Latency ratios are to the input on the same runtime. Pick the pair whose measured latencies match from it.

Phase 2 (``--train a,b``): fine-tune each named candidate with the same recipe (FinetuneConfig, 8 epochs, seed 0,
batch 16; resumable), export the last epoch's weights and bench them all in one run with the input
(``after-recovery/bench.{md,json}``); ``table.md`` gathers both phases.

Candidates: A = the shipped default (criterion l2, uniform channel ratio, ``target_flops`` 0.5 as in sections 2a/2d);
B = ``allocation: latency`` (HALP-like: importance / ms saved, global) with the l2 and the lamp criteria at
several GFLOPs levels, so one of them lands on A's measured latency; C = lamp with plain global ranking
(no cost: what B-lamp adds over global LAMP).
"""

from __future__ import annotations

import argparse
import json
import os
import re
from pathlib import Path

CANDIDATES = {  # name -> PruneConfig options (imgsz and the latency table are added)
    "A-uniform-l2-0.50": {"target_flops": 0.5, "criterion": "l2"},
    "B-lat-l2-0.60": {"target_flops": 0.6, "criterion": "l2", "allocation": "latency"},
    "B-lat-lamp-0.50": {"target_flops": 0.5, "criterion": "lamp", "allocation": "latency"},
    "B-lat-lamp-0.60": {"target_flops": 0.6, "criterion": "lamp", "allocation": "latency"},
    "B-lat-lamp-0.70": {"target_flops": 0.7, "criterion": "lamp", "allocation": "latency"},
    "C-global-lamp-0.50": {"target_flops": 0.5, "criterion": "lamp", "global_pruning": True},
}


def modelled_kept(table, pt: Path) -> float:
    """Share of the cost table's total the pruned model keeps under the linear model (t * in'/in * out'/out)."""
    from torch import nn

    from yolo_compress.models import load_model

    det = load_model(pt).model
    convs = {n: m for n, m in det.named_modules() if isinstance(m, nn.Conv2d)}
    kept = sum(c.cost * convs[n].in_channels / c.in_channels * convs[n].out_channels / c.out_channels
               for n, c in table.convs.items() if n in convs)
    return kept / table.total()


def exports(pt: Path, imgsz: int) -> list[Path]:
    from yolo_compress.api import ExportConfig, export

    out = []
    for fmt, dest in (("onnx", pt.with_suffix(".onnx")), ("openvino", pt.with_name(f"{pt.stem}_openvino_model"))):
        if not dest.exists() or dest.stat().st_mtime < pt.stat().st_mtime:
            export(pt, ExportConfig(format=fmt, imgsz=imgsz), out=dest)
        out.append(dest)
    return out


def bench_all(rows: list[tuple[Path, str]], out: Path, data: Path, imgsz: int, rounds: int) -> list[dict]:
    from rich.console import Console

    from yolo_compress.api import BenchConfig, bench

    arts, names = [], []
    for pt, name in rows:
        for a, rt in zip(exports(pt, imgsz), ("ORT", "OV")):
            arts.append(a)
            names.append(f"{name} {rt}")
    console = Console(width=220)
    report = bench(arts, BenchConfig(data=str(data), imgsz=imgsz, threads=2, runs=100, rounds=rounds),
                   names=names, out_dir=out, console=console)
    report.print(console)
    return [r.flat() for r in report.rows]


def summarise(flat: list[dict], info: dict) -> list[dict]:
    """One line per model: GFLOPs, params, mAP, ORT / OpenVINO p50 and ratios to the input."""
    by = {r["name"]: r for r in flat}
    ref_ort, ref_ov = by["input ORT"]["lat_p50_ms"], by["input OV"]["lat_p50_ms"]
    lines = []
    for name in dict.fromkeys(n.rsplit(" ", 1)[0] for n in by):
        o, v = by[f"{name} ORT"], by[f"{name} OV"]
        lines.append({"model": name, **info.get(name, {}), "gflops": o["gflops"], "params_m": o["params_m"],
                      "map50_95": o["eval_map50_95"], "map50_95_ov": v["eval_map50_95"],
                      "ort_p50_ms": o["lat_p50_ms"], "ort_ratio": o["lat_p50_ms"] / ref_ort,
                      "ov_p50_ms": v["lat_p50_ms"], "ov_ratio": v["lat_p50_ms"] / ref_ov})
    return lines


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--model", type=Path, default=Path("src/yolo_compress/assets/yolov8n-garbage320-200ep.pt"))
    ap.add_argument("--data", type=Path, default=Path("../shared/datasets/garbage-320/data.yaml"))
    ap.add_argument("--imgsz", type=int, default=320)
    ap.add_argument("--epochs", type=int, default=8)
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--train", default="", help="comma-separated candidate names to recover (phase 2)")
    ap.add_argument("--no-bench", action="store_true", help="phase 2: train only (e.g. one process per candidate)")
    ap.add_argument("--out", type=Path, default=Path("benchmarks/results/latency-allocation"))
    a = ap.parse_args()
    from yolo_compress.api import PruneConfig, prune_checkpoint
    from yolo_compress.models import load_model
    from yolo_compress.prune.latency_cost import CostTable, measure_onnxruntime
    from yolo_compress.runtime.graphstats import model_info  # noqa: F401 (GFLOPs come with the bench rows)

    out = a.out
    (out / "cands").mkdir(parents=True, exist_ok=True)
    table_p = out / "cost-table.json"
    if not table_p.exists():
        measure_onnxruntime(load_model(a.model), a.imgsz, threads=2, runs=50).save(table_p)
    table = CostTable.load(table_p)

    info_p = out / "prune.json"
    info = json.loads(info_p.read_text()) if info_p.exists() else {}
    for name, opts in CANDIDATES.items():
        pt = out / "cands" / f"{name}.pt"
        if not pt.exists():
            lat = {"latency_table": str(table_p)} if opts.get("allocation") == "latency" else {}
            res, _ = prune_checkpoint(a.model, PruneConfig(imgsz=a.imgsz, **opts, **lat), pt)
            info[name] = {"summary": res.summary(), "flops_kept": res.flops_kept, "params_kept": res.params_kept,
                          "channels": {k: list(v) for k, v in res.channels.items()}}
        info[name]["modelled_latency_kept"] = modelled_kept(table, pt)
        info_p.write_text(json.dumps(info, indent=1) + "\n")

    inp = out / "cands" / "input.pt"  # a copy: exports go beside it, never beside the shipped input
    if not inp.exists():
        import shutil

        shutil.copy2(a.model, inp)
    pruned_rows = [(inp, "input")] + [(out / "cands" / f"{n}.pt", n) for n in CANDIDATES]
    after = out / "after-prune"
    if not (after / "bench.json").exists():
        flat = bench_all(pruned_rows, after, a.data, a.imgsz, a.rounds)
        (after / "summary.json").write_text(json.dumps(summarise(flat, info), indent=1) + "\n")
    if not a.train:
        return

    from _common import trained
    from yolo_compress.train import FinetuneConfig

    ft = FinetuneConfig(epochs=a.epochs, imgsz=a.imgsz, batch=16, workers=2, seed=0)
    rows = [(inp, "input")]
    for name in (n for n in a.train.split(",") if n):
        if name not in CANDIDATES:
            raise SystemExit(f"unknown candidate '{name}'; one of {', '.join(CANDIDATES)}")
        last = trained(out / "cands" / f"{name}.pt", a.data, ft, out / f"ft-{name}")
        rec = out / "recovered" / f"{name}.pt"
        rec.parent.mkdir(exist_ok=True)
        if not rec.exists() or rec.stat().st_mtime < last.stat().st_mtime:
            import shutil

            shutil.copy2(last, rec)
        rows.append((rec, name))
    if a.no_bench:
        return
    rec_dir = out / "after-recovery"
    tag = re.sub(r"[^A-Za-z0-9]+", "-", a.train).strip("-")
    flat = bench_all(rows, rec_dir, a.data, a.imgsz, a.rounds)
    (rec_dir / f"summary-{tag}.json").write_text(json.dumps(summarise(flat, info), indent=1) + "\n")


if __name__ == "__main__":
    os.environ.setdefault("YOLO_OFFLINE", "1")
    main()
