#!/usr/bin/env bash
# Stop issue20_queue.sh between epochs, so the resumed run loses nothing: Ultralytics writes an epoch's results.csv
# row *before* its weights/last.pt, so a kill right after the csv line makes the resumed run redo that epoch (and
# results.csv then holds it twice). This waits until a last.pt under benchmarks/ or runs/ is rewritten (and its size
# settles), then kills the queue and what it runs, and snapshots every unfinished row (benchmarks/snapshot_runs.py:
# <run>/resume-last.pt, to commit, since a fresh checkout has no weights/). Usage: bash benchmarks/stop_queue.sh [max seconds to wait, 900]
set -uo pipefail
cd "$(dirname "$0")/.."
pgrep -f "bash benchmarks/issue20_queue.sh" > /dev/null || { echo "stop_queue: the queue is not running"; exit 0; }
mark=$(mktemp); trap 'rm -f "$mark"' EXIT
limit=${1:-900}; t0=$SECONDS
while :; do
    new=$(find benchmarks runs -name last.pt -newer "$mark" 2>/dev/null | head -1)
    if [ -n "$new" ]; then
        s1=-1; s2=$(stat -c %s "$new")
        while [ "$s1" != "$s2" ]; do sleep 2; s1=$s2; s2=$(stat -c %s "$new"); done
        echo "stop_queue: $new saved; stopping the queue"
        break
    fi
    if (( SECONDS - t0 > limit )); then echo "stop_queue: no last.pt saved in ${limit} s; stopping anyway"; break; fi
    sleep 3
done
pkill -f "bash benchmarks/issue20_queue.sh"
for p in recovery_methods.py converged.py zoo.py edge_cpu.py seed_chain.py yolo_compress.cli; do pkill -f "$p"; done
sleep 2; pgrep -fa "recovery_methods|zoo.py|converged.py|edge_cpu|seed_chain" || echo "stop_queue: stopped"
# the rows, and converged.py's extra trainings (zoo.py snapshots its own references: zoo.py --snapshot)
.venv/bin/python benchmarks/snapshot_runs.py benchmarks/results $(ls -d benchmarks/zoo/*-extra*/ 2>/dev/null)
