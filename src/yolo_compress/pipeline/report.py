"""Benchmark every stage of a run in one bench run, and write ``report.md`` + a self-contained
``report.html`` (table in the seeds' style, deltas vs. the input, accuracy-vs-latency plot with the Pareto
front). ``yolo-compress report RUN_DIR`` rebuilds the report from ``bench.json`` without re-measuring.
"""

from __future__ import annotations

import html
import io
import json
from pathlib import Path

from ..config import BenchConfig, ExportConfig
from ..io import atomic_write_text

FMT = {"onnxruntime": "onnx", "openvino": "openvino"}


def _fp32_exports(pt: Path, folder: Path, runtimes, imgsz: int, threads) -> list[tuple[str, Path]]:
    from ..export.exporter import default_output, export

    out = []
    for rt in runtimes:
        dest = default_output(folder / "bench" / "model.pt", FMT[rt])
        if not dest.exists():
            dest.parent.mkdir(parents=True, exist_ok=True)
            export(pt, ExportConfig(format=FMT[rt], imgsz=imgsz), out=dest, threads=threads)
        out.append((rt, dest))
    return out


def bench_run(r, run: Path, records, console=None, threads=None) -> None:
    from ..bench.bench import bench
    from ..bench.runtimes import DEFAULT_RUNTIME
    from ..export.formats import inspect_artifact

    rows = []  # (label, kind, runtime, artifact)
    for rt, art in _fp32_exports(Path(r.model), run / "00-input", r.runtimes, r.imgsz, threads):
        rows.append(("00-input", "input", rt, art))
    for rec in records:
        if rec.produces == "pt":
            for rt, art in _fp32_exports(rec.output, rec.folder, r.runtimes, r.imgsz, threads):
                rows.append((rec.stage.label, rec.stage.kind, rt, art))
        else:
            rows.append((rec.stage.label, rec.stage.kind, DEFAULT_RUNTIME[inspect_artifact(rec.output).format],
                         rec.output))
    b = dict(r.bench)
    cfg = BenchConfig(**{**b, "data": r.data, "imgsz": r.imgsz, "threads": b.get("threads", threads)})
    names = [f"{label} [{rt}]" for label, _, rt, _ in rows]
    bench([a for *_, a in rows], cfg, names=names, out_dir=run, console=console)
    atomic_write_text(run / "rows.json", json.dumps(
        [{"stage": label, "kind": kind, "runtime": rt, "artifact": str(Path(a).relative_to(run) if str(a).startswith(str(run)) else a)}
         for label, kind, rt, a in rows], indent=2))


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
            base[m["runtime"]] = row
    out = []
    for m, row in zip(meta, bj["rows"]):
        b = base.get(m["runtime"]) or next(iter(base.values()))
        lat = row.get("lat_p50_ms")
        out.append({
            "stage": m["stage"], "runtime": m["runtime"], "precision": row["precision"],
            "params_m": row.get("params_m"), "gflops": row.get("gflops"), "size_mb": row["size_mb"],
            "p50": lat, "p90": row.get("lat_p90_ms"), "rss": row.get("lat_peak_rss_mb"),
            "map50": row.get("eval_map50"), "map": row.get("eval_map50_95"),
            "d_map": None if row.get("eval_map50_95") is None else 100 * (row["eval_map50_95"] - b["eval_map50_95"]),
            "lat_ratio": None if not lat or not b.get("lat_p50_ms") else lat / b["lat_p50_ms"],
            "size_x": b["size_mb"] / row["size_mb"] if row["size_mb"] else None,
        })
    return out, {"bench": bj, "recipe": recipe}


def _f(v, spec: str, suffix: str = "") -> str:
    return "—" if v is None else f"{v:{spec}}{suffix}"


def _targets(rows: list[dict], recipe: dict) -> list[str]:
    t = recipe.get("targets") or {}
    if not t:
        return []
    # the deliverables: every artifact stage at the end of the recipe (e.g. INT8 for two runtimes), or the
    # last stage's rows when the recipe ends with a PyTorch model
    final = [x for x in rows if x["stage"].endswith(("-quantize", "-export"))] or \
        [x for x in rows if x["stage"] == rows[-1]["stage"]]
    lines = []
    for row in final:
        checks = []
        if "max_map_drop" in t and row["d_map"] is not None:
            checks.append((f"mAP50-95 drop {-row['d_map']:.2f} pt <= {t['max_map_drop']}", -row["d_map"] <= t["max_map_drop"]))
        if "max_latency_ratio" in t and row["lat_ratio"] is not None:
            checks.append((f"latency {row['lat_ratio']:.2f}x <= {t['max_latency_ratio']}x",
                           row["lat_ratio"] <= t["max_latency_ratio"]))
        if "min_size_reduction" in t and row["size_x"]:
            checks.append((f"{row['size_x']:.1f}x smaller >= {t['min_size_reduction']}x",
                           row["size_x"] >= t["min_size_reduction"]))
        for text, ok in checks:
            lines.append(f"- {'PASS' if ok else 'FAIL'} [{row['runtime']}] {text}")
    return lines


def _plot_svg(rows: list[dict]) -> str:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    pts = [(r["lat_ratio"], r["map"], f"{r['stage']} [{r['runtime']}]") for r in rows
           if r["lat_ratio"] is not None and r["map"] is not None]
    fig, ax = plt.subplots(figsize=(7, 4.5))
    if pts:
        front = pareto([(x, y) for x, y, _ in pts])
        ax.scatter([p[0] for p in pts], [p[1] for p in pts], c="#888", s=30, label="stage / runtime")
        fp = sorted((pts[i] for i in front), key=lambda p: p[0])
        ax.plot([p[0] for p in fp], [p[1] for p in fp], "o-", c="#d62728", label="Pareto front")
        for x, y, name in pts:
            ax.annotate(name, (x, y), textcoords="offset points", xytext=(4, 4), fontsize=7)
    ax.set_xlabel("latency vs. input model, same runtime (lower is better)")
    ax.set_ylabel("mAP50-95")
    ax.grid(alpha=0.3)
    ax.legend(fontsize=8)
    buf = io.StringIO()
    fig.tight_layout()
    fig.savefig(buf, format="svg")
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


def write_report(run: str | Path) -> tuple[Path, Path]:
    run = Path(run)
    rows, ctx = _table(run)
    bj, recipe = ctx["bench"], ctx["recipe"]
    m = bj.get("machine", {})
    foot = (f"imgsz {recipe['imgsz']}, data {recipe['data']}, {bj['config'].get('threads') or 'default'} threads, "
            f"{m.get('cpu', '')}, {bj['date']}. Latency ratios are from one bench run; mAP by the one evaluator.")
    targets = _targets(rows, recipe)
    md = [f"# yolo-compress report: {recipe['name']}", "",
          "Stages: " + " -> ".join(["input"] + [next(iter(s)) for s in recipe["stages"]]), "",
          "| " + " | ".join(COLS) + " |", "|" + "---|" * len(COLS)]
    md += ["| " + " | ".join(_cells(r)) + " |" for r in rows]
    md += ["", foot, ""]
    if targets:
        md += ["## Targets", "", *targets, ""]
    svg = _plot_svg(rows)
    atomic_write_text(run / "plot.svg", svg)
    md += ["![accuracy vs latency](plot.svg)", ""]
    md_path = atomic_write_text(run / "report.md", "\n".join(md))
    head = "".join(f"<th>{html.escape(c)}</th>" for c in COLS)
    body = "".join("<tr>" + "".join(f"<td>{html.escape(c)}</td>" for c in _cells(r)) + "</tr>" for r in rows)
    tlist = "".join(f"<li>{html.escape(t[2:])}</li>" for t in targets)
    page = f"""<!doctype html><html><head><meta charset="utf-8"><title>yolo-compress report: {html.escape(recipe['name'])}</title>
<style>body{{font-family:sans-serif;margin:2em}}table{{border-collapse:collapse}}td,th{{border:1px solid #ccc;padding:4px 8px;text-align:right}}
td:first-child,td:nth-child(2),td:nth-child(3){{text-align:left}}</style></head><body>
<h1>yolo-compress report: {html.escape(recipe['name'])}</h1>
<table id="stages"><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>
<p>{html.escape(foot)}</p>{f'<h2>Targets</h2><ul id="targets">{tlist}</ul>' if tlist else ''}
<h2>Accuracy vs. latency</h2><div id="plot">{svg}</div></body></html>"""
    html_path = atomic_write_text(run / "report.html", page)
    return md_path, html_path
