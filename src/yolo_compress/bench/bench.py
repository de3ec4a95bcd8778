"""``bench``: one row per artifact — size, params, GFLOPs, mAP (two evaluators), latency, throughput, RSS.

Every artifact goes through the same data adapter, pre-processing, NMS, evaluator and latency harness.
Latency ratios are against the first row of the same run (timings on shared machines are noisy; ratios
from one run much less so).
"""

from __future__ import annotations

import datetime as _dt
import json
import os
import platform
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Sequence

from ..config import BenchConfig
from ..data import DataSpec, load_data, preprocess, read_image, synthetic_images
from ..errors import InputError
from ..progress import progress_bar, task_progress
from ..runtime.artifact import Artifact, inspect_artifact
from ..runtime.evaluator import EvalResult, ValResult, checked_split, crosscheck, evaluate, ultralytics_val
from ..runtime.graphstats import GraphStats, onnx_stats, openvino_stats, torch_stats, tflite_stats
from ..runtime.latency import Timing, time_artifact, time_interleaved
from ..runtime.runtimes import make_runner, resolve_runtime


@dataclass
class BenchRow:
    name: str
    path: str
    format: str
    runtime: str
    precision: str
    size_mb: float
    params_m: float | None
    gflops: float | None
    eval: EvalResult | None
    timing: Timing | None
    crosscheck: ValResult | None = None  # Ultralytics' own val() on the same artifact (bench --crosscheck)

    def flat(self) -> dict:
        d = {k: v for k, v in asdict(self).items() if k not in ("eval", "timing", "crosscheck")}
        d.update({f"eval_{k}": v for k, v in (self.eval.as_dict() if self.eval else {}).items()})
        d.update({f"crosscheck_{k}": v for k, v in (self.crosscheck.as_dict() if self.crosscheck else {}).items()})
        d.update({f"lat_{k}": v for k, v in (self.timing.as_dict() if self.timing else {}).items()})
        return d


@dataclass
class BenchReport:
    rows: list[BenchRow]
    config: BenchConfig
    machine: dict = field(default_factory=dict)
    date: str = ""
    data_check: dict | None = None  # SplitCheck.as_dict(): images scored / skipped and why, boxes

    def to_json(self) -> str:
        d = {"date": self.date, "machine": self.machine, "config": self.config.as_dict(),
             "rows": [r.flat() for r in self.rows]}
        if self.data_check is not None:
            d["data_check"] = self.data_check
        return json.dumps(d, indent=2)

    def columns(self) -> list[str]:
        return ["artifact", "format", "runtime", "prec", "size MB", "params M", "GFLOPs", "mAP50", "mAP50-95",
                "COCO mAP50-95", "p50 ms", "p90 ms", "vs first", "vs FP32 same runtime", "best-round vs first",
                "img/s (batch)", "peak RSS MB"]

    def table_rows(self) -> list[list[str]]:
        base = next((r.timing.p50_ms for r in self.rows if r.timing), None)
        base_best = next((r.timing.p50_best_ms for r in self.rows if r.timing), None)
        fp32 = {}  # runtime -> p50 of its first FP32 row
        for r in self.rows:
            if r.timing and r.precision == "fp32":
                fp32.setdefault(r.runtime, r.timing.p50_ms)
        out = []
        for r in self.rows:
            e, t = r.eval, r.timing
            same = fp32.get(r.runtime)
            out.append([
                r.name, r.format, r.runtime, r.precision, f"{r.size_mb:.2f}",
                "—" if r.params_m is None else f"{r.params_m:.3f}",
                "—" if r.gflops is None else f"{r.gflops:.3f}",
                "—" if e is None else f"{e.map50:.4f}",
                "—" if e is None else f"{e.map50_95:.4f}",
                "—" if e is None else f"{e.coco_map50_95:.4f}",
                "—" if t is None else f"{t.p50_ms:.2f}",
                "—" if t is None else f"{t.p90_ms:.2f}",
                "—" if t is None or not base else f"{t.p50_ms / base:.2f}x",
                "—" if t is None or not same else f"{t.p50_ms / same:.2f}x",
                "—" if t is None or not base_best else f"{t.p50_best_ms / base_best:.2f}x",
                "—" if t is None else f"{t.throughput_ips:.1f} (b{t.throughput_batch})",
                "—" if t is None else f"{t.peak_rss_mb:.0f}",
            ])
        return out

    def _schedule(self) -> str:
        c = self.config
        if c.runs == 0:
            return "not timed (--runs 0)"
        if c.interleave > 0:
            return (f"median/p90 of {c.runs * c.rounds} runs after {c.warmup} warm-up, timed in blocks of "
                    f"{c.interleave} runs cycling over all artifacts (best round = lowest median of {c.rounds} "
                    f"slices of {c.runs})")
        return (f"median/p90 of {c.runs} runs after {c.warmup} warm-up"
                f"{f' (median over {c.rounds} interleaved rounds)' if c.rounds > 1 else ''}")

    def to_markdown(self) -> str:
        cols = self.columns()
        lines = ["| " + " | ".join(cols) + " |", "|" + "---|" * len(cols)]
        lines += ["| " + " | ".join(r) + " |" for r in self.table_rows()]
        c = self.config
        m = self.machine
        lines.append("")
        lines.append(
            f"imgsz {c.imgsz}, {c.threads or 'default'} threads, latency = network call at batch 1, "
            f"{self._schedule()}; mAP on {self.rows[0].eval.images if self.rows and self.rows[0].eval else 0} "
            f"images of '{c.data or 'none'}' (Ultralytics matching; COCO column: faster-coco-eval). "
            f"{cpu_label(m)}, {m.get('cores', '')} cores, {self.date}."
        )
        if self.data_check:
            lines.append("")
            lines.append(f"Data: {self.data_check['summary']} (details in bench.json).")
        xc = [r for r in self.rows if r.crosscheck]
        if xc:
            lines.append("")
            lines.append("Cross-check, Ultralytics val() on the same artifacts (mAP50 / mAP50-95): " + "; ".join(
                f"{r.name} {r.crosscheck.map50:.4f} / {r.crosscheck.map50_95:.4f}" for r in xc) + ".")
        return "\n".join(lines) + "\n"

    def write(self, out_dir: Path) -> list[Path]:
        from ..io import atomic_write_text

        out_dir.mkdir(parents=True, exist_ok=True)
        return [
            atomic_write_text(out_dir / "bench.json", self.to_json()),
            atomic_write_text(out_dir / "bench.md", self.to_markdown()),
        ]

    def print(self, console=None) -> None:
        from rich.console import Console
        from rich.table import Table

        console = console or Console()
        t = Table(title="yolo-compress bench", show_lines=False)
        for c in self.columns():
            t.add_column(c, justify="left" if c in ("artifact", "format", "runtime", "prec") else "right")
        for r in self.table_rows():
            t.add_row(*r)
        console.print(t)


def cpu_label(m: dict) -> str:
    """'AMD EPYC (family 25 model 17; avx2 avx512 vnni ...)': the CPU every timing is measured on."""
    extra = "; ".join(x for x in (m.get("cpu_id", ""), " ".join(m.get("cpu_flags") or ())) if x)
    return f"{m.get('cpu', '')}{f' ({extra})' if extra else ''}"


def machine_info() -> dict:
    import onnxruntime
    import openvino
    import torch
    import ultralytics

    from ..profile import cpu_info  # model name, family/model and the flags that decide INT8 / BF16 speed

    ci = cpu_info()
    return {
        "cpu": ci["cpu"],
        "cpu_id": " ".join(f"{k} {ci[k]}" for k in ("family", "model", "implementer", "part") if k in ci),
        "cpu_flags": sorted(k for k, v in (ci.get("flags") or {}).items() if v),
        "cores": os.cpu_count(),
        "python": platform.python_version(),
        "torch": torch.__version__,
        "ultralytics": ultralytics.__version__,
        "onnxruntime": onnxruntime.__version__,
        "openvino": openvino.get_version(),
    }


def graph_stats(artifact: Artifact, imgsz: int) -> GraphStats | None:
    if artifact.format == "pytorch":
        from ..models import load_model

        return torch_stats(load_model(artifact.path).model.float().fuse(), imgsz)
    if artifact.format == "onnx":
        return onnx_stats(artifact.model_file)
    if artifact.format == "openvino":
        return openvino_stats(artifact.model_file)
    if artifact.format == "tflite":
        return tflite_stats(artifact.model_file)
    if artifact.format == "torchscript":
        import torch

        m = torch.jit.load(str(artifact.path), map_location="cpu")
        return GraphStats(params=sum(p.numel() for p in m.parameters()), gflops=float("nan"))
    return None


def _resolve_imgsz(artifacts: Sequence[Artifact], imgsz: int | None) -> int:
    if imgsz is None:
        sizes = {a.imgsz for a in artifacts if a.imgsz}
        if len(sizes) != 1:
            raise InputError("artifacts disagree on (or do not record) their image size; pass --imgsz")
        return sizes.pop()
    for a in artifacts:
        if a.format != "pytorch" and a.imgsz and a.imgsz != imgsz and a.batch is not None:
            raise InputError(
                f"artifact '{a.path}' was exported at imgsz {a.imgsz}, not {imgsz}; pass --imgsz {a.imgsz} or "
                f"re-export with --imgsz {imgsz}"
            )
    return imgsz


def _median_timing(ts: list[Timing]) -> Timing | None:
    """Per-field median over rounds (one round: itself)."""
    if not ts:
        return None
    if len(ts) == 1 and ts[0].p50_best_ms > 0:  # the interleaved schedule: already one timing over all rounds
        return ts[0]
    import statistics

    fields = Timing.__dataclass_fields__
    med = {k: statistics.median(getattr(t, k) for t in ts) for k in fields}
    med["runs"] = sum(t.runs for t in ts)
    med["throughput_batch"] = ts[0].throughput_batch
    med["p50_best_ms"] = min(t.p50_ms for t in ts)
    return Timing(**med)


def bench(artifacts: Sequence[str | os.PathLike], config: BenchConfig, names: Sequence[str] | None = None,
          out_dir: Path | None = None, console=None, crosscheck_val: bool = False) -> BenchReport:
    """Benchmark artifacts with one measurement path. Writes ``bench.json`` and ``bench.md`` to ``out_dir``.

    ``crosscheck_val``: also run Ultralytics' own ``val()`` on each artifact and raise
    :class:`CrosscheckError` (before timing) when its mAP50 or mAP50-95 differs from ours by more than 0.002."""
    if not artifacts:
        raise InputError("no artifact given; pass one or more model files to bench")
    if crosscheck_val and not config.data:
        raise InputError("--crosscheck compares mAP: pass --data DATA.yaml")
    arts = [inspect_artifact(a) for a in artifacts]
    data: DataSpec | None = load_data(config.data) if config.data else None
    imgsz = _resolve_imgsz(arts, config.imgsz)
    data_check = checked_split(data, "val", config.limit) if data else None  # every label checked before work
    if data_check is not None and console is not None:
        console.print(f"data: {data_check.summary()}", highlight=False, markup=False)
    runtimes = [resolve_runtime(a, config.runtime) for a in arts]
    # one fixed latency input for every artifact: the first val image, or a synthetic one
    first = read_image(next(iter(data_check.labels))) if data else synthetic_images(1, imgsz)[0]
    x, _ = preprocess([first], imgsz)
    names = list(names) if names else [a.path.name for a in arts]
    stats, evals, xchecks = [], [], []
    for a, rt, name in zip(arts, runtimes, names):
        stats.append(graph_stats(a, imgsz))
        ev = xc = None
        if data is not None:
            runner = make_runner(a, rt, config.threads)
            n = data_check.scored
            with progress_bar(f"mAP  {name} [{rt}]", n, console) as bar:
                ev = evaluate(runner, data, imgsz, a.end2end, limit=config.limit, progress=bar)
            del runner
            if crosscheck_val:
                xc = ultralytics_val(a.path, data, imgsz, limit=config.limit)
                if console is not None:
                    console.print(f"crosscheck {name}: ours {ev.map50:.4f} / {ev.map50_95:.4f}, Ultralytics val() "
                                  f"{xc.map50:.4f} / {xc.map50_95:.4f} (mAP50 / mAP50-95, {xc.images} images)",
                                  highlight=False, markup=False)
                crosscheck(name, ev, xc)  # fails before any timing
        evals.append(ev)
        xchecks.append(xc)
    timings: list[list[Timing]] = [[] for _ in arts]
    if config.runs > 0 and config.interleave > 0:  # blocks of runs cycle over live workers (latency.py)
        n = config.runs * config.rounds * len(arts)
        with task_progress(f"time {len(arts)} artifact(s), interleaved blocks of {config.interleave} runs", n,
                           console) as advance:
            timings = [[t] for t in time_interleaved(list(zip(arts, runtimes)), x, config.threads, config.warmup,
                                                      config.runs, config.rounds, config.batch, config.interleave,
                                                      on_progress=advance)]
    elif config.runs > 0:  # interleaved rounds: slow drifts of a shared machine hit every artifact alike
        for r in range(config.rounds):
            for i, (a, rt, name) in enumerate(zip(arts, runtimes, names)):
                label = f"time {name} [{rt}]" + (f" round {r + 1}/{config.rounds}" if config.rounds > 1 else "")
                with task_progress(label, config.runs, console) as advance:
                    timings[i].append(time_artifact(a, rt, x, config.threads, config.warmup, config.runs,
                                                    config.batch, on_progress=lambda k, n: advance(k)))
    rows: list[BenchRow] = []
    for a, rt, name, st, ev, ts, xc in zip(arts, runtimes, names, stats, evals, timings, xchecks):
        gflops = None if st is None or st.gflops != st.gflops else st.gflops
        rows.append(BenchRow(name, str(a.path), a.format, rt, a.precision, a.size_mb,
                             None if st is None else st.params / 1e6, gflops, ev, _median_timing(ts), xc))
    cfg = BenchConfig(**{**config.as_dict(), "imgsz": imgsz})
    report = BenchReport(rows, cfg, machine_info(), _dt.datetime.now().astimezone().isoformat(timespec="seconds"),
                         data_check.as_dict() if data_check else None)
    if out_dir is not None:
        report.write(out_dir)
    return report
