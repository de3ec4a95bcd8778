"""The one latency harness: every artifact is timed in its own fresh worker process.

A fresh ``python -m yolo_compress.runtime.worker`` per artifact gives (1) a peak-RSS figure that belongs
to that artifact and runtime alone (the worker imports only its runtime: no PyTorch in an ONNX Runtime
worker), and (2) no cache or thread-pool state carried over from the previous artifact. Latency is the
network call only (same input array for all runtimes: a real pre-processed image), batch 1, after
warm-up; throughput is images/s at batch N where the artifact accepts batch N.

Two schedules. ``time_artifact`` times one artifact at a time (a "round" is A's runs, then B's, ...).
``time_interleaved`` keeps one worker per artifact alive and hands out short blocks of runs in turn
(A 10 runs, B 10 runs, A 10 runs, ...), so every artifact sees the same machine within a fraction of a
second: on a shared VM whose speed drifts over seconds, ratios between artifacts stop depending on which
one happened to run during a slow spell. Only one worker computes at a time (the others block on a pipe);
each block starts with one untimed run, so the cache state left by the previous worker is not timed, and
after each block the coordinator waits ``gap_s`` (50 ms): ONNX Runtime's thread pool keeps spinning for a
while after a call, and without the pause the artifact timed right after an ONNX Runtime worker read 0.38x
where the same file read 0.30x two places later (measured; with the pause all copies agree within 0.01).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
import time
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Callable

import numpy as np

from ..errors import YoloCompressError
from .artifact import Artifact


@dataclass(frozen=True)
class Timing:
    runs: int
    p50_ms: float
    p90_ms: float
    mean_ms: float
    throughput_ips: float
    throughput_batch: int
    peak_rss_mb: float
    p50_best_ms: float = 0.0  # the fastest round's p50 (interference only ever slows a round down)

    def as_dict(self) -> dict:
        return asdict(self)


def timed_runs(runner: Callable[[np.ndarray], np.ndarray], x: np.ndarray, runs: int,
               tick: Callable[[int], None] | None = None) -> list[float]:
    """Seconds per call of ``runner(x)``, ``runs`` times."""
    times = []
    for i in range(runs):
        t0 = time.perf_counter()
        runner(x)
        times.append(time.perf_counter() - t0)
        if tick:
            tick(i + 1)
    return times


def throughput(runner: Callable[[np.ndarray], np.ndarray], x: np.ndarray, runs: int, batch: int, can_batch: bool,
               mean_ms: float) -> tuple[float, int]:
    """Images/s at batch ``batch`` where the artifact takes it, else 1000 / mean batch-1 latency."""
    if can_batch and batch > 1:
        xb = np.repeat(x, batch, axis=0)
        runner(xb)
        n = max(3, runs // batch)
        t0 = time.perf_counter()
        for _ in range(n):
            runner(xb)
        return n * batch / (time.perf_counter() - t0), batch
    return 1e3 / mean_ms, 1


def measure(runner: Callable[[np.ndarray], np.ndarray], x: np.ndarray, warmup: int, runs: int, batch: int,
            can_batch: bool, tick: Callable[[int], None] | None = None) -> dict:
    """Time ``runner`` in this process. Used by the worker; returns plain numbers."""
    for _ in range(warmup):
        runner(x)
    t = np.array(timed_runs(runner, x, runs, tick)) * 1e3
    st = _stats(t)
    tp, tp_batch = throughput(runner, x, runs, batch, can_batch, st["mean_ms"])
    return {"runs": runs, **st, "throughput_ips": float(tp), "throughput_batch": int(tp_batch)}


def _spawn(job: dict, threads: int | None, serve: bool = False) -> subprocess.Popen:
    env = dict(os.environ)
    if threads:  # keep BLAS / OpenMP pools of every library to the asked thread count
        env.update({"OMP_NUM_THREADS": str(threads), "MKL_NUM_THREADS": str(threads)})
    cmd = [sys.executable, "-m", "yolo_compress.runtime.worker"] + (["--serve"] if serve else []) + [json.dumps(job)]
    return subprocess.Popen(cmd, stdin=subprocess.PIPE if serve else None, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True, env=env)


def _job(artifact: Artifact, runtime: str, xf: Path, threads, warmup: int, runs: int, batch: int) -> dict:
    return {"artifact": {**asdict(artifact), "path": str(artifact.path)}, "runtime": runtime, "threads": threads,
            "input": str(xf), "warmup": warmup, "runs": runs, "batch": batch}


def _failed(proc: subprocess.Popen, artifact: Artifact, runtime: str) -> YoloCompressError:
    try:
        proc.kill()
    except OSError:
        pass
    err = proc.stderr.read() if proc.stderr else ""
    rc = proc.wait()
    tail = err.strip().splitlines()[-1] if err.strip() else f"exit code {rc}"
    return YoloCompressError(f"timing worker for '{artifact.path}' ({runtime}) failed: {tail}")


def _reply(proc: subprocess.Popen, artifact: Artifact, runtime: str) -> dict:
    """The next JSON message of a timing worker; its error line, or its death, becomes a clear error."""
    assert proc.stdout is not None
    for line in proc.stdout:
        try:
            msg = json.loads(line)
        except json.JSONDecodeError:
            continue
        if "error" in msg:
            _failed(proc, artifact, runtime)
            raise YoloCompressError(msg["error"])
        return msg
    raise _failed(proc, artifact, runtime)


def _stats(t_ms: np.ndarray) -> dict:
    return {"p50_ms": float(np.median(t_ms)), "p90_ms": float(np.percentile(t_ms, 90)), "mean_ms": float(np.mean(t_ms))}


def time_interleaved(
    items: list[tuple[Artifact, str]],
    x: np.ndarray,
    threads: int | None = None,
    warmup: int = 10,
    runs: int = 50,
    rounds: int = 1,
    batch: int = 1,
    block: int = 10,
    on_progress: Callable[[int], None] | None = None,
    gap_s: float = 0.05,
) -> list[Timing]:
    """Time every (artifact, runtime) with ``runs * rounds`` runs each, handed out in blocks of ``block``
    runs that cycle over the artifacts (see the module doc). ``p50_ms`` is the median of all runs;
    ``p50_best_ms`` the lowest median of ``rounds`` consecutive slices of ``runs`` runs, comparable to the
    sequential schedule's best round. Throughput is measured afterwards, one artifact at a time."""
    out = []
    for t, fin in interleaved_times(items, x, threads, warmup, runs, rounds, batch, block, on_progress, gap_s):
        best = min(float(np.median(t[r * runs:(r + 1) * runs])) for r in range(rounds))
        out.append(Timing(runs=runs * rounds, **_stats(t), throughput_ips=fin["throughput_ips"],
                          throughput_batch=fin["throughput_batch"], peak_rss_mb=fin["peak_rss_mb"], p50_best_ms=best))
    return out


def interleaved_times(
    items: list[tuple[Artifact, str]],
    x: np.ndarray,
    threads: int | None = None,
    warmup: int = 10,
    runs: int = 50,
    rounds: int = 1,
    batch: int = 1,
    block: int = 10,
    on_progress: Callable[[int], None] | None = None,
    gap_s: float = 0.05,
) -> list[tuple[np.ndarray, dict]]:
    """The interleaved schedule itself (see ``time_interleaved``): per item, every run's time in ms in the
    order run (round r is ``[r * runs:(r + 1) * runs]``) and the worker's closing message (throughput, peak
    RSS). For callers that need per-round statistics, such as the device profile's spread."""
    if block < 1:
        raise YoloCompressError(f"interleave block {block} is invalid; give 1 or more runs")
    total = runs * rounds
    done = 0
    with tempfile.TemporaryDirectory(prefix="ycw-") as tmp:
        xf = Path(tmp) / "x.npy"
        np.save(xf, x)
        procs: list[subprocess.Popen] = []
        try:
            for a, rt in items:  # all load and warm up before any timing; only one computes at a time
                proc = _spawn(_job(a, rt, xf, threads, warmup, runs, batch), threads, serve=True)
                procs.append(proc)
                _reply(proc, a, rt)  # {"ready": ...} once loaded and warmed up
            times: list[list[float]] = [[] for _ in items]
            left = total
            while left > 0:
                k = min(block, left)
                for i, ((a, rt), proc) in enumerate(zip(items, procs)):
                    proc.stdin.write(f"run {k}\n")
                    proc.stdin.flush()
                    times[i] += _reply(proc, a, rt)["times"]
                    time.sleep(gap_s)  # let this worker's thread pool stop spinning before the next block
                    done += k
                    if on_progress:
                        on_progress(done)
                left -= k
            out = []
            for (a, rt), proc, ts in zip(items, procs, times):
                proc.stdin.write("finish\n")
                proc.stdin.flush()
                out.append((np.array(ts) * 1e3, _reply(proc, a, rt)))
            return out
        finally:
            for proc in procs:
                if proc.poll() is None:
                    proc.kill()
                proc.wait()


def time_artifact(
    artifact: Artifact,
    runtime: str,
    x: np.ndarray,
    threads: int | None = None,
    warmup: int = 10,
    runs: int = 50,
    batch: int = 1,
    on_progress: Callable[[int, int], None] | None = None,
) -> Timing:
    """Run the timing loop in an isolated worker process; returns latency, throughput and peak RSS."""
    with tempfile.TemporaryDirectory(prefix="ycw-") as tmp:
        xf = Path(tmp) / "x.npy"
        np.save(xf, x)
        proc = _spawn(_job(artifact, runtime, xf, threads, warmup, runs, batch), threads)
        while True:  # progress lines, then the result; an error line or the worker's death raises
            msg = _reply(proc, artifact, runtime)
            if "result" in msg:
                break
            if "progress" in msg and on_progress:
                on_progress(msg["progress"], runs)
        proc.wait()
        return Timing(**msg["result"])
