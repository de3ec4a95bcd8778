"""Before a session ends: copy the weights/last.pt of every unfinished benchmark training (a row of
recovery_methods.py and the other scripts that train through ``_common.kept_run``) to ``<run>/resume-last.pt``,
a path git does not ignore, so that a fresh checkout resumes the row where it stopped instead of training it again
(weights/ is git-ignored; a session's workspace may come back without it). Over ``_common.SLIM_OVER`` the copy drops
the optimizer's moments (see ``write_snapshot``). The run resumes only under the same command: recovery_methods.py
checks the row's configuration (row.json) before it trains.

    bash benchmarks/stop_queue.sh             # stops the queue after the next last.pt save, then runs this
    .venv/bin/python benchmarks/snapshot_runs.py [ROOT ...]   # default benchmarks/results

then commit the listed files with the run's results.csv. stop_queue.sh also passes the zoo's ``*-extra*/`` folders
(converged.py's 20-epoch tests train through ``kept_run`` too); zoo references snapshot themselves (zoo.py --snapshot).
"""

from __future__ import annotations

import argparse
import subprocess
import sys
from pathlib import Path

from _common import RESUME, epochs_logged, unfinished_runs, write_snapshot

REPO = Path(__file__).resolve().parents[1]


def git_ignored(path: Path) -> bool:
    """True where git would not track ``path`` (a run under an ignored folder such as edge_cpu's ft-*/: a
    snapshot there cannot be committed, so it would only cost disk). Outside a git checkout nothing is ignored."""
    try:
        r = subprocess.run(["git", "check-ignore", "-q", str(path)], cwd=path.parent if path.parent.is_dir() else None,
                           capture_output=True, timeout=30)
    except (OSError, subprocess.TimeoutExpired):
        return False
    return r.returncode == 0  # 1: not ignored; 128: not a repository


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("roots", nargs="*", type=Path, default=[REPO / "benchmarks/results"])
    args = p.parse_args(argv)
    for root in args.roots:
        if not root.is_dir():
            print(f"error: {root} is not a folder; fix: pass the benchmark results folder", file=sys.stderr)
            return 2
    done = 0
    for root in args.roots:
        for run in unfinished_runs(root):
            last, snap = run / "weights/last.pt", run / RESUME
            if git_ignored(snap):
                print(f"snapshot_runs: {run} is in a folder git ignores; skipped (a snapshot there could not be "
                      f"committed: resume it in this workspace or move the run)")
                continue
            if snap.exists() and snap.stat().st_mtime >= last.stat().st_mtime:
                print(f"snapshot_runs: {snap} is up to date")
                continue
            how = write_snapshot(last, snap)
            n = epochs_logged(run)
            print(f"snapshot_runs: {snap} ({n} epochs in results.csv, {how})")
            done += 1
    if not done:
        print("snapshot_runs: no unfinished run to snapshot")
    return 0


if __name__ == "__main__":
    sys.exit(main())
