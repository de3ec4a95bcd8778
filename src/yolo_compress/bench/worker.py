"""Timing worker: ``python -m yolo_compress.bench.worker JOB_JSON``. Imports only the runtime it times."""

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


def main(argv: list[str]) -> int:
    job = json.loads(argv[0])
    import numpy as np

    from ..export.formats import Artifact
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
