"""The report's latency-budget section (recipes whose stages say ``auto``): the decision the runner made from
the device profile (``RUN/decision.json``: chosen level, runtime and precision, why, which reduced precisions
did not pay on that device), the plot of latency vs GFLOPs per runtime/precision with the budget line
(``RUN/device.png``), and the ``max_latency_ms`` target checked on this run's own bench numbers."""

from __future__ import annotations

import base64
import html
import json
from pathlib import Path


def _ms_checks(recipe: dict, decided: bool, rows: list[dict], final: list[dict]) -> list[str]:
    """PASS/FAIL of ``max_latency_ms`` for each deliverable, and for a budget run's ``max_latency_ratio`` the
    ratio to the budget's reference (the input's ONNX Runtime FP32; the Targets section compares each runtime
    with the input on the same runtime), from this run's bench rows (measured on the bench machine)."""
    t = recipe.get("targets") or {}
    limit, ratio = t.get("max_latency_ms"), t.get("max_latency_ratio") if decided else None
    if (limit is None and ratio is None) or not rows:
        return []
    ref = next((x["p50"] for x in rows if x["kind"] == "input" and x["runtime"] == "onnxruntime"), None)
    out = []
    for row in final:
        if row["p50"] is None:  # not timed (bench runs: 0): said, not dropped; a budget run's profile only predicted it
            budget = f"{limit:g} ms" if limit is not None else f"{ratio:g}x of the input's ONNX Runtime FP32"
            out.append(f"- NOT MEASURED [{row['runtime']}] latency <= {budget}: this run did not time it (set bench: "
                       f"{{runs: 50}} in the recipe to time every artifact)")
            continue
        if limit is not None:
            out.append(f"- {'PASS' if row['p50'] <= limit else 'FAIL'} [{row['runtime']}] latency {row['p50']:.2f} ms "
                       f"p50 <= {limit:g} ms (this run's bench machine)")
        if ratio is not None and ref:
            x = row["p50"] / ref
            out.append(f"- {'PASS' if x <= ratio else 'FAIL'} [{row['runtime']}] latency {x:.3f}x of the input's ONNX "
                       f"Runtime FP32 <= {ratio:g}x (the budget's reference; this run's bench machine)")
    return out


def device_section(run: str | Path, rows: list[dict], final: list[dict]) -> tuple[list[str], str]:
    """(markdown lines, HTML) of the latency-budget section; both empty when the run made no decision.
    ``rows`` are the report's table rows and ``final`` the deliverables among them (report.py passes them down)."""
    run = Path(run)
    f = run / "decision.json"
    recipe = json.loads((run / "recipe.yaml").read_text()) if (run / "recipe.yaml").exists() else {}
    checks = _ms_checks(recipe, f.exists(), rows, final)
    if not f.exists():
        if not checks:
            return [], ""
        return ["## Latency budget", ""] + checks + [""], \
            "<h2>Latency budget</h2><ul>" + "".join(f"<li>{html.escape(c[2:])}</li>" for c in checks) + "</ul>"
    d = json.loads(f.read_text())
    lines = d["summary"].splitlines()
    prune = (f"prune: uniform channel ratio {d['prune']['ratio']:.4f} (round_to {d['prune'].get('round_to')}), "
             f"the architecture the profile timed" if d.get("prune") else "prune: none (the input meets the budget)")
    quant = (f"quantize: {d['quantize']['backend']} {d['quantize']['mode']}" if d.get("quantize") else
             f"quantize: none, the deliverable is FP32 for {d['runtime']}")
    skipped = (f"reduced precision skipped on this device (did not pay): {', '.join(d['skipped_precisions'])}"
               if d.get("skipped_precisions") else "")
    head = [f"Device profile: `{d.get('profile')}` ({d['device']}).", prune, quant] + ([skipped] if skipped else [])
    md = ["## Latency budget (device profile)", ""] + [f"- {x}" for x in head] + ["", "```", *lines, "```", ""]
    md += checks + ([""] if checks else [])
    png = run / "device.png"
    if png.exists():
        md += ["![latency vs GFLOPs per runtime/precision, budget line](device.png)", ""]
    img = (f'<img id="device-plot" alt="latency vs GFLOPs" src="data:image/png;base64,'
           f'{base64.b64encode(png.read_bytes()).decode()}">' if png.exists() else "")
    page = ("<h2>Latency budget (device profile)</h2><ul id=\"decision\">"
            + "".join(f"<li>{html.escape(x)}</li>" for x in head + [c[2:] for c in checks]) + "</ul>"
            + f"<pre>{html.escape(d['summary'])}</pre>{img}")
    return md, page
