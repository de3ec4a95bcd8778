"""QAT on finished rows, beside its two controls, in one bench run.

For each ``--cut`` checkpoint (a row's last-epoch weights): static INT8 PTQ (the INT8 row as benched so far), N epochs
of quantization-aware training then the same static INT8 (``quantize --mode qat``), and the control that tells QAT
from the extra epochs: the same N epochs in FP32 (same learning rate, schedule, batch, seed), then PTQ. For each
``--base`` checkpoint (the input trained as long as the cuts): itself and itself + the same N FP32 epochs, the fair
baseline of the QAT rows. Everything is benched in one run (our evaluator on the val split, latency against the
input on ONNX Runtime FP32); table.md groups the rows over seeds.

    YOLO_OFFLINE=1 .venv/bin/python benchmarks/qat_rows.py --input benchmarks/zoo/yolov8n-garbage320-200ep.pt \\
        --cut R/f-sens-s0/final.pt --cut R/f-sens-s1/final.pt --cut R/f-sens-s2/final.pt \\
        --base R2/base-s1/final.pt --base R2/base-s2/final.pt --epochs 2 --out benchmarks/results/qat-...

Each training is resumable (run again: finished work is reused; QAT runs resume inside ``quantize``).
"""

from __future__ import annotations

import argparse
import json
import re
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "benchmarks"))


def slug(p: Path) -> str:
    """``.../f-sens-s0/final.pt`` -> ``f-sens-s0``: a row is named by its folder."""
    p = Path(p)
    return re.sub(r"[^A-Za-z0-9]+", "-", p.parent.name if p.stem in ("final", "last", "best") else p.stem).strip("-")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--input", type=Path, required=True, help="the unpruned input (the latency reference)")
    ap.add_argument("--cut", type=Path, action="append", default=[], help="a finished row's weights (repeat)")
    ap.add_argument("--base", type=Path, action="append", default=[],
                    help="the input trained as long as the cuts, one per seed (repeat)")
    ap.add_argument("--data", type=Path, default=REPO.parent / "shared/datasets/garbage-320/data.yaml")
    ap.add_argument("--imgsz", type=int, default=320)
    ap.add_argument("--backend", choices=("openvino", "onnxruntime"), default="openvino")
    ap.add_argument("--epochs", type=int, default=2, help="QAT epochs, and the FP32 control's")
    ap.add_argument("--lr0", type=float, default=1e-5, help="QAT's learning rate (quantize's default), and the control's")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--out", type=Path, required=True)
    ap.add_argument("--no-bench", action="store_true")
    a = ap.parse_args()
    for p in (a.input, a.data, *a.cut, *a.base):
        if not p.exists():
            sys.exit(f"qat_rows: '{p}' not found")
    if not a.cut:
        sys.exit("qat_rows: give at least one --cut")
    a.out.mkdir(parents=True, exist_ok=True)

    from _common import bench_rows, trained

    from yolo_compress.api import QuantConfig, quantize
    from yolo_compress.fingerprints import data_hash
    from yolo_compress.quant.quantize import qat_finetune_config

    # one folder holds the rows of one setting: a rerun with another one would reuse artifacts and finished runs
    ident = {"epochs": a.epochs, "lr0": a.lr0, "seed": a.seed, "backend": a.backend, "imgsz": a.imgsz,
             "data": data_hash(a.data)}
    mark = a.out / "qat_rows.json"
    if mark.exists() and json.loads(mark.read_text()) != ident:
        sys.exit(f"qat_rows: '{a.out}' holds rows made with {mark.read_text().strip()}; fix: pass another --out")
    mark.write_text(json.dumps(ident))
    n, ext = a.epochs, ("_openvino_model" if a.backend == "openvino" else ".onnx")
    qcfg = dict(backend=a.backend, data=str(a.data), imgsz=a.imgsz, calibration="minmax", qat_epochs=n, qat_lr0=a.lr0,
                seed=a.seed)
    ft = qat_finetune_config(QuantConfig(mode="qat", **qcfg))  # the FP32 control trains as QAT does, without fake-quant

    def int8(pt: Path, name: str, mode: str) -> Path:
        dest = a.out / f"{name}-int8{ext}"
        cfg = QuantConfig(mode=mode, **qcfg)
        if not dest.exists() or dest.stat().st_mtime < Path(pt).stat().st_mtime:
            quantize(pt, cfg, dest, threads=2)
        return dest

    rows: list[tuple[Path, str, str]] = [(a.input.resolve(), "input", "input")]
    for pt in a.base:
        s = slug(pt)
        rows.append((pt.resolve(), s, "base"))
        rows.append((trained(pt.resolve(), a.data.resolve(), ft, a.out / f"{s}-fp32-{n}ep"), f"{s} +{n} ep FP32",
                     f"base +{n} ep FP32"))
    for pt in a.cut:
        s, pt = slug(pt), pt.resolve()
        plus = trained(pt, a.data.resolve(), ft, a.out / f"{s}-fp32-{n}ep")
        rows += [(pt, s, "cut FP32"), (int8(pt, f"{s}-ptq", "ptq"), f"{s} PTQ", f"cut PTQ {a.backend}"),
                 (int8(pt, f"{s}-qat{n}", "qat"), f"{s} QAT {n} ep", f"cut QAT {n} ep {a.backend}"),
                 (plus, f"{s} +{n} ep FP32", f"cut +{n} ep FP32"),
                 (int8(plus, f"{s}-fp32-{n}ep-ptq", "ptq"), f"{s} +{n} ep FP32 PTQ", f"cut +{n} ep FP32, PTQ {a.backend}")]
    (a.out / "rows.json").write_text(json.dumps([[str(p), nm, g] for p, nm, g in rows], indent=2))
    if a.no_bench:
        return
    rep = bench_rows([(p, nm) for p, nm, _ in rows], a.out, a.data, a.imgsz)
    (a.out / "table.md").write_text(table(rep, rows, a))
    print((a.out / "table.md").read_text())


def table(rep, rows, a) -> str:
    from yolo_compress.bench.bench import cpu_label

    from _common import grouped

    inp, groups = grouped(rep, rows)
    base = next((mean for g, _, _, mean, _ in groups if g == "base"), None)
    out = ["| row | size MB | latency vs input ORT FP32 | mAP50-95 mean | per seed | vs input (pt) | vs base mean (pt) |",
           "|---|---|---|---|---|---|---|"]
    for g, rs, m, mean, lat in groups:
        out.append(f"| {g} | {rs[0].size_mb:.2f} | {lat:.2f}x | {mean:.4f} | {' / '.join(f'{v:.4f}' for v in m)} | "
                   f"{100 * (mean - inp.eval.map50_95):+.2f} | {'' if base is None else f'{100 * (mean - base):+.2f}'} |")
    out += ["", f"QAT: {a.epochs} epoch(s) at lr0 {a.lr0:g} (lrf 0.1, no warm-up, batch 16, seed {a.seed}), then static "
                f"INT8 ({a.backend}, minmax); the FP32 control trains the same way without fake-quant. {a.data} val "
                f"({inp.eval.images} images); latency: each row on its runtime against the input on ONNX Runtime FP32, "
                f"one interleaved bench run on {cpu_label(rep.machine)}, {rep.date}."]
    return "\n".join(out) + "\n"


if __name__ == "__main__":
    main()
