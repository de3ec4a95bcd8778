"""Issue 20, deliverables 2-3: every recovery method on one pruned level of a converged model, same epoch
budget, one table (mAP through the one evaluator, ONNX Runtime latency ratios from one interleaved run).

Rows (``--methods``, comma-separated; each is a ``yolo-compress`` option a user can run):

    base   the input trained ``--epochs`` more with the fine-tune recipe (the fair baseline; no pruning)
    a      prune (uniform L2) -> plain fine-tune                       prune + finetune
    b      prune -> self-distillation from the input                   prune + distill --teacher input.pt
    c      prune -> distillation from the larger teacher (--teacher)   prune + distill --teacher big.pt
    d      group-norm sparsity training (``--sparse-epochs`` of the budget) -> prune (L2) -> fine-tune the rest
                                                                       finetune --sparsity-mode group + prune + finetune
    e      iterative prune + self-distill, ``--steps`` steps sharing the budget   prune --steps N --teacher input
    f-X    prune with allocation/criterion X (lamp, taylor, l2g = global L2, lat = latency allocation,
           sens = Taylor within blocks + sensitivity allocation across them) -> fine-tune
    g      prune -> the gentle fine-tune (AdamW 5e-5, BN frozen 1 epoch, no mosaic: BENCHMARKS 2f) 
    best   prune -> distill with ``--best`` options (e.g. "criterion=taylor,teacher=input" or
           "teacher=big,lr0=5e-5,bn_freeze_epochs=1,mosaic=0"; criterion picks the cut of row f-<criterion>)
    NAME   a row of your own: ``--row NAME=OPTIONS``, options as for best; teacher=none is a plain fine-tune;
           soft=N plans the cut of f-<criterion>, fades its channels to zero over N epochs of the budget while the whole network trains
           (``prune --soft-epochs N``), cuts them (no output changes) and fine-tunes the rest; soft=N,hold=1
           instead holds them at zero for the rest of the budget in the same run (``--soft-epochs E --soft-fade
           N/E``: one schedule, the pruned network trained inside the full one) and cuts at the end
           cap=R caps every block's channel ratio of the cut at R (``PruneConfig.max_layer_ratio``; the sensitivity
           allocation then cuts the costlier blocks harder to meet the level), e.g. "criterion=sens,cap=0.4,teacher=none";
           span=S sets the sensitivity allocation's span (``PruneConfig.sensitivity_span``, default 2); kd_branches=both also
           distils the one-to-one branch of an end-to-end head (YOLO26, YOLOv10: ``DistillConfig.head_branches``)
           cut=none trains the unpruned input with the row's settings (e.g. "cut=none,teacher=none,ema_epochs=5": the
           input trained as long with the same recipe, the fair baseline of a row that changes the recipe)

Every row gets the same number of training epochs (``--epochs``; d and e split it), last-epoch weights
(the val split is also the test split), the seed given by ``--seed`` (``--seeds 0,1,2`` for the headline rows).

    YOLO_OFFLINE=1 .venv/bin/python benchmarks/recovery_methods.py \\
        --model benchmarks/zoo/yolov8n-garbage320-200ep.pt --teacher benchmarks/zoo/yolov8s-garbage320-60+140ep.pt \\
        --level 0.5 --epochs 20 --methods base,a,b,c,d,e,f-lamp,g --seeds 0

Resumable: finished trainings are reused, interrupted ones continue; each row folder records what it was
trained from (``row.json``: row, seed, epochs, level, round-to, the input's hash, the row's own options) and a
call with another configuration for the same folder is refused. ``--no-bench`` trains only (a second
call benches). Outputs: benchmarks/results/recovery-<model>-<level>-<epochs>ep/<row>-s<seed>/, bench.md,
table.md (mean and min-max over seeds per row).
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from pathlib import Path

os.environ.setdefault("YOLO_OFFLINE", "1")
REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "benchmarks"))

GENTLE = {"lr0": 5e-5, "bn_freeze_epochs": 1, "mosaic": 0.0}  # BENCHMARKS 2f: -0.1 pt on the unpruned input
CRITERIA = {"lamp": dict(criterion="lamp", global_pruning=True), "taylor": dict(criterion="taylor"),
            "l2g": dict(criterion="l2", global_pruning=True), "lat": dict(criterion="l2", allocation="latency"),
            "sens": dict(criterion="taylor", allocation="sensitivity")}


def _pruned(model: Path, level: float, imgsz: int, out: Path, data: Path, round_to: int = 8, **kw) -> Path:
    from yolo_compress.api import PruneConfig, prune_checkpoint

    if round_to != 8:  # the default keeps its old file names (the screen's rows)
        kw["round_to"] = round_to
    dest = out / f"pruned-{'-'.join(f'{k}{v}' for k, v in sorted(kw.items())) or 'l2'}.pt"
    if not dest.exists():
        res, _ = prune_checkpoint(model, PruneConfig(target_flops=level, imgsz=imgsz, data=str(data), **kw), dest)
        dest.with_suffix(".txt").write_text(res.summary() + "\n")
    return dest


def _distilled(student: Path, teacher: Path, data: Path, ft, run: Path, **kd) -> Path:
    from _common import kept_run
    from yolo_compress.config import DistillConfig
    from yolo_compress.distill.distill import distill

    return kept_run(run, ft.epochs, lambda run, resume: distill(student, teacher, data, DistillConfig(**kd), ft, run,
                                                                resume=resume))


def row_identity(row: str, seed: int, a) -> dict:
    """What a row's folder was trained from: a folder is reused (finished or resumed) only for the same."""
    import hashlib

    ident = {"row": row, "seed": seed, "epochs": a.epochs, "imgsz": a.imgsz,
             "model_sha256": hashlib.sha256(a.model.read_bytes()).hexdigest()[:16]}
    if a.precision != "fp32":  # recorded only when set, so the fp32 rows trained before it keep their identity
        ident["precision"] = a.precision
    if row != "base":  # the unpruned input trained longer: no cut, so the level does not matter
        ident.update(level=a.level, round_to=a.round_to)
    ident.update({"d": {"sparse_epochs": a.sparse_epochs, "sparsity": a.sparsity}, "e": {"steps": a.steps},
                  "c": {"teacher": str(a.teacher)}}.get(row, {}))
    if row in a.custom:
        ident["best" if row == "best" else "opts"] = a.custom[row]
        if "teacher=big" in a.custom[row]:  # which teacher, as row c records it
            ident["teacher"] = str(a.teacher)
    return ident


def check_row(run: Path, ident: dict) -> None:
    """Refuse to reuse ``run`` for another configuration; record the configuration on first use (rows trained
    before this check existed are adopted as they are)."""
    f = run / "row.json"
    if f.exists():
        old = json.loads(f.read_text())
        if old != ident:
            diff = ", ".join(f"{k}: {old.get(k)!r} -> {v!r}" for k, v in ident.items() if old.get(k) != v)
            sys.exit(f"recovery_methods: '{run}' was trained for another configuration ({diff}); "
                     f"use another --out or remove the folder")
        return
    run.mkdir(parents=True, exist_ok=True)
    f.write_text(json.dumps(ident, indent=2) + "\n")


def train_row(row: str, seed: int, a) -> Path:
    """The last-epoch checkpoint of one row (trained here unless already finished)."""
    from _common import kept_finished, trained
    from yolo_compress.train import FinetuneConfig

    E = a.epochs
    ft = FinetuneConfig(epochs=E, imgsz=a.imgsz, batch=16, workers=2, seed=seed, precision=a.precision)
    run = (a.base_out if row == "base" and a.base_out else a.out) / f"{row}-s{seed}"
    check_row(run, row_identity(row, seed, a))
    plain = row in ("a", "b", "c", "g") or row.startswith("f-") or (row in a.custom and "soft=" not in a.custom[row])
    if plain and (done := kept_finished(run, E)):  # a finished row (or its kept final.pt): no cut or scan to redo
        return done
    if row == "base":
        return trained(a.model, a.data, ft, run)
    if row == "d":  # sparsity first (part of the budget), then prune, then the rest of the budget
        S = a.sparse_epochs
        sparse = trained(a.model, a.data, FinetuneConfig(**{**ft.as_dict(), "epochs": S, "sparsity": a.sparsity,
                                                            "sparsity_mode": "group"}), run / "sparse")
        p = _pruned(sparse, a.level, a.imgsz, run, a.data, a.round_to)
        return trained(p, a.data, FinetuneConfig(**{**ft.as_dict(), "epochs": E - S}), run / "ft")
    if row == "e":
        from yolo_compress.api import PruneConfig
        from yolo_compress.prune.schedule import prune_iterative

        per = FinetuneConfig(**{**ft.as_dict(), "epochs": E // a.steps})
        steps = prune_iterative(a.model, str(a.data), PruneConfig(target_flops=a.level, imgsz=a.imgsz,
                                                                   round_to=a.round_to), a.steps, per,
                                run, teacher="input")
        return Path(steps[-1].model).parent / "last.pt"
    if row.startswith("f-"):
        p = _pruned(a.model, a.level, a.imgsz, a.out, a.data, a.round_to, **CRITERIA[row[2:]])
        return trained(p, a.data, ft, run)
    if row == "c" and not a.teacher:
        sys.exit("recovery_methods: row c needs --teacher (the larger model)")
    if row in ("a", "g", "b", "c"):  # the uniform L2 cut
        p = _pruned(a.model, a.level, a.imgsz, a.out, a.data, a.round_to)
        if row == "a":
            return trained(p, a.data, ft, run)
        if row == "g":
            return trained(p, a.data, FinetuneConfig(**{**ft.as_dict(), **GENTLE}), run)
        return _distilled(p, a.model if row == "b" else a.teacher, a.data, ft, run)
    if row in a.custom:
        opts = dict(kv.split("=", 1) for kv in a.custom[row].split(",") if kv)
        crit = opts.pop("criterion", None)  # e.g. taylor: the cut of row f-<criterion>
        cut_kw = {}  # options of the cut: cap=R, each block's ratio capped at R; span=S, the sensitivity allocation's span
        if "cap" in opts:
            cut_kw["max_layer_ratio"] = float(opts.pop("cap"))
        if "span" in opts:
            cut_kw["sensitivity_span"] = float(opts.pop("span"))
        uncut = opts.pop("cut", "") == "none"  # cut=none: the unpruned input with these settings (a base twin)
        soft = int(opts.pop("soft", 0))  # soft pruning: the planned channels fade over this many epochs, then the cut
        hold = opts.pop("hold", "0") == "1"  # soft=N,hold=1: fade over N epochs, hold at zero to the budget's end
        if soft:
            from yolo_compress.api import PruneConfig
            from yolo_compress.models import save_model
            from yolo_compress.prune.soft import soft_prune, soft_summary

            p = run / "soft-pruned.pt"
            if not p.exists():
                total = E if hold else soft
                res, info = soft_prune(a.model, PruneConfig(target_flops=a.level, imgsz=a.imgsz, data=str(a.data),
                                                             round_to=a.round_to, soft_fade=soft / total,
                                                             **(CRITERIA[crit] if crit else {}), **cut_kw),
                                        total, run / "soft", ft=FinetuneConfig(**{**ft.as_dict(), "epochs": total}))
                save_model(res.model, p)
                p.with_suffix(".txt").write_text(res.summary() + "\n" + soft_summary(info) + "\n")
            if hold:  # the whole budget was the soft run: the cut model is the row's result
                return p
            run = run / "ft"
        elif uncut:
            p = a.model
        else:  # the cut of row f-<criterion>, or the uniform L2 one
            p = _pruned(a.model, a.level, a.imgsz, a.out, a.data, a.round_to, **(CRITERIA[crit] if crit else {}),
                        **cut_kw)
        who = opts.pop("teacher", "input")
        kd = {"head_branches": opts.pop("kd_branches")} if "kd_branches" in opts else {}  # both: end-to-end heads' one-to-one too
        teacher = {"big": a.teacher, "input": a.model, "none": None}[who]
        over = {k: (int(v) if k == "bn_freeze_epochs" else v if k in ("optimizer", "precision") else float(v))
                for k, v in opts.items()}
        cfg = FinetuneConfig(**{**ft.as_dict(), "epochs": E - soft, **over})
        if who == "none":
            return trained(p, a.data, cfg, run)  # plain fine-tune with other settings
        if teacher is None:
            sys.exit(f"recovery_methods: row {row}: teacher=big needs --teacher (the larger model)")
        return _distilled(p, teacher, a.data, cfg, run, **kd)
    sys.exit(f"recovery_methods: unknown row {row!r}")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--model", type=Path, required=True, help="the converged input .pt")
    ap.add_argument("--teacher", type=Path, help="the larger converged teacher .pt (row c, best)")
    ap.add_argument("--data", type=Path, default=REPO.parent / "shared/datasets/garbage-320/data.yaml")
    ap.add_argument("--level", type=float, default=0.5, help="GFLOPs kept")
    ap.add_argument("--epochs", type=int, default=20, help="training epochs of every row")
    ap.add_argument("--methods", default="base,a,b,c,d,e,f-lamp,g")
    ap.add_argument("--seeds", default="0", help="seeds of every row; a row's own: --methods a,f-sens@0+1+2")
    ap.add_argument("--base-seeds", default="0", help="seeds of the base row (the input trained as long): one "
                    "run is the reference unless a row's difference to it is within the spread")
    ap.add_argument("--imgsz", type=int, default=320)
    ap.add_argument("--precision", choices=("fp32", "bf16", "auto"), default="fp32",
                    help="training precision of every row: bf16 autocast is faster on a CPU with AMX-BF16 / AVX512-BF16 "
                         "(a YOLOv8n epoch ~31 s vs ~37 s, YOLOv8s steps 2.5-3.3x, AMX Xeon VM: benchmarks/results/bf16-check) "
                         "and slower elsewhere (auto: bf16 there only; each row records what it resolved to and keeps it when resumed); "
                         "not fp32: the default folder name ends in -<precision>")
    ap.add_argument("--round-to", type=int, default=8, help="channel multiple; 8 lands YOLOv8n at 54.6%% for 0.5, "
                    "2 at 47.7%% (the search now prefers a level at or under the target); with criterion sens at 0.4, 8 lands YOLOv8n "
                    "at 39.8%% and YOLO11n at 38.2%%, 4 at 39.5%% and 39.8%%")
    ap.add_argument("--sparse-epochs", type=int, default=5, help="row d: epochs of sparsity training in the budget")
    ap.add_argument("--sparsity", type=float, default=5e-4, help="row d: regularisation strength")
    ap.add_argument("--steps", type=int, default=2, help="row e: prune + distill steps sharing the budget")
    ap.add_argument("--best", default="teacher=input",
                    help="row best: distill options, e.g. criterion=taylor,teacher=input or teacher=big,lr0=5e-5")
    ap.add_argument("--row", action="append", default=[], metavar="NAME=OPTIONS",
                    help="a row of your own, like best: e.g. 'lr5e4=criterion=sens,teacher=none,lr0=5e-4' (teacher=none: "
                         "plain fine-tune); then name it in --methods")
    ap.add_argument("--int8", default="", help="comma-separated backends (openvino, onnxruntime): also bench every "
                    "row after static INT8 PTQ (minmax, 300 train images), and the input as OpenVINO FP32")
    ap.add_argument("--int8-max-drop", type=float, help="the INT8 rows with quantize's accuracy-aware search "
                    "(--max-drop, mAP50-95 points on held-out train images); artifacts *-md<P>*")
    ap.add_argument("--int8-bias-correction", choices=["fast", "full"], default="fast",
                    help="the OpenVINO INT8 rows with NNCF's full bias correction (quantize --bias-correction full); "
                         "artifacts *-bcfull*")
    ap.add_argument("--no-bench", action="store_true")
    ap.add_argument("--nms-free", action="store_true", help="YOLOv10 / YOLO26: bench every row's NMS-free export "
                    "(artifacts *-nmsfree*, tables as --tag nmsfree unless --tag is given)")
    ap.add_argument("--tag", help="bench these rows apart: bench-TAG/, table-TAG.md and rows-TAG.json, leaving the "
                    "folder's main table (the screen) as it is")
    ap.add_argument("--out", type=Path)
    ap.add_argument("--base-out", type=Path, help="train / read the base rows (the input trained as long) in this "
                    "folder instead: another level's folder of the same model, epochs and precision (a base row "
                    "has no cut; row.json still refuses one trained otherwise)")
    a = ap.parse_args()
    a.custom = {"best": a.best, **dict(r.split("=", 1) for r in a.row)}
    for name in a.custom:  # a built-in row's name would run the built-in row, not these options
        if name != "best" and (name in ("a", "b", "c", "d", "e", "g", "base") or name.startswith("f-")):
            sys.exit(f"recovery_methods: --row {name}=... takes a built-in row's name (a-g, base, f-<criterion>); "
                     f"name it otherwise, e.g. my-{name}")
    for p in (a.model, a.data, *( [a.teacher] if a.teacher else [])):
        if not p.exists():
            sys.exit(f"recovery_methods: '{p}' not found")
    a.model, a.data = a.model.resolve(), a.data.resolve()
    a.teacher = a.teacher.resolve() if a.teacher else None
    rt = "" if a.round_to == 8 else f"-rt{a.round_to}"
    pr = "" if a.precision == "fp32" else f"-{a.precision}"
    a.out = a.out or REPO / f"benchmarks/results/recovery-{a.model.stem}-{a.level:.2f}-{a.epochs}ep{rt}{pr}"
    if a.base_out and not a.base_out.is_dir():
        sys.exit(f"recovery_methods: --base-out '{a.base_out}' is not a folder")
    methods, seeds = [m for m in a.methods.split(",") if m], [int(s) for s in a.seeds.split(",")]
    base_seeds = [int(s) for s in a.base_seeds.split(",")]
    own = {m.split("@")[0]: [int(x) for x in m.split("@")[1].split("+")] for m in methods if "@" in m}
    methods = [m.split("@")[0] for m in methods]
    row_seeds = {m: own.get(m, base_seeds if m == "base" else seeds) for m in methods}
    ran = {*seeds, *(x for v in own.values() for x in v)}  # the seeds the loop below visits
    for m in methods:  # a row none of whose seeds is visited would be skipped without a word
        if not ran & set(row_seeds[m]):
            sys.exit(f"recovery_methods: row '{m}' runs no seed here (a base row takes --base-seeds "
                     f"{a.base_seeds}, not --seeds {a.seeds}); name its seeds, e.g. {m}@{a.seeds.replace(',', '+')}")
    a.out.mkdir(parents=True, exist_ok=True)
    rows = [(a.model, "input", "input")]
    for s in sorted(ran):
        for m in methods:
            if s not in row_seeds[m]:
                continue
            print(f"== row {m} seed {s}", flush=True)
            rows.append((train_row(m, s, a), f"{m} s{s}", m))
    if a.int8 and not a.no_bench:
        rows += int8_rows(rows, a)
    if a.no_bench:  # the folder's rows.json / bench / table stay those of its last bench
        return
    a.tag = a.tag or ("-".join(t for t in ("nmsfree" if a.nms_free else "", "" if a.int8_max_drop is None
                                           else f"md{a.int8_max_drop:g}", _bc(a)[1:]) if t) or None)
    sfx = f"-{a.tag}" if a.tag else ""
    (a.out / f"rows{sfx}.json").write_text(json.dumps([[str(p), n, g] for p, n, g in rows], indent=2))
    from _common import bench_rows

    bench_dir = a.out / f"bench{sfx}" if a.tag else None
    rep = bench_rows([(p, n) for p, n, _ in rows], a.out, a.data, a.imgsz, bench_dir=bench_dir, nms_free=a.nms_free)
    (a.out / f"table{sfx}.md").write_text(table(rep, rows, a))
    print((a.out / f"table{sfx}.md").read_text())


def _bc(a) -> str:
    return "-bcfull" if a.int8_bias_correction == "full" else ""


def int8_rows(rows, a) -> list[tuple[Path, str, str]]:
    """Every row after static INT8 PTQ for each backend of ``--int8`` (made once, re-made when its checkpoint is
    newer, as bench_rows does for ONNX), and the input exported as OpenVINO FP32 (the reference for an OpenVINO
    INT8 row's speed-up on its own runtime)."""
    import re

    from yolo_compress.api import ExportConfig, QuantConfig, export, quantize

    out = []
    backends = [b for b in a.int8.split(",") if b]
    nf = ("-nmsfree" if a.nms_free else "") + (f"-md{a.int8_max_drop:g}" if a.int8_max_drop is not None else "")
    nf += _bc(a)
    from yolo_compress.errors import UnsupportedError
    from yolo_compress.quant.backends import check_backend

    cfgs = {b: QuantConfig(backend=b, mode="ptq", data=str(a.data), imgsz=a.imgsz, calibration="minmax",
                           nms_free=a.nms_free, max_drop=a.int8_max_drop, bias_correction=a.int8_bias_correction)
            for b in backends}
    for cfg in cfgs.values():  # quantize's own refusal, before any row is quantized
        try:
            check_backend(cfg)
        except UnsupportedError as e:
            sys.exit(f"recovery_methods: {e}")
    if "openvino" in backends:
        ov = a.out / f"input{'-nmsfree' if a.nms_free else ''}_openvino_model"
        if not ov.exists():
            export(a.model, ExportConfig(format="openvino", imgsz=a.imgsz, nms_free=a.nms_free), out=ov)
        out.append((ov, "input OpenVINO FP32", "input OpenVINO FP32"))
    for b in backends:
        cfg = cfgs[b]
        for pt, name, g in rows:
            slug = re.sub(r"[^A-Za-z0-9]+", "-", name).strip("-")
            dest = a.out / (f"{slug}{nf}-int8_openvino_model" if b == "openvino" else f"{slug}{nf}-int8.onnx")
            if not dest.exists() or dest.stat().st_mtime < Path(pt).stat().st_mtime:
                quantize(pt, cfg, dest, threads=2)
            md = ("" if a.int8_max_drop is None else f" max-drop {a.int8_max_drop:g}") + (" full-bc" if _bc(a) else "")
            out.append((dest, f"{name} INT8 {b}{md}", f"{g} INT8 {b}{md}"))
    return out


def table(rep, rows, a) -> str:
    from yolo_compress.bench.bench import cpu_label

    from _common import grouped

    inp, groups = grouped(rep, rows)
    out = ["| row | GFLOPs | params M | size MB | latency vs input ORT FP32 | mAP50-95 mean | min-max | seeds | "
           "vs input (pt) | vs input + same epochs (pt) |", "|---|---|---|---|---|---|---|---|---|---|"]
    base = next((mean for g, _, _, mean, _ in groups if g == "base"), None)
    for g, rs, m, mean, lat in groups:
        num = lambda v: "—" if v is None or v != v else f"{v:.3f}"  # noqa: E731 (None / NaN: not measurable there)
        out.append(f"| {g} | {num(rs[0].gflops)} | {num(rs[0].params_m)} | {rs[0].size_mb:.2f} | {lat:.2f}x | {mean:.4f} | "
                   f"{min(m):.4f}-{max(m):.4f} | {len(m)} | {100 * (mean - inp.eval.map50_95):+.2f} | "
                   f"{'' if base is None else f'{100 * (mean - base):+.2f}'} |")
    out += ["", f"{a.model.name} pruned to {a.level:.0%} of its GFLOPs (--round-to {a.round_to}; the GFLOPs column "
                f"is what each row kept), {a.epochs} training epochs per row"
                f"{'' if a.precision == 'fp32' else f' (training precision {a.precision}: see each row folder precision.json)'}, "
                f"last-epoch weights, {a.data} val ({inp.eval.images} images); "
                f"{'every export NMS-free (the one-to-one head), ' if a.nms_free else ''}latency: each row on its runtime "
                f"(ONNX Runtime FP32 unless named) against the input on ONNX Runtime FP32, one interleaved bench run "
                f"on {cpu_label(rep.machine)}, {rep.date}."]
    return "\n".join(out) + "\n"


if __name__ == "__main__":
    main()
