"""Device profile: how fast each compression candidate runs on the machine that will run it, and which
candidate meets a latency budget there.

Two halves, so that a board with only the runtimes installed can be profiled:

* ``build_candidates`` (needs PyTorch, Ultralytics and the converters) prunes the input model at a grid of
  GFLOPs levels - untrained: latency depends on the architecture, not on the weights - and exports every
  level for each runtime x precision asked, into a folder with a ``manifest.json`` and the timing input.
* ``time_candidates`` (imports only numpy and the runtimes: neither torch nor Ultralytics) times every
  candidate of such a folder with the bench's interleaved harness (one live worker per artifact, blocks
  of 10 runs in turn, 50 ms pause) and writes the device profile JSON: CPU model and flags, runtime
  versions, threads, and per candidate p50 / p90 / per-round medians with each one's ratio to the
  level-1.0 ONNX Runtime FP32 candidate (the input as the bench's reference).

``choose(profile, budget)`` picks the least pruning (highest level) whose candidate meets the budget at its
slow end (the worse of p90 and the slowest round's median, never the median alone), with the runtime and
precision fastest there; a reduced precision (INT8, FP16) is skipped where it is not at least
``min_gain`` faster than FP32 of the same runtime and level on this device, and the decision says so.
It chooses among *measured* levels only: latency is a step function of the channel counts (round_to
multiples, kernel choice per shape) and we measured jumps between neighbouring levels, so a value
interpolated between two grid points would be a guess of exactly the kind the profile replaces.

Levels are reached with one uniform prune at a channel ratio (estimated from the levels already built),
not by a GFLOPs bisection: the bisection costs 6-12 prunes per level (67 s for one level of the built-in
v8n at 320 on 2 shared cores) and, more to the point, only the ratio reproduces the profiled
architecture exactly - uniform channel counts do not depend on the weights or the criterion, so a recipe
that prunes its trained model with ``Decision.prune`` gets the very architecture that was timed.
"""

from __future__ import annotations

import json
import os
import shutil
import tempfile
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Callable, Sequence

import numpy as np

from .errors import ConfigError, InputError, UnsupportedError
from .runtime.runtimes import EXPORT_FORMAT as FORMAT  # the one runtime -> FP32 format map

PROFILE_KIND = "yolo-compress device profile"
MANIFEST_KIND = "yolo-compress profile candidates"
VERSION = 1
DEFAULT_LEVELS = (1.0, 0.7, 0.6, 0.5, 0.4, 0.3)
RUNTIMES = ("onnxruntime", "openvino", "litert")
PRECISIONS = ("fp32", "fp16", "int8")
REFERENCE = (1.0, "onnxruntime", "fp32")  # the input, as the bench and the recipes' ratios measure it
RUNTIME_MODULE = {"onnxruntime": "onnxruntime", "openvino": "openvino", "litert": "ai_edge_litert"}
RUNTIME_DIST = {"onnxruntime": ("onnxruntime", "onnxruntime-openvino", "onnxruntime-gpu"), "openvino": ("openvino",),
                "litert": ("ai-edge-litert", "ai-edge-litert-nightly")}
Log = Callable[[str], None]


class BudgetError(ConfigError):
    """A latency budget that no profiled candidate meets on the profiled device."""


# ------------------------------------------------------------------------------------------- the device
def _read(path: str) -> str:
    try:
        return Path(path).read_text(errors="ignore")
    except OSError:
        return ""


def cpu_info() -> dict:
    """CPU model, family/model (x86) or implementer/part (ARM), and the flags that decide INT8/BF16 speed."""
    import platform

    info: dict = {"machine": platform.machine(), "system": platform.system(), "cpu": platform.processor() or "",
                  "logical_cpus": os.cpu_count()}
    if hasattr(os, "sched_getaffinity"):
        info["usable_cpus"] = len(os.sched_getaffinity(0))
    kv: dict[str, str] = {}
    for line in _read("/proc/cpuinfo").splitlines():
        if ":" in line:
            k, v = (s.strip() for s in line.split(":", 1))
            kv.setdefault(k, v)  # the first processor's entry
    info["cpu"] = kv.get("model name") or kv.get("Hardware") or kv.get("Processor") or info["cpu"]
    for k, name in (("vendor_id", "vendor"), ("cpu family", "family"), ("model", "model"),
                    ("CPU implementer", "implementer"), ("CPU part", "part")):
        if k in kv:
            info[name] = kv[k]
    flags = set((kv.get("flags") or kv.get("Features") or "").split())
    wanted = {"avx2": ["avx2"], "fma": ["fma"], "f16c": ["f16c"], "avx512": ["avx512f"],
              "vnni": ["avx512_vnni", "avx_vnni"], "avx512_bf16": ["avx512_bf16"], "amx": ["amx_tile"],
              "amx_int8": ["amx_int8"], "amx_bf16": ["amx_bf16"], "neon": ["asimd", "neon"],
              "dotprod": ["asimddp"], "i8mm": ["i8mm"], "bf16": ["bf16", "avx512_bf16"], "fp16": ["asimdhp", "fphp"],
              "sve": ["sve"]}
    info["flags"] = {k: any(f in flags for f in v) for k, v in wanted.items()} if flags else {}
    return info


def runtime_versions() -> dict:
    """Installed runtime versions, read from package metadata (nothing is imported)."""
    from importlib.metadata import PackageNotFoundError, version

    out = {"numpy": np.__version__}
    for rt, dists in RUNTIME_DIST.items():
        for d in dists:
            try:
                out[rt] = version(d)
                break
            except PackageNotFoundError:
                continue
    return out


def _installed(runtime: str) -> bool:
    import importlib.util

    try:
        return importlib.util.find_spec(RUNTIME_MODULE[runtime]) is not None
    except (ImportError, ValueError):
        return False


# ------------------------------------------------------------------------------------------- arguments
def parse_list(text: str | Sequence, option: str, allowed: Sequence[str]) -> tuple[str, ...]:
    items = [s.strip() for s in (text.split(",") if isinstance(text, str) else text) if str(s).strip()]
    bad = [s for s in items if s not in allowed]
    if not items or bad:
        raise ConfigError(f"{option} '{','.join(map(str, items))}' has {'unknown ' + repr(bad[0]) if bad else 'nothing'};"
                          f" give a comma-separated list of: {', '.join(allowed)}")
    return tuple(dict.fromkeys(items))


def parse_levels(text: str | Sequence[float]) -> tuple[float, ...]:
    """GFLOPs shares kept, highest first; 1.0 (the input, the reference) is always included."""
    try:
        vals = [float(s) for s in (text.split(",") if isinstance(text, str) else text) if str(s).strip()]
    except ValueError:
        raise ConfigError(f"--levels '{text}' is not a comma-separated list of numbers, e.g. 1.0,0.8,0.6,0.5") from None
    bad = [v for v in vals if not 0.05 <= v <= 1.0]
    if bad:
        raise ConfigError(f"--levels value {bad[0]} is outside [0.05, 1.0]; levels are shares of GFLOPs kept, e.g. 0.5")
    return tuple(sorted({round(v, 4) for v in vals} | {1.0}, reverse=True))


def level_name(level: float) -> str:
    return f"L{level:.2f}"


def candidate_name(level: float, runtime: str, precision: str) -> str:
    return f"{level_name(level)}-{runtime}-{precision}"


# ------------------------------------------------------------------------------------- building (torch)
def _ratio_guess(level: float, points: list[tuple[float, float]]) -> float:
    """Uniform channel ratio expected to keep ``level`` of the GFLOPs, from measured (ratio, kept) points:
    interpolated between the two that bracket it, else a power law kept = (1 - ratio)^p fitted to the
    nearest one (p = 2 when only the input is known: both sides of a convolution shrink)."""
    pts = sorted(points)
    for (r0, k0), (r1, k1) in zip(pts, pts[1:]):
        if k1 <= level <= k0 and k0 != k1:
            return r0 + (k0 - level) / (k0 - k1) * (r1 - r0)
    r, k = min((p for p in pts if 0 < p[0] < 1), key=lambda p: abs(p[1] - level), default=(0.0, 1.0))
    p = np.log(k) / np.log(1 - r) if 0 < r < 1 and 0 < k < 1 else 2.0
    return float(min(0.85, max(0.01, 1 - level ** (1 / max(p, 0.5)))))


def _calib(n: int, imgsz: int) -> list[np.ndarray]:
    from .data import preprocess, synthetic_images

    return [preprocess([im], imgsz)[0] for im in synthetic_images(n, imgsz, seed=1)]


def _ort_int8(fp32: Path, dst: Path, calib: list[np.ndarray], scratch: Path) -> Path:
    """Static QDQ INT8 as the quantize stage makes it (the Detect decode stays float), without its parity
    and accuracy passes: latency does not depend on how well the ranges were calibrated."""
    import onnx

    from .quant import onnxrt

    pre = onnxrt.preprocess_for_quant(fp32, scratch / "pre.onnx")
    _, decode = onnxrt.node_groups(onnx.load(str(pre), load_external_data=False))
    onnxrt.static_int8(pre, dst, calib, float_nodes=decode)
    onnxrt.copy_metadata(fp32, dst)
    return dst


def _ov_int8(fp32_dir: Path, dst: Path, calib: list[np.ndarray]) -> Path:
    """NNCF INT8 as the quantize stage makes it (preset mixed, the Detect decode float), minus its bias
    correction: that pass only changes bias values (4 s per v8n level at 320), never the graph."""
    import nncf
    from nncf.quantization.advanced_parameters import AdvancedQuantizationParameters

    from .env import quiet_ultralytics
    from .quant import openvino as ovq

    quiet_ultralytics(verbose=os.environ.get("YOLO_VERBOSE") == "True")  # one line per candidate, not NNCF's per op
    xml = next(fp32_dir.glob("*.xml"))
    model = ovq.read(xml)
    _, decode = ovq.node_groups(model)
    dst.mkdir(parents=True, exist_ok=True)
    q = nncf.quantize(model, nncf.Dataset(list(calib)), preset=nncf.QuantizationPreset.MIXED, subset_size=len(calib),
                      ignored_scope=nncf.IgnoredScope(names=list(decode), validate=False) if decode else None,
                      advanced_parameters=AdvancedQuantizationParameters(disable_bias_correction=True))
    ovq.save(q, dst / xml.name)
    shutil.copy2(fp32_dir / "metadata.yaml", dst / "metadata.yaml")
    return dst


def _export(pt: Path, runtime: str, precision: str, imgsz: int, dest: Path, fp32: dict, calib, scratch: Path,
            threads) -> Path:
    from .config import ExportConfig
    from .export.exporter import export

    fmt = FORMAT[runtime]

    def float_export(half: bool, out: Path) -> Path:
        return export(pt, ExportConfig(format=fmt, imgsz=imgsz, half=half, verify=False), out=out,
                      threads=threads).artifact.path

    def base() -> Path:  # the FP32 artifact a reduced precision is made from (exported once per level)
        if runtime not in fp32:
            fp32[runtime] = float_export(False, scratch / f"fp32-{runtime}{'.onnx' if fmt == 'onnx' else '.tflite' if fmt == 'tflite' else '_openvino_model'}")
        return fp32[runtime]

    if precision == "fp32":
        out = float_export(False, dest)
        fp32[runtime] = out
        return out
    if runtime == "litert":
        from .quant import litert

        return litert.fp16(base(), dest) if precision == "fp16" else litert.static_int8(base(), dest, calib)
    if precision == "fp16":
        return float_export(True, dest)
    return _ort_int8(base(), dest, calib, scratch) if runtime == "onnxruntime" else _ov_int8(base(), dest, calib)


def _suffix(runtime: str, precision: str) -> str:
    return {"onnxruntime": f"_{precision}.onnx", "openvino": f"_{precision}_openvino_model",
            "litert": f"_{precision}.tflite"}[runtime]


def check_build(model, imgsz: int, levels, runtimes, precisions, workdir) -> tuple:
    """Every check of ``build_candidates`` that needs no work: one line per problem, before anything runs."""
    from .config import _check_imgsz
    from .export.formats import check_export_request

    _check_imgsz(imgsz)
    levels = parse_levels(levels)
    runtimes = parse_list(runtimes, "--runtimes", RUNTIMES)
    precisions = parse_list(precisions, "--precisions", PRECISIONS)
    for rt in dict.fromkeys(("onnxruntime",) + runtimes):
        if not _installed(rt):
            raise UnsupportedError(f"--runtimes {rt} is not installed here ({RUNTIME_MODULE[rt]} missing); install it or "
                                   f"leave it out{' (ONNX Runtime FP32 of the input is the reference of every ratio)' if rt == 'onnxruntime' else ''}")
        check_export_request(FORMAT[rt], half="fp16" in precisions and rt != "litert", dynamic=False)
    if "int8" in precisions and "openvino" in runtimes and not _module("nncf"):
        raise UnsupportedError("--precisions int8 with --runtimes openvino needs NNCF: pip install nncf, or leave one out")
    if not Path(model).exists() and not str(model).endswith((".yaml", ".yml")):
        raise InputError(f"model '{model}' not found; pass an Ultralytics .pt checkpoint or a model YAML")
    wd = Path(workdir)
    if wd.exists() and (not wd.is_dir() or (any(wd.iterdir()) and not (wd / "manifest.json").exists())):
        raise InputError(f"--workdir '{wd}' exists and is not a candidates folder; pass a new or empty folder")
    return levels, runtimes, precisions


def _module(name: str) -> bool:
    import importlib.util

    return importlib.util.find_spec(name) is not None


def build_candidates(model: str | os.PathLike, imgsz: int, workdir: str | os.PathLike,
                     levels: Sequence[float] | str = DEFAULT_LEVELS,
                     runtimes: Sequence[str] | str = ("onnxruntime", "openvino"),
                     precisions: Sequence[str] | str = ("fp32", "int8"), calib_images: int = 4, round_to: int = 8,
                     threads: int | None = None, log: Log = print) -> Path:
    """Prune ``model`` (untrained) at each GFLOPs level and export it for each runtime x precision into
    ``workdir`` (replaced atomically once complete), with ``manifest.json`` and the timing input
    ``input.npy``. The level-1.0 ONNX Runtime FP32 reference is always built. Returns the manifest path."""
    from .config import PruneConfig
    from .io import atomic_copy, atomic_write_text
    from .models import load_model, save_model
    from .runtime.graphstats import model_info
    from .prune import prune

    levels, runtimes, precisions = check_build(model, imgsz, levels, runtimes, precisions, workdir)
    if not isinstance(calib_images, int) or calib_images < 1:
        raise ConfigError(f"--calib-images {calib_images} is invalid; give a small positive number such as 4")
    wd = Path(workdir)
    yolo = load_model(model)
    info = model_info(yolo, imgsz)
    t_start = time.perf_counter()
    wd.parent.mkdir(parents=True, exist_ok=True)
    stage = Path(tempfile.mkdtemp(prefix=f".{wd.name}.", dir=wd.parent))
    try:
        from .data import preprocess, synthetic_images

        x, _ = preprocess(synthetic_images(1, imgsz, seed=0), imgsz)
        np.save(stage / "input.npy", x)
        calib = _calib(calib_images, imgsz) if any(p == "int8" for p in precisions) else []
        points = [(0.0, 1.0)]
        level_rows, cands = [], []
        for level in levels:
            t0 = time.perf_counter()
            pt = stage / f"{level_name(level)}.pt"
            if level >= 1.0:
                ratio, gflops, params = 0.0, info.gflops, info.params
                save_model(yolo, pt)
            else:
                ratio = _ratio_guess(level, points)
                res = prune(yolo, PruneConfig(ratio=ratio, imgsz=imgsz, round_to=round_to))
                points.append((ratio, res.flops_kept))
                if abs(res.flops_kept - level) > 0.05:  # one correction from the measured point
                    ratio2 = _ratio_guess(level, points)
                    if abs(ratio2 - ratio) > 1e-3:
                        res2 = prune(yolo, PruneConfig(ratio=ratio2, imgsz=imgsz, round_to=round_to))
                        points.append((ratio2, res2.flops_kept))
                        if abs(res2.flops_kept - level) < abs(res.flops_kept - level):
                            res, ratio = res2, ratio2
                gflops, params = res.gflops_after, res.params_after
                same = next((r for r in level_rows if abs(r["gflops_kept"] - res.flops_kept) < 0.02), None)
                if same is not None:  # uniform pruning moves in round_to steps: no distinct architecture here
                    log(f"skipped {level_name(level)}: channel ratio {ratio:.3f} keeps {res.flops_kept:.1%} of the "
                        f"GFLOPs, the same step as {same['name']} ({same['gflops_kept']:.1%}); pick other levels "
                        f"(uniform pruning by {round_to}-channel steps cannot land between)")
                    continue
                save_model(res.model, pt)
            level_rows.append({"level": level, "name": level_name(level), "prune_ratio": round(ratio, 4),
                               "gflops": gflops, "gflops_kept": gflops / info.gflops, "params": params})
            log(f"{'pruned' if ratio else 'input'} {level_name(level)}: channel ratio {ratio:.3f}, {gflops:.3f} GFLOPs "
                f"({gflops / info.gflops:.1%} kept) in {time.perf_counter() - t0:.1f} s")
            fp32: dict[str, Path] = {}
            with tempfile.TemporaryDirectory(prefix="yc-profile-") as scratch:
                wanted = [(rt, p) for rt in runtimes for p in precisions]
                if level >= 1.0 and ("onnxruntime", "fp32") not in wanted:
                    wanted.insert(0, ("onnxruntime", "fp32"))
                for rt, prec in sorted(wanted, key=lambda w: (w[0], PRECISIONS.index(w[1]))):  # fp32 first
                    t1 = time.perf_counter()
                    dest = stage / f"{level_name(level)}{_suffix(rt, prec)}"
                    art = _describe(_export(pt, rt, prec, imgsz, dest, fp32, calib, Path(scratch), threads))
                    cands.append({"name": candidate_name(level, rt, prec), "level": level, "runtime": rt,
                                  "precision": prec, "gflops": gflops, "path": dest.name, **art})
                    log(f"built {candidate_name(level, rt, prec)} ({gflops:.3f} GFLOPs) in "
                        f"{time.perf_counter() - t1:.1f} s")
            pt.unlink()  # only the timed artifacts travel to the device
        manifest = {
            "kind": MANIFEST_KIND, "version": VERSION, "model": str(model), "imgsz": imgsz,
            "input": {"gflops": info.gflops, "params": info.params},
            "prune": {"method": "uniform channel ratio", "round_to": round_to, "global_pruning": False,
                      "max_layer_ratio": PruneConfig(ratio=0.5).max_layer_ratio, "ignore": []},
            "int8": {"calibration": f"{calib_images} synthetic images (latency only: not for accuracy)",
                     "onnxruntime_reduce_range": _reduce_range() if "int8" in precisions else None},
            "built_on": cpu_info(), "build_s": round(time.perf_counter() - t_start, 1),
            "reference": candidate_name(*REFERENCE), "levels": level_rows, "candidates": cands,
        }
        atomic_write_text(stage / "manifest.json", json.dumps(manifest, indent=2))
        atomic_copy(stage, wd)  # an earlier candidates folder is replaced only now, complete
    finally:
        if stage.exists():
            shutil.rmtree(stage, ignore_errors=True)
    return wd / "manifest.json"


def _reduce_range() -> bool:
    from .quant.onnxrt import cpu_has_vnni

    return not cpu_has_vnni()  # decided on the build machine: ONNX Runtime's 7-bit weights without VNNI


def _describe(path: Path) -> dict:
    from .runtime.artifact import inspect_artifact

    a = inspect_artifact(path)
    return {"format": a.format, "stored_precision": a.precision, "imgsz": a.imgsz, "batch": a.batch,
            "end2end": a.end2end, "size_mb": round(a.size_mb, 3)}


# ------------------------------------------------------------------------------------ timing (no torch)
def _read_json(f: Path, missing: str, fix: str):
    """The JSON in ``f``; ``missing`` (the whole message) when there is no such file, ``fix`` after "not valid JSON"."""
    if not f.is_file():
        raise InputError(missing)
    try:
        return json.loads(f.read_text())
    except ValueError:
        raise InputError(f"'{f}' is not valid JSON; {fix}") from None


def read_manifest(folder: str | os.PathLike) -> dict:
    d = Path(folder)
    f = d / "manifest.json"
    m = _read_json(f, f"'{d}' has no manifest.json; build candidates with 'yolo-compress profile MODEL --build-only "
                      f"--workdir {d}' first", "rebuild the candidates folder")
    if not isinstance(m, dict) or m.get("kind") != MANIFEST_KIND or not m.get("candidates"):
        raise InputError(f"'{f}' is not a yolo-compress candidates manifest; rebuild the candidates folder")
    if m.get("version", 0) > VERSION:
        raise InputError(f"'{f}' has manifest version {m['version']}, newer than this yolo-compress ({VERSION}); upgrade")
    return m


def _check_timing(runs: int, rounds: int, repeats: int, threads: int | None) -> None:
    if repeats < 1:
        raise ConfigError(f"--repeats {repeats} is invalid; give 1 or more (3: the median of three timing runs)")
    if runs < 5 or rounds < 1:
        raise ConfigError(f"--runs {runs} x --rounds {rounds} is too few; give --runs >= 5 and --rounds >= 1 (3 for a spread)")
    if threads is not None and threads < 1:
        raise ConfigError(f"--threads {threads} is invalid; give a positive number of threads")


def _timing_rows(chosen: list[dict], raw, ref_i: int, runs: int, rounds: int) -> tuple[dict, list[dict]]:
    """One interleaved run's statistics: the reference's and every candidate's (ratios to the reference)."""
    ref_t = raw[ref_i][0]
    ref_rounds = [float(np.median(ref_t[r * runs:(r + 1) * runs])) for r in range(rounds)]
    ref_p50, ref_p90 = float(np.median(ref_t)), float(np.percentile(ref_t, 90))
    rows = []
    for c, (t, fin) in zip(chosen, raw):
        rp50 = [float(np.median(t[r * runs:(r + 1) * runs])) for r in range(rounds)]
        p50, p90 = float(np.median(t)), float(np.percentile(t, 90))
        ratio_rounds = [a / b for a, b in zip(rp50, ref_rounds)]
        rows.append({**{k: c[k] for k in ("name", "level", "runtime", "precision", "gflops", "path")},
                     "p50_ms": p50, "p90_ms": p90, "mean_ms": float(np.mean(t)), "min_ms": float(np.min(t)),
                     "round_p50_ms": rp50, "spread_ms": max(rp50) - min(rp50), "slow_ms": max(p90, max(rp50)),
                     "ratio": p50 / ref_p50, "ratio_rounds": ratio_rounds,
                     "ratio_slow": max(max(ratio_rounds), p90 / ref_p90), "peak_rss_mb": fin.get("peak_rss_mb")})
    return {"p50_ms": ref_p50, "p90_ms": ref_p90, "round_p50_ms": ref_rounds}, rows


def time_candidates(folder: str | os.PathLike, threads: int | None = None, runs: int = 30, rounds: int = 3,
                    warmup: int = 5, block: int = 10, gap_s: float = 0.05, runtimes: Sequence[str] | None = None,
                    log: Log = print, command: str | None = None, repeats: int = 3) -> dict:
    """Time every candidate of ``folder`` (built by ``build_candidates``) with the interleaved harness and
    return the device profile. Imports neither torch nor Ultralytics: runs where only the runtimes are.

    ``repeats`` separate interleaved runs; each candidate keeps the run with its median slow end (the upper
    median for an even count), whole (p50, p90, rounds), and lists every run's ratios under ``repeats``. One run
    on a shared machine is one sample: three profiles of the same model on one Zen 5 VM, minutes apart, chose
    27%, 57% and 55% of the GFLOPs for the same budget (BENCHMARKS 7b). With three, one noisy run is outvoted."""
    from .runtime.latency import interleaved_times
    from .runtime.artifact import Artifact

    d = Path(folder)
    m = read_manifest(d)
    _check_timing(runs, rounds, repeats, threads)
    ref_name = m.get("reference", candidate_name(*REFERENCE))
    skipped = []
    chosen = []
    for c in m["candidates"]:
        if runtimes and c["runtime"] not in runtimes and c["name"] != ref_name:
            continue
        if not _installed(c["runtime"]):
            skipped.append(f"{c['name']}: {c['runtime']} is not installed on this device")
            continue
        if not (d / c["path"]).exists():
            raise InputError(f"candidate '{d / c['path']}' listed in the manifest is missing; copy the whole folder")
        chosen.append(c)
    if not any(c["name"] == ref_name for c in chosen):
        raise UnsupportedError(f"the reference '{ref_name}' cannot be timed here (ONNX Runtime missing?); "
                               f"every ratio is relative to it: pip install onnxruntime")
    x = np.load(d / "input.npy") if (d / "input.npy").exists() else _plain_input(m["imgsz"])
    items = [(Artifact(d / c["path"], c["format"], c.get("stored_precision", c["precision"]), c.get("imgsz"),
                       c.get("batch"), {}, bool(c.get("end2end"))), c["runtime"]) for c in chosen]
    total = runs * rounds * len(items)
    log(f"timing {len(items)} candidates interleaved: {rounds} round(s) x {runs} runs each, blocks of {block}"
        f"{f', {threads} thread(s)' if threads else ''}{f', {repeats} separate runs' if repeats > 1 else ''}")
    marks = {round(total * (r + 1) / rounds) for r in range(rounds)}
    ref_i = next(i for i, c in enumerate(chosen) if c["name"] == ref_name)
    wall, refs, per = 0.0, [], []
    for k in range(repeats):
        tag = f"run {k + 1}/{repeats}, " if repeats > 1 else ""

        def progress(done: int) -> None:
            if done in marks:
                log(f"  {tag}round {sorted(marks).index(done) + 1}/{rounds} done")

        t0 = time.perf_counter()
        raw = interleaved_times(items, x, threads, warmup, runs, rounds, 1, block, progress, gap_s)
        wall += time.perf_counter() - t0
        ref, rows = _timing_rows(chosen, raw, ref_i, runs, rounds)
        refs.append(ref)
        per.append(rows)
    mid_k = sorted(range(repeats), key=lambda k: refs[k]["p50_ms"])[repeats // 2]  # the reference's median run
    rows = []
    for i, c in enumerate(chosen):
        runs_i = [p[i] for p in per]
        keep = runs_i[mid_k] if i == ref_i else sorted(runs_i, key=lambda r: r["ratio_slow"])[repeats // 2]
        row = {**keep,
               "repeats": [{k: r[k] for k in ("p50_ms", "ratio", "ratio_slow")} for r in runs_i]}
        rows.append(row)
        each = ", ".join(f"{r['ratio']:.3f}x ({r['ratio_slow']:.3f}x)" for r in runs_i)
        alt = f"; runs {each}" if repeats > 1 else ""
        log(f"timed {c['name']}: p50 {row['p50_ms']:.2f} ms, p90 {row['p90_ms']:.2f} ms, rounds "
            f"{min(row['round_p50_ms']):.2f}-{max(row['round_p50_ms']):.2f} ms, {row['ratio']:.3f}x (slow end "
            f"{row['ratio_slow']:.3f}x){alt}")
    ref_p50, ref_p90, ref_rounds = (refs[mid_k][k] for k in ("p50_ms", "p90_ms", "round_p50_ms"))
    levels = []
    for lv in m["levels"]:
        at = [r for r in rows if r["level"] == lv["level"]]
        if at:
            levels.append({**lv, "ratios": {f"{r['runtime']}/{r['precision']}": round(r["ratio"], 4) for r in at}})
    threads_used = threads or (len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count())
    return {
        "kind": PROFILE_KIND, "version": VERSION,
        "created": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()), "command": command,
        "device": cpu_info(), "runtimes": runtime_versions(),
        "threads": {"asked": threads, "effective": threads_used},
        "model": m["model"], "imgsz": m["imgsz"], "input": m["input"], "prune": m["prune"], "int8": m["int8"],
        "built_on": m.get("built_on"), "build_s": m.get("build_s"),
        "timing": {"schedule": "interleaved", "runs": runs, "rounds": rounds, "warmup": warmup, "block": block,
                   "gap_s": gap_s, "batch": 1, "wall_s": round(wall, 1), "repeats": repeats,
                   "slow_end": "slow_ms = max(p90, slowest round's p50); ratio_slow = max(slowest round's p50 "
                               "ratio, p90 / reference p90); per candidate, the run (of repeats) with the median "
                               "ratio_slow"},
        "reference": {"name": ref_name, "p50_ms": ref_p50, "p90_ms": ref_p90, "round_p50_ms": ref_rounds,
                      "repeats_p50_ms": [r["p50_ms"] for r in refs]},
        "levels": levels, "candidates": rows, "skipped": skipped,
    }


def _plain_input(imgsz: int) -> np.ndarray:
    """A deterministic image-like input without OpenCV (the folder's input.npy is preferred)."""
    yy, xx = np.mgrid[0:imgsz, 0:imgsz].astype(np.float32) / imgsz
    return np.ascontiguousarray(np.stack([(xx + yy) / 2, 1 - xx, yy])[None]).astype(np.float32)


def write_profile(profile: dict, out: str | os.PathLike) -> Path:
    from .io import atomic_write_text

    return atomic_write_text(Path(out), json.dumps(profile, indent=2))


def profile_device(model: str | os.PathLike, imgsz: int, out: str | os.PathLike, workdir: str | os.PathLike | None = None,
                   levels=DEFAULT_LEVELS, runtimes=("onnxruntime", "openvino"), precisions=("fp32", "int8"),
                   threads: int | None = None, runs: int = 30, rounds: int = 3, calib_images: int = 4,
                   log: Log = print, command: str | None = None, repeats: int = 3) -> dict:
    """Build the candidates here, time them here, write ``out``. Returns the profile."""
    out = Path(out)
    if out.suffix != ".json":
        raise InputError(f"--out '{out}' must end in .json (the device profile)")
    wd = Path(workdir) if workdir else out.with_name(f"{out.stem}-candidates")
    t0 = time.perf_counter()
    _check_timing(runs, rounds, repeats, threads)  # before the build: a bad request fails before any work
    build_candidates(model, imgsz, wd, levels, runtimes, precisions, calib_images, threads=threads, log=log)
    prof = time_candidates(wd, threads, runs, rounds, log=log, command=command, repeats=repeats)
    prof["wall_s"] = round(time.perf_counter() - t0, 1)
    write_profile(prof, out)
    return prof


# ---------------------------------------------------------------------------------------------- selection
@dataclass(frozen=True)
class Budget:
    """A latency budget: ``max_latency_ms`` (absolute, this device) or ``max_latency_ratio`` (of the input's
    ONNX Runtime FP32 on the profiled device). ``margin`` tightens it further (0.05: 5% below)."""

    max_latency_ms: float | None = None
    max_latency_ratio: float | None = None
    margin: float = 0.0

    def __post_init__(self):
        given = [v for v in (self.max_latency_ms, self.max_latency_ratio) if v is not None]
        if len(given) != 1:
            raise ConfigError("give exactly one latency budget: targets: {max_latency_ms: X} or {max_latency_ratio: R}")
        if not isinstance(given[0], (int, float)) or isinstance(given[0], bool) or given[0] <= 0:
            key = "max_latency_ms" if self.max_latency_ms is not None else "max_latency_ratio"
            raise ConfigError(f"{key} {given[0]!r} is invalid; give a positive number, e.g. {key}: "
                              f"{'8' if key == 'max_latency_ms' else '0.35'}")
        if not 0 <= self.margin < 0.5:
            raise ConfigError(f"latency margin {self.margin} is outside [0, 0.5); e.g. 0.05 keeps 5% in reserve")

    @classmethod
    def from_targets(cls, targets: dict, margin: float = 0.0) -> "Budget":
        return cls(targets.get("max_latency_ms"), targets.get("max_latency_ratio"), margin)

    def limit_ms(self, ref_p50_ms: float) -> float:
        """The budget in ms on the profiled device (for the plot)."""
        return (self.max_latency_ms if self.max_latency_ms is not None else self.max_latency_ratio * ref_p50_ms) * \
            (1 - self.margin)

    def describe(self) -> str:
        m = f" with a {self.margin:.0%} margin" if self.margin else ""
        if self.max_latency_ms is not None:
            return f"max_latency_ms {self.max_latency_ms:g}{m}"
        return f"max_latency_ratio {self.max_latency_ratio:g} (of the input's ONNX Runtime FP32){m}"

    def slow_value(self, row: dict) -> float:
        return row["slow_ms"] if self.max_latency_ms is not None else row["ratio_slow"]

    def limit(self) -> float:
        v = self.max_latency_ms if self.max_latency_ms is not None else self.max_latency_ratio
        return v * (1 - self.margin)

    def fmt(self, v: float) -> str:
        return f"{v:.2f} ms" if self.max_latency_ms is not None else f"{v:.3f}x"


@dataclass(frozen=True)
class Decision:
    level: float  # nominal GFLOPs share of the chosen level (1.0: no pruning)
    prune_ratio: float  # uniform channel ratio that reproduces the profiled architecture (0: none)
    gflops: float
    gflops_kept: float
    runtime: str
    precision: str
    candidate: str
    p50_ms: float
    slow_ms: float
    ratio: float  # p50 / the input's ONNX Runtime FP32 p50, on the profiled device
    ratio_slow: float
    budget: dict
    device: str
    reasons: list[str] = field(default_factory=list)
    skipped_precisions: list[str] = field(default_factory=list)  # e.g. "openvino/int8" where it did not pay
    prune_settings: dict = field(default_factory=dict)  # round_to, max_layer_ratio the profile pruned with

    @property
    def prune(self) -> dict | None:
        """``PruneConfig`` keywords that rebuild the profiled architecture, or None at level 1.0."""
        if self.prune_ratio <= 0:
            return None
        return {"ratio": self.prune_ratio, "global_pruning": False, **self.prune_settings}

    @property
    def quantize(self) -> dict | None:
        """``QuantConfig`` keywords for the chosen precision (backend = the chosen runtime), None for FP32."""
        if self.precision == "fp32":
            return None
        return {"backend": self.runtime, "mode": "ptq" if self.precision == "int8" else "fp16"}

    @property
    def export_format(self) -> str:
        """The artifact format the chosen runtime runs (for an FP32 choice: export this, no quantize stage)."""
        return FORMAT[self.runtime]

    def as_dict(self) -> dict:
        return {**asdict(self), "prune": self.prune, "quantize": self.quantize, "export_format": self.export_format}

    def summary(self) -> str:
        lines = [f"chose {self.candidate}: {self.gflops:.3f} GFLOPs ({self.gflops_kept:.1%} kept), "
                 f"{self.runtime} {self.precision.upper()}, p50 {self.p50_ms:.2f} ms ({self.ratio:.3f}x), slow end "
                 f"{self.slow_ms:.2f} ms ({self.ratio_slow:.3f}x) on {self.device}"]
        lines += [f"  {r}" for r in self.reasons]
        return "\n".join(lines)


def load_profile(profile: str | os.PathLike | dict) -> dict:
    if isinstance(profile, dict):
        p = profile
        src = "profile"
    else:
        src = str(profile)
        f = Path(profile)
        p = _read_json(f, f"device profile '{f}' not found; make one with 'yolo-compress profile MODEL --imgsz N "
                          f"--out {f.name}'", "profile again")
    if not isinstance(p, dict) or p.get("kind") != PROFILE_KIND or not p.get("candidates") or "reference" not in p:
        raise InputError(f"'{src}' is not a yolo-compress device profile (no kind/candidates/reference); profile again")
    need = ("name", "level", "runtime", "precision", "gflops", "p50_ms", "slow_ms", "ratio", "ratio_slow")
    for c in p["candidates"]:
        missing = [k for k in need if k not in c]
        if missing:
            raise InputError(f"device profile '{src}': candidate {c.get('name', '?')} lacks {', '.join(missing)}; "
                             "profile again")
    return p


def _eligible(rows: list[dict], min_gain: float) -> tuple[list[dict], list[str], list[str]]:
    """Drop reduced-precision candidates that are not at least ``min_gain`` faster than FP32 of the same
    runtime at the same level on this device. Returns (kept, notes, skipped 'runtime/precision')."""
    fp32 = {(r["level"], r["runtime"]): r for r in rows if r["precision"] == "fp32"}
    kept, notes, skipped = [], [], []
    for r in rows:
        base = fp32.get((r["level"], r["runtime"]))
        if r["precision"] == "fp32" or base is None:
            kept.append(r)
            continue
        speed = r["p50_ms"] / base["p50_ms"]
        if speed <= 1 - min_gain:
            kept.append(r)
        else:
            skipped.append(f"{r['runtime']}/{r['precision']}")
            notes.append(f"{r['precision'].upper()} skipped on {r['runtime']} at {level_name(r['level'])}: "
                         f"{speed:.2f}x of its FP32 on this device (needs <= {1 - min_gain:.2f}x to pay for its "
                         f"accuracy cost)")
    return kept, notes, skipped


def _device_name(p: dict) -> str:
    d = p.get("device", {})
    fam = f", family {d['family']} model {d['model']}" if "family" in d else ""
    return f"{d.get('cpu') or 'unknown CPU'}{fam}, {p.get('threads', {}).get('effective', '?')} thread(s)"


def choose(profile: str | os.PathLike | dict, budget: Budget, min_gain: float = 0.10,
           runtimes: Sequence[str] | None = None, precisions: Sequence[str] | None = None,
           imgsz: int | None = None, input_gflops: float | None = None) -> Decision:
    """The least pruning (highest level) with a candidate whose slow end meets ``budget``; at that level the
    candidate with the lowest p50 among those that meet it. Reduced precisions that do not pay on this
    device are skipped (see the module doc). Raises :class:`BudgetError` (one line, naming the fastest
    candidate) when nothing meets the budget. ``imgsz`` / ``input_gflops`` (the recipe's): a profile made
    for another image size or another architecture is refused instead of silently applied."""
    p = load_profile(profile)
    src = profile if not isinstance(profile, dict) else "the device profile"
    if imgsz is not None and p.get("imgsz") != imgsz:
        raise InputError(f"device profile '{src}' was made at imgsz {p.get('imgsz')}, not {imgsz}; profile again "
                         f"with --imgsz {imgsz}")
    if input_gflops is not None and abs(p["input"]["gflops"] - input_gflops) > 0.01 * input_gflops:
        raise InputError(f"device profile '{src}' was made for a model of {p['input']['gflops']:.3f} GFLOPs, not "
                         f"{input_gflops:.3f}; profile this model")
    rows = [r for r in p["candidates"] if (not runtimes or r["runtime"] in runtimes)
            and (not precisions or r["precision"] in precisions)]
    if not rows:
        raise ConfigError(f"the device profile has no candidate for runtimes {list(runtimes or [])} and precisions "
                          f"{list(precisions or [])}; profile them or widen the choice")
    kept, notes, skipped = _eligible(rows, min_gain)
    lim = budget.limit()
    reasons = [f"budget: {budget.describe()}; a candidate meets it when its slow end is <= {budget.fmt(lim)} "
               f"(reference {p['reference']['name']}: p50 {p['reference']['p50_ms']:.2f} ms)"]
    for level in sorted({r["level"] for r in kept}, reverse=True):
        at = sorted((r for r in kept if r["level"] == level), key=lambda r: r["p50_ms"])
        ok = [r for r in at if budget.slow_value(r) <= lim]
        level_notes = [n for n in notes if f" at {level_name(level)}:" in n]
        if not ok:
            best = min(at, key=budget.slow_value)
            reasons.append(f"{level_name(level)} ({best['gflops']:.3f} GFLOPs): too slow, its fastest at the slow "
                           f"end is {best['runtime']} {best['precision'].upper()} at {budget.fmt(budget.slow_value(best))}")
            continue
        r = ok[0]
        lv = next((x for x in p.get("levels", []) if x["level"] == level), {})
        reasons.append(f"{level_name(level)}: {r['runtime']} {r['precision'].upper()} meets it (slow end "
                       f"{budget.fmt(budget.slow_value(r))}) and is the fastest there that does "
                       f"(p50 {r['p50_ms']:.2f} ms); levels are chosen among measured ones, not interpolated")
        reasons += level_notes
        others = [f"{x['runtime']} {x['precision'].upper()} {x['p50_ms']:.2f} ms" for x in at if x is not r]
        if others:
            reasons.append(f"{level_name(level)} others (p50): " + ", ".join(others))
        return Decision(level=level, prune_ratio=float(lv.get("prune_ratio", 0.0 if level >= 1 else float("nan"))),
                        gflops=r["gflops"], gflops_kept=r["gflops"] / p["input"]["gflops"], runtime=r["runtime"],
                        precision=r["precision"], candidate=r["name"], p50_ms=r["p50_ms"], slow_ms=r["slow_ms"],
                        ratio=r["ratio"], ratio_slow=r["ratio_slow"], budget=asdict(budget),
                        device=_device_name(p), reasons=reasons,
                        skipped_precisions=sorted({s for s, n in zip(skipped, notes) if f" at {level_name(level)}:" in n}),
                        prune_settings={k: v for k, v in p.get("prune", {}).items()
                                         if k in ("round_to", "max_layer_ratio")})
    fastest = min(kept, key=budget.slow_value)
    raise BudgetError(
        f"latency budget {budget.describe()} cannot be met on {_device_name(p)}: the fastest candidate, "
        f"{fastest['name']} ({fastest['gflops']:.3f} GFLOPs), runs at {fastest['p50_ms']:.2f} ms p50 / "
        f"{fastest['slow_ms']:.2f} ms slow end ({fastest['ratio']:.3f}x, slow end {fastest['ratio_slow']:.3f}x "
        f"of the input's ONNX Runtime FP32); relax the budget or profile lower levels (--levels ...,0.2)")


def check_budget(profile: str | os.PathLike | dict, budget: Budget, **kw) -> Decision:
    """The recipe's pre-flight check: raises :class:`BudgetError` before any work when the budget is
    unattainable on the profiled device; returns the decision otherwise."""
    return choose(profile, budget, **kw)


# -------------------------------------------------------------------------------------------------- plot
def plot_profile(profile: str | os.PathLike | dict, out: str | os.PathLike, budget: Budget | None = None,
                 decision: Decision | None = None) -> Path:
    """Latency (p50, bar to the slow end) vs GFLOPs per runtime/precision, with the budget line; PNG."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    p = load_profile(profile)
    fig, ax = plt.subplots(figsize=(7, 4.5), dpi=110)
    series: dict[str, list[dict]] = {}
    for r in p["candidates"]:
        series.setdefault(f"{r['runtime']} {r['precision'].upper()}", []).append(r)
    for name, rs in sorted(series.items()):
        rs = sorted(rs, key=lambda r: r["gflops"])
        x = [r["gflops"] for r in rs]
        y = [r["p50_ms"] for r in rs]
        err = [[0] * len(rs), [r["slow_ms"] - r["p50_ms"] for r in rs]]
        ax.errorbar(x, y, yerr=err, marker="o", ms=4, capsize=3, label=name)
    if budget is not None:
        lim = budget.limit_ms(p["reference"]["p50_ms"])
        ax.axhline(lim, color="red", ls="--", lw=1, label=f"budget {budget.describe().split(' (')[0]} = {lim:.2f} ms"
                   + (" (p50-based line; ratio budgets compare per round)" if budget.max_latency_ratio else ""))
    if decision is not None:
        ax.plot([decision.gflops], [decision.p50_ms], marker="*", ms=16, color="gold", mec="black", ls="none",
                label=f"chosen: {decision.candidate}")
    ax.set_xlabel("GFLOPs")
    ax.set_ylabel("latency, ms (p50; bar to slow end)")
    ax.set_title(f"{p.get('model', '')} @ {p.get('imgsz')} on {_device_name(p)}", fontsize=8)
    ax.grid(alpha=0.3)
    ax.legend(fontsize=7)
    fig.tight_layout()
    out = Path(out)
    out.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(out)
    plt.close(fig)
    return out
