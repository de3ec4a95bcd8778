"""Timing worker: ``python -m yolo_compress.runtime.worker [--serve] JOB_JSON``. Imports only the runtime it times.

Without ``--serve`` it warms up, times ``runs`` calls, measures throughput and prints one result. With
``--serve`` (the interleaved schedule) it warms up, prints ``{"ready"}`` and then answers lines on stdin:
``run K`` (one untimed call, then K timed ones: ``{"times": [...]}``) and ``finish`` (throughput and peak
RSS, then exit)."""

from __future__ import annotations

import json
import resource
import sys
from pathlib import Path


def peak_rss_mb() -> float:
    """This process's own high-water RSS. VmHWM belongs to the current address space; getrusage's
    ru_maxrss would include the parent's peak, inherited across fork+exec on Linux."""
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    except OSError:
        pass
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # non-Linux fallback


def serve(runner, x, job: dict) -> int:
    import numpy as np

    from .latency import throughput, timed_runs

    for _ in range(job["warmup"]):
        runner(x)
    print(json.dumps({"ready": True}), flush=True)
    all_ms: list[float] = []
    for line in sys.stdin:
        cmd = line.split()
        if cmd and cmd[0] == "run":
            runner(x)  # untimed: the previous worker's block left the caches cold
            t = timed_runs(runner, x, int(cmd[1]))
            all_ms += [v * 1e3 for v in t]
            print(json.dumps({"times": t}), flush=True)
        elif cmd and cmd[0] == "finish":
            mean_ms = float(np.mean(all_ms)) if all_ms else float("nan")
            tp, tp_batch = throughput(runner, x, job["runs"], job["batch"], runner.can_batch(job["batch"]), mean_ms)
            print(json.dumps({"throughput_ips": float(tp), "throughput_batch": int(tp_batch),
                              "peak_rss_mb": peak_rss_mb()}), flush=True)
            return 0
    return 1  # the parent went away


def main(argv: list[str]) -> int:
    serving = bool(argv) and argv[0] == "--serve"
    job = json.loads(argv[-1])
    import numpy as np

    from .artifact import Artifact
    from .latency import measure
    from .runtimes import RUNTIMES

    a = dict(job["artifact"])
    a["path"] = Path(a["path"])
    a["names"] = {int(k): v for k, v in a.get("names", {}).items()}
    artifact = Artifact(**a)
    try:
        runner = RUNTIMES[job["runtime"]](artifact, job["threads"])
    except Exception as e:  # noqa: BLE001
        print(json.dumps({"error": f"'{artifact.path}' cannot be opened by {job['runtime']}: {e}"}), flush=True)
        return 1
    x = np.load(job["input"])
    if serving:
        return serve(runner, x, job)
    step = max(1, job["runs"] // 20)

    def tick(i: int) -> None:
        if i % step == 0 or i == job["runs"]:
            print(json.dumps({"progress": i}), flush=True)

    res = measure(runner, x, job["warmup"], job["runs"], job["batch"], runner.can_batch(job["batch"]), tick)
    res["peak_rss_mb"] = peak_rss_mb()
    print(json.dumps({"result": res}), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
