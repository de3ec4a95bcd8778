"""Benchmark every stage of a run in one bench run, and write ``report.md`` + a self-contained
``report.html``: the table in the seeds' style with deltas vs. the input, the targets with one line of what
to try for each failed one (from the run's own numbers), the detections of the input and of each deployable
artifact side by side on a few val images (always the same ones), a per-class AP table (input vs. final),
and an accuracy-vs-latency plot with the Pareto front whose points are told apart by a legend (no labels
on the plot to collide). ``yolo-compress report RUN_DIR`` rebuilds the report from ``bench.json``,
``rows.json`` and the detection images without re-measuring.
"""

from __future__ import annotations

import base64
import csv
import html
import io
import json
from pathlib import Path

from ..config import BenchConfig, ExportConfig
from ..io import atomic_write_text
from .device_report import device_section

from ..runtime.runtimes import EXPORT_FORMAT as FMT  # recipe runtime -> FP32 export format


def _fp32_exports(pt: Path, folder: Path, runtimes, imgsz: int, threads, console=None) -> list[tuple[str, Path]]:
    from ..export.exporter import default_output, export
    from ..progress import status

    out = []
    for rt in runtimes:
        dest = default_output(folder / "bench" / "model.pt", FMT[rt])
        if not dest.exists():
            dest.parent.mkdir(parents=True, exist_ok=True)
            with status(f"export {folder.name} to {FMT[rt]} (FP32, parity-checked)", console):
                export(pt, ExportConfig(format=FMT[rt], imgsz=imgsz), out=dest, threads=threads)
        out.append((rt, dest))
    return out


def bench_run(r, run: Path, records, console=None, threads=None) -> None:
    from ..bench.bench import bench
    from ..runtime.runtimes import DEFAULT_RUNTIME
    from ..runtime.artifact import inspect_artifact

    rows = []  # (label, kind, runtime, artifact)
    for rt, art in _fp32_exports(Path(r.model), run / "00-input", r.runtimes, r.imgsz, threads, console):
        rows.append(("00-input", "input", rt, art))
    for rec in records:
        if rec.produces == "pt":
            for rt, art in _fp32_exports(rec.output, rec.folder, r.runtimes, r.imgsz, threads, console):
                rows.append((rec.stage.label, rec.stage.kind, rt, art))
        else:
            rows.append((rec.stage.label, rec.stage.kind, DEFAULT_RUNTIME[inspect_artifact(rec.output).format],
                         rec.output))
    b = dict(r.bench)
    cfg = BenchConfig(**{**b, "data": r.data, "imgsz": r.imgsz, "threads": b.get("threads", threads)})
    names = [f"{label} [{rt}]" for label, _, rt, _ in rows]
    bench([a for *_, a in rows], cfg, names=names, out_dir=run, console=console)
    meta = [{"stage": label, "kind": kind, "runtime": rt,
             "artifact": str(Path(a).relative_to(run) if str(a).startswith(str(run)) else a)}
            for label, kind, rt, a in rows]
    atomic_write_text(run / "rows.json", json.dumps(meta, indent=2))
    detection_images(run, meta, r.data, r.imgsz, threads, console)


# ------------------------------------------------------------------------------- what the report calls final
def final_indices(stages: list[str]) -> list[int]:
    """Rows of the deliverables: every artifact stage at the end of the recipe (e.g. INT8 for two runtimes),
    or the last stage's rows when the recipe ends with a PyTorch model."""
    idx = [i for i, s in enumerate(stages) if s.endswith(("-quantize", "-export"))]
    return idx or [i for i, s in enumerate(stages) if s == stages[-1]]


# ------------------------------------------------------------------------------------------- detections
DETECTION_IMAGES = 3
DETECTION_CONF = 0.25  # predict's default: what a user of `yolo-compress predict` sees
PANEL_H = 320


def detection_sample(files: list[Path], boxes: list[int], n: int = DETECTION_IMAGES) -> list[Path]:
    """The ``n`` val images with the most ground-truth boxes (ties by name): chosen from the data alone, so
    the same images in every run on the same data, and ones with something to detect."""
    return [f for f, _ in sorted(zip(files, boxes), key=lambda t: (-t[1], str(t[0])))[:n]]


def _caption(panel, text: str):
    import cv2
    import numpy as np

    bar = np.full((24, panel.shape[1], 3), 255, np.uint8)
    cv2.putText(bar, text, (4, 17), cv2.FONT_HERSHEY_SIMPLEX, 0.45, (0, 0, 0), 1, cv2.LINE_AA)
    return np.vstack([bar, panel])


def detection_images(run: Path, meta: list[dict], data: str, imgsz: int, threads=None, console=None) -> list[Path]:
    """For a few val images, one JPEG each: the input model's detections beside each deployable artifact's,
    drawn by ``predict.draw`` with the bench's pre/post-processing (``detections/*.jpg`` + ``detections.json``)."""
    import cv2
    import numpy as np

    from ..runtime.evaluator import postprocess
    from ..runtime.runtimes import make_runner
    from ..data import label_path, load_data, preprocess, read_image, read_labels
    from ..runtime.artifact import inspect_artifact
    from ..predict import _detections, draw
    from ..progress import progress_bar

    spec = load_data(data)
    files = spec.images("val")
    boxes = [len(read_labels(label_path(f))) if label_path(f).exists() else 0 for f in files]
    chosen = detection_sample(files, boxes)
    stages = [m["stage"] for m in meta]
    panels = [next(i for i, m in enumerate(meta) if m["kind"] == "input")] + final_indices(stages)
    images = [read_image(f) for f in chosen]
    drawn: list[list] = [[] for _ in chosen]
    captions = []
    with progress_bar("report: detections", len(panels), console) as wrap:
        for i in wrap(panels):
            m = meta[i]
            path = Path(m["artifact"]) if Path(m["artifact"]).is_absolute() else run / m["artifact"]
            art = inspect_artifact(path)
            runner = make_runner(art, m["runtime"], threads)
            names = dict(art.names) or dict(spec.names)
            captions.append(f"{'input' if m['kind'] == 'input' else m['stage']} [{m['runtime']}] {art.precision}")
            for j, img in enumerate(images):
                x, lbs = preprocess([img], imgsz)
                dets = _detections(postprocess(runner(x), lbs, art.end2end, conf=DETECTION_CONF)[0], img.shape, names)
                drawn[j].append(draw(img, dets))
            del runner
    out_dir = run / "detections"
    out_dir.mkdir(exist_ok=True)
    written = []
    for f, row in zip(chosen, drawn):
        cells = []
        for cap, im in zip(captions, row):
            scale = PANEL_H / im.shape[0]
            im = cv2.resize(im, (max(1, round(im.shape[1] * scale)), PANEL_H), interpolation=cv2.INTER_AREA)
            cells.append(_caption(im, cap))
            cells.append(np.full((PANEL_H + 24, 6, 3), 255, np.uint8))
        dst = out_dir / f"{f.stem}.jpg"
        tmp = dst.with_name(f".{dst.stem}.partial.jpg")
        cv2.imwrite(str(tmp), np.hstack(cells[:-1]), [cv2.IMWRITE_JPEG_QUALITY, 90])
        tmp.replace(dst)
        written.append(dst)
    atomic_write_text(run / "detections.json", json.dumps(
        {"images": [str(f) for f in chosen], "files": [p.name for p in written], "panels": captions,
         "conf": DETECTION_CONF}, indent=2))
    return written


def pareto(points: list[tuple[float, float]]) -> list[int]:
    """Indices of the points no other point beats on both latency (lower) and accuracy (higher)."""
    keep = []
    for i, (x, y) in enumerate(points):
        if not any((x2 <= x and y2 >= y) and (x2 < x or y2 > y) for j, (x2, y2) in enumerate(points) if j != i):
            keep.append(i)
    return keep


def _table(run: Path) -> tuple[list[dict], dict]:
    bj = json.loads((run / "bench.json").read_text())
    meta = json.loads((run / "rows.json").read_text())
    recipe = json.loads((run / "recipe.yaml").read_text())
    base = {}
    for m, row in zip(meta, bj["rows"]):
        if m["kind"] == "input":
            base.setdefault(m["runtime"], row)
    out = []
    for m, row in zip(meta, bj["rows"]):
        b = base.get(m["runtime"]) or next(iter(base.values()))
        lat = row.get("lat_p50_ms")
        out.append({
            "stage": m["stage"], "kind": m["kind"], "runtime": m["runtime"], "precision": row["precision"],
            "params_m": row.get("params_m"), "gflops": row.get("gflops"), "size_mb": row["size_mb"],
            "p50": lat, "p90": row.get("lat_p90_ms"), "rss": row.get("lat_peak_rss_mb"),
            "map50": row.get("eval_map50"), "map": row.get("eval_map50_95"),
            "per_class": row.get("eval_per_class"),
            "d_map": None if row.get("eval_map50_95") is None else 100 * (row["eval_map50_95"] - b["eval_map50_95"]),
            "lat_ratio": None if not lat or not b.get("lat_p50_ms") else lat / b["lat_p50_ms"],
            "size_x": b["size_mb"] / row["size_mb"] if row["size_mb"] else None,
        })
    return out, {"bench": bj, "recipe": recipe}


def _f(v, spec: str, suffix: str = "") -> str:
    return "—" if v is None else f"{v:{spec}}{suffix}"


# ------------------------------------------------------------------------------------- targets and advice
def _stage_options(recipe: dict) -> dict[str, tuple[str, dict]]:
    """label (``02-distill``) -> (kind, options) from the saved recipe."""
    out = {}
    for n, st in enumerate(recipe.get("stages") or [], 1):
        kind, opts = next(iter(st.items()))
        out[f"{n:02d}-{kind}"] = (kind, opts or {})
    return out


def _val_curve(run: Path, label: str) -> list[float]:
    """A training stage's per-epoch val mAP50-95 (Ultralytics' results.csv)."""
    f = run / label / "train" / "results.csv"
    if not f.exists():  # a soft prune stage trains in soft/soft/
        f = run / label / "soft" / "soft" / "results.csv"
    if not f.exists():
        return []
    with f.open() as fh:
        rows = [{k.strip(): v.strip() for k, v in r.items() if k} for r in csv.DictReader(fh)]
    return [float(r["metrics/mAP50-95(B)"]) for r in rows if r.get("metrics/mAP50-95(B)")]


def _rising(curve: list[float]) -> float | None:
    """mAP50-95 points the last epoch gained over the best of the epochs before the last third, or None."""
    k = max(1, len(curve) // 3)
    if len(curve) <= k:
        return None
    return 100 * (curve[-1] - max(curve[:-k]))


def _advice(kind: str, row: dict, rows: list[dict], final: list[dict], run: Path, recipe: dict) -> str:
    """One line of what to try for a failed target, from this run's own numbers."""
    t = recipe.get("targets") or {}
    stages = _stage_options(recipe)
    others = [x for x in final if x is not row]
    if kind == "map":
        allowed = t["max_map_drop"]
        better = [x for x in others if x["d_map"] is not None and -x["d_map"] <= allowed]
        if better:
            x = max(better, key=lambda x: x["d_map"])
            return (f"deploy the {x['runtime']} artifact ({x['stage']}, {x['precision']}): it loses "
                    f"{-x['d_map']:.2f} pt, within the target")
        pt = [x for x in rows if x["runtime"] == row["runtime"] and x["kind"] != "input" and x["precision"] == "fp32"
              and x["stage"] < row["stage"] and stages.get(x["stage"], ("",))[0] != "quantize"]
        pt_drop = -pt[-1]["d_map"] if pt and pt[-1]["d_map"] is not None else 0.0
        quant_cost = -row["d_map"] - pt_drop
        qo = stages.get(row["stage"], ("", {}))[1]
        if quant_cost > pt_drop and qo.get("max_drop") is not None and qo.get("control_split", "train") == "train":
            return (f"INT8 costs {quant_cost:.2f} of the {-row['d_map']:.2f} pt here although max_drop: {qo['max_drop']} "
                    f"was set: its control images are held-out train images, on which a model fit to them loses "
                    f"little; give control_split: <a split it never trained on>, or keep the Detect head float "
                    f"(ignore: [model.N], N its last module: yolo-compress info --layers)")
        if quant_cost > pt_drop:
            return (f"INT8 costs {quant_cost:.2f} of the {-row['d_map']:.2f} pt here (the float model before it loses "
                    f"{pt_drop:.2f}): quantize with max_drop: {allowed} (keeps the most sensitive layers in float), "
                    f"calibration: minmax or more calib_images, or another runtime")
        train = [lab for lab, (k, o) in stages.items()
                 if (k in ("finetune", "distill") or (k == "prune" and o.get("soft_epochs"))) and lab < row["stage"]]
        prune = [(lab, o) for lab, (k, o) in stages.items() if k == "prune" and lab < row["stage"]]
        if train:
            curve = _val_curve(run, train[-1])
            gain = _rising(curve)
            o = stages[train[-1]][1]
            key = "epochs" if stages[train[-1]][0] != "prune" else "soft_epochs"
            epochs = o.get(key, len(curve))
            if gain is not None and gain > 0.1:
                return (f"longer recovery: {train[-1]} still gained {gain:.2f} pt val mAP50-95 over its last epochs "
                        f"({len(curve)} run); try {key}: {2 * int(epochs)}")
        if prune:
            lab, o = prune[-1]
            how = (f"ratio: {o['ratio']} -> {round(o['ratio'] / 2, 3)}" if o.get("ratio") else
                   "a looser latency budget (target_flops: auto chose the level)" if o.get("target_flops") == "auto" else
                   f"target_flops: {o['target_flops']} -> {round(min(0.95, (1 + o['target_flops']) / 2), 3)}"
                   if o.get("target_flops") else "a smaller ratio")
            plateau = " after a recovery that had levelled off" if train else " with no recovery stage"
            return (f"less pruning: the float model already loses {pt_drop:.2f} pt{plateau}; try {how}"
                    + ("" if train else ", or add a finetune / distill stage after it"))
        return f"the float stages lose {pt_drop:.2f} pt: add a finetune or distill stage, or relax max_map_drop"
    if kind == "latency":
        allowed = t["max_latency_ratio"]
        better = [x for x in others if x["lat_ratio"] is not None and x["lat_ratio"] <= allowed]
        if better:
            x = min(better, key=lambda x: x["lat_ratio"])
            return f"deploy the {x['runtime']} artifact ({x['stage']}): {x['lat_ratio']:.2f}x the input's latency"
        gf = next((x for x in rows if x["kind"] == "input"), {}).get("gflops")
        if row["gflops"] and gf:
            return (f"prune more: {row['gflops']:.2f} of the input's {gf:.2f} GFLOPs are left; latency {row['lat_ratio']:.2f}x "
                    f"needs about {row['lat_ratio'] / allowed:.1f}x less work, or try another runtime")
        return f"prune more or try another runtime ({row['runtime']} runs it at {row['lat_ratio']:.2f}x)"
    # size
    need = t["min_size_reduction"] / row["size_x"]
    if row["precision"] not in ("int8", "mixed"):
        return f"quantize to INT8 (weights 4x smaller than {row['precision']}); {need:.1f}x more is needed"
    return (f"prune more: {row['params_m']:.3f} M parameters are left and the target needs {need:.1f}x fewer"
            if row["params_m"] else f"prune more ({need:.1f}x smaller needed)")


# target key -> (advice kind, the row's value, line when measured, line when not, passes, how to measure it)
_CHECKS = (
    ("max_map_drop", "map", lambda r: None if r.get("d_map") is None else -r["d_map"],
     "mAP50-95 drop {v:.2f} pt <= {t} pt", "mAP50-95 drop <= {t} pt", lambda v, t: v <= t,
     "give the recipe data: with a val split (the bench evaluates every artifact on it); see bench.json"),
    ("max_latency_ratio", "latency", lambda r: r.get("lat_ratio"),
     "latency {v:.2f}x <= {t}x", "latency <= {t}x", lambda v, t: v <= t,
     "set bench: {runs: 50} (or more) in the recipe to time every artifact"),
    ("min_size_reduction", "size", lambda r: r.get("size_x") or None,
     "{v:.1f}x smaller >= {t}x", ">= {t}x smaller", lambda v, t: v >= t,
     "the artifact's size was not recorded: see bench.json"),
)


def _targets(rows: list[dict], recipe: dict, run: Path | None = None) -> list[tuple[str, str | None]]:
    """(line, what to try) for each target check of each deliverable; what to try is None on a PASS. A target the
    run could not check is a NOT MEASURED line with how to measure it, never left out (a list of PASS lines only
    would read as all met)."""
    t = recipe.get("targets") or {}
    final = [rows[i] for i in final_indices([x["stage"] for x in rows])] if t else []
    lines = []
    for row in final:
        for key, kind, value, done, undone, ok, how in _CHECKS:
            if key not in t:
                continue
            v = value(row)
            if v is None:
                lines.append((f"- NOT MEASURED [{row['runtime']}] {undone.format(t=t[key])}: this run did not "
                              f"measure it", how))
                continue
            passed = ok(v, t[key])
            tip = None if passed else _advice(kind, row, rows, final, Path(run or "."), recipe)
            lines.append((f"- {'PASS' if passed else 'FAIL'} [{row['runtime']}] {done.format(v=v, t=t[key])}", tip))
    return lines


# ------------------------------------------------------------------------------------------- per class
def _per_class(rows: list[dict]) -> tuple[list[str], list[list[str]]]:
    """Header and rows of the per-class AP50-95 table: the input against each deliverable."""
    base = next((x for x in rows if x["kind"] == "input" and x["per_class"]), None)
    final = [x for x in (rows[i] for i in final_indices([x["stage"] for x in rows])) if x["per_class"]]
    if base is None or not final:
        return [], []
    head = ["class", "instances", f"input [{base['runtime']}]"]
    for x in final:
        head += [f"{x['stage']} [{x['runtime']}]", "Δ pt"]
    body = []
    for name, b in base["per_class"].items():
        cells = [name, str(b["instances"]), f"{b['ap50_95']:.4f}"]
        for x in final:
            v = (x["per_class"].get(name) or {}).get("ap50_95")
            cells += [_f(v, ".4f"), _f(None if v is None else 100 * (v - b["ap50_95"]), "+.2f")]
        body.append(cells)
    return head, body


# ------------------------------------------------------------------------------------------------- plot
MARKERS = "osD^vP*Xph<>"
COLOURS = ["#1f77b4", "#ff7f0e", "#2ca02c", "#9467bd", "#8c564b", "#e377c2", "#7f7f7f", "#bcbd22", "#17becf",
           "#393b79"]  # tab10 without its red, which draws the Pareto front


def _plot_svg(rows: list[dict]) -> str:
    """Accuracy vs. latency. Each point is its own legend entry (colour + marker), the legend sits outside the
    axes: no text is drawn at the points, so no two labels can overlap however close the points are."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    pts = [(r["lat_ratio"], r["map"], f"{r['stage']} [{r['runtime']}] {r['precision']}") for r in rows
           if r["lat_ratio"] is not None and r["map"] is not None]
    fig, ax = plt.subplots(figsize=(9.5, 4.5))
    if pts:
        front = pareto([(x, y) for x, y, _ in pts])
        fp = sorted((pts[i] for i in front), key=lambda p: p[0])
        ax.plot([p[0] for p in fp], [p[1] for p in fp], "-", c="#d62728", lw=2, zorder=1, marker="o", ms=13,
                mfc="none", mec="#d62728", mew=2, label="Pareto front (ringed)")
        for n, (x, y, name) in enumerate(pts):
            ax.scatter([x], [y], s=46, marker=MARKERS[n % len(MARKERS)], color=COLOURS[n % len(COLOURS)], edgecolors="white",
                       linewidths=0.6, zorder=2, label=f"{name}: {x:.2f}x, {y:.4f}")
    ax.set_xlabel("latency vs. input model, same runtime (lower is better)")
    ax.set_ylabel("mAP50-95")
    ax.grid(alpha=0.3)
    if pts:
        ax.legend(fontsize=8, loc="upper left", bbox_to_anchor=(1.02, 1.0), borderaxespad=0.0, frameon=False)
    else:  # an empty frame would look like a failed render: say why it is empty and how to fill it
        ax.text(0.5, 0.5, "no stage was both timed and scored: bench with runs > 0 and data to plot them",
                ha="center", va="center", transform=ax.transAxes, fontsize=10, color="#555555")
    buf = io.StringIO()
    fig.savefig(buf, format="svg", bbox_inches="tight")
    plt.close(fig)
    svg = buf.getvalue()
    return svg[svg.index("<svg"):]


COLS = ["stage", "runtime", "precision", "params M", "GFLOPs", "size MB", "x smaller", "p50 ms", "p90 ms",
        "vs input", "peak RSS MB", "mAP50", "mAP50-95", "Δ mAP50-95 (pt)"]


def _cells(r: dict) -> list[str]:
    return [r["stage"], r["runtime"], r["precision"], _f(r["params_m"], ".3f"), _f(r["gflops"], ".3f"),
            _f(r["size_mb"], ".2f"), _f(r["size_x"], ".1f", "x"), _f(r["p50"], ".2f"), _f(r["p90"], ".2f"),
            _f(r["lat_ratio"], ".2f", "x"), _f(r["rss"], ".0f"), _f(r["map50"], ".4f"), _f(r["map"], ".4f"),
            _f(r["d_map"], "+.2f")]


def _html_table(head: list[str], body: list[list[str]], id_: str) -> str:
    h = "".join(f"<th>{html.escape(c)}</th>" for c in head)
    b = "".join("<tr>" + "".join(f"<td>{html.escape(c)}</td>" for c in r) + "</tr>" for r in body)
    return f'<table id="{id_}"><thead><tr>{h}</tr></thead><tbody>{b}</tbody></table>'


def write_report(run: str | Path) -> tuple[Path, Path]:
    run = Path(run)
    rows, ctx = _table(run)
    bj, recipe = ctx["bench"], ctx["recipe"]
    from ..bench.bench import cpu_label

    m = bj.get("machine", {})
    held = (f" ({recipe['holdout']} train images held out of training: the max_drop control set, "
            f"holdout/holdout.txt)" if recipe.get("holdout") else "")
    foot = (f"imgsz {recipe['imgsz']}, data {recipe['data']}{held}, {bj['config'].get('threads') or 'default'} threads, "
            f"{cpu_label(m)}, {bj['date']}. Latency ratios are from one bench run; mAP by the one evaluator.")
    targets = _targets(rows, recipe, run)
    det = json.loads((run / "detections.json").read_text()) if (run / "detections.json").exists() else None
    det_files = [run / "detections" / f for f in (det or {}).get("files", []) if (run / "detections" / f).exists()]
    pc_head, pc_body = _per_class(rows)
    md = [f"# yolo-compress report: {recipe['name']}", "",
          "Stages: " + " -> ".join(["input"] + [next(iter(s)) for s in recipe["stages"]]), "",
          "| " + " | ".join(COLS) + " |", "|" + "---|" * len(COLS)]
    md += ["| " + " | ".join(_cells(r)) + " |" for r in rows]
    md += ["", foot, ""]
    if targets:
        md += ["## Targets", ""]
        for line, tip in targets:
            md += [line] + ([f"  - try: {tip}"] if tip else [])
        md += [""]
    svg = _plot_svg(rows)
    atomic_write_text(run / "plot.svg", svg)
    md += ["## Accuracy vs. latency", "", "![accuracy vs latency](plot.svg)", ""]
    # the latency-budget decision, when the recipe had one
    md += (dev := device_section(run, rows, [rows[i] for i in final_indices([x["stage"] for x in rows])]))[0]
    if pc_body:
        md += ["## AP50-95 per class", "", "| " + " | ".join(pc_head) + " |", "|" + "---|" * len(pc_head)]
        md += ["| " + " | ".join(r) + " |" for r in pc_body] + [""]
    if det_files:
        md += ["## Detections", "", f"{' | '.join(det['panels'])} (boxes with confidence >= {det['conf']}, the same "
               f"val images every run)", ""]
        md += [f"![{f.stem}](detections/{f.name})" for f in det_files] + [""]
    md_path = atomic_write_text(run / "report.md", "\n".join(md))
    tlist = "".join(f"<li>{html.escape(line[2:])}" + (f'<ul><li class="try">try: {html.escape(tip)}</li></ul>'
                                                       if tip else "") + "</li>" for line, tip in targets)
    imgs = "".join(f'<figure><img class="detections" alt="{html.escape(f.stem)}" '
                   f'src="data:image/jpeg;base64,{base64.b64encode(f.read_bytes()).decode()}"></figure>'
                   for f in det_files)
    det_html = (f'<h2>Detections</h2><p>{html.escape(" | ".join(det["panels"]))} (boxes with confidence &gt;= '
                f'{det["conf"]}, the same val images every run)</p><div id="detections">{imgs}</div>'
                if det_files else "")
    pc_html = f"<h2>AP50-95 per class</h2>{_html_table(pc_head, pc_body, 'per-class')}" if pc_body else ""
    page = f"""<!doctype html><html><head><meta charset="utf-8"><title>yolo-compress report: {html.escape(recipe['name'])}</title>
<style>body{{font-family:sans-serif;margin:2em}}table{{border-collapse:collapse}}td,th{{border:1px solid #ccc;padding:4px 8px;text-align:right}}
td:first-child,td:nth-child(2),td:nth-child(3){{text-align:left}}figure{{margin:0 0 1em 0}}img.detections{{max-width:100%}}
li.try{{color:#555}}</style></head><body>
<h1>yolo-compress report: {html.escape(recipe['name'])}</h1>
{_html_table(COLS, [_cells(r) for r in rows], 'stages')}
<p>{html.escape(foot)}</p>{f'<h2>Targets</h2><ul id="targets">{tlist}</ul>' if tlist else ''}
<h2>Accuracy vs. latency</h2><div id="plot">{svg}</div>
{dev[1]}{pc_html}{det_html}</body></html>"""
    html_path = atomic_write_text(run / "report.html", page)
    return md_path, html_path
