"""The one latency harness: every artifact is timed in its own fresh worker process.

A fresh ``python -m yolo_compress.bench.worker`` per artifact gives (1) a peak-RSS figure that belongs
to that artifact and runtime alone (the worker imports only its runtime: no PyTorch in an ONNX Runtime
worker), and (2) no cache or thread-pool state carried over from the previous artifact. Latency is the
network call only (same input array for all runtimes: a real pre-processed image), batch 1, after
warm-up; throughput is images/s at batch N where the artifact accepts batch N.
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
from ..export.formats import Artifact


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


def measure(runner: Callable[[np.ndarray], np.ndarray], x: np.ndarray, warmup: int, runs: int, batch: int,
            can_batch: bool, tick: Callable[[int], None] | None = None) -> dict:
    """Time ``runner`` in this process. Used by the worker; returns plain numbers."""
    for _ in range(warmup):
        runner(x)
    times = []
    for i in range(runs):
        t0 = time.perf_counter()
        runner(x)
        times.append(time.perf_counter() - t0)
        if tick:
            tick(i + 1)
    t = np.array(times) * 1e3
    if can_batch and batch > 1:
        xb = np.repeat(x, batch, axis=0)
        runner(xb)
        n = max(3, runs // batch)
        t0 = time.perf_counter()
        for _ in range(n):
            runner(xb)
        tp, tp_batch = n * batch / (time.perf_counter() - t0), batch
    else:
        tp, tp_batch = 1e3 / float(np.mean(t)), 1
    return {
        "runs": runs,
        "p50_ms": float(np.median(t)),
        "p90_ms": float(np.percentile(t, 90)),
        "mean_ms": float(np.mean(t)),
        "throughput_ips": float(tp),
        "throughput_batch": int(tp_batch),
    }


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
        job = {
            "artifact": {**asdict(artifact), "path": str(artifact.path)},
            "runtime": runtime,
            "threads": threads,
            "input": str(xf),
            "warmup": warmup,
            "runs": runs,
            "batch": batch,
        }
        env = dict(os.environ)
        if threads:  # keep BLAS / OpenMP pools of every library to the asked thread count
            env.update({"OMP_NUM_THREADS": str(threads), "MKL_NUM_THREADS": str(threads)})
        proc = subprocess.Popen(
            [sys.executable, "-m", "yolo_compress.bench.worker", json.dumps(job)],
            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env,
        )
        result = None
        assert proc.stdout is not None
        for line in proc.stdout:
            try:
                msg = json.loads(line)
            except json.JSONDecodeError:
                continue
            if "progress" in msg and on_progress:
                on_progress(msg["progress"], runs)
            if "result" in msg:
                result = msg["result"]
            if "error" in msg:
                proc.wait()
                raise YoloCompressError(msg["error"])
        err = proc.stderr.read() if proc.stderr else ""
        rc = proc.wait()
        if rc != 0 or result is None:
            tail = err.strip().splitlines()[-1] if err.strip() else f"exit code {rc}"
            raise YoloCompressError(f"timing worker for '{artifact.path}' ({runtime}) failed: {tail}")
        return Timing(**result)
