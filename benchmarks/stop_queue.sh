#!/usr/bin/env bash
# Stop issue20_queue.sh between epochs, so the resumed run loses nothing: Ultralytics writes an epoch's results.csv
# row *before* its weights/last.pt, so a kill right after the csv line makes the resumed run redo that epoch (and
# results.csv then holds it twice). This waits until a last.pt under benchmarks/ or runs/ is rewritten (and its size
# settles), then kills the queue and every process under it, and snapshots every unfinished row
# (benchmarks/snapshot_runs.py: <run>/resume-last.pt, to commit, since a fresh checkout has no weights/).
# With --after FILE it waits for FILE instead (a step's final.pt: stop as that step finishes, before the next one
# has done more than create its folders, which are listed to remove by hand).
# Usage: bash benchmarks/stop_queue.sh [max seconds to wait: 900 for a last.pt, no limit with --after] [--after FILE]
set -uo pipefail
cd "$(dirname "$0")/.."
limit=""; after=""
while [ $# -gt 0 ]; do
    case "$1" in
        --after) after=${2:?--after needs a file}; shift 2 ;;
        *) limit=$1; shift ;;
    esac
done
[ -n "$limit" ] || { [ -n "$after" ] && limit=0 || limit=900; }  # 0: no limit (a step may take hours)
pgrep -f "bash benchmarks/issue20_queue.sh" > /dev/null || { echo "stop_queue: the queue is not running"; exit 0; }
mark=$(mktemp); trap 'rm -f "$mark"' EXIT
t0=$SECONDS
while :; do
    if [ -n "$after" ]; then
        if [ -e "$after" ]; then sleep 3; echo "stop_queue: $after written; stopping the queue"; break; fi
        # ended without FILE: it finished, or another stop_queue stopped it (and snapshots it): kill nothing here, a
        # process started since (a bench) is not the queue's
        pgrep -f "bash benchmarks/issue20_queue.sh" > /dev/null || { echo "stop_queue: the queue ended before $after"; exit 0; }
    else
        new=$(find benchmarks runs -name last.pt -newer "$mark" 2>/dev/null | head -1)
        if [ -n "$new" ]; then
            s1=-1; s2=$(stat -c %s "$new")
            while [ "$s1" != "$s2" ]; do sleep 2; s1=$s2; s2=$(stat -c %s "$new"); done
            echo "stop_queue: $new saved; stopping the queue"
            break
        fi
    fi
    if (( limit > 0 && SECONDS - t0 > limit )); then echo "stop_queue: nothing saved in ${limit} s; stopping anyway"; break; fi
    sleep 3
done
# the queue's whole process tree, listed before any kill: a step's own children (edge_cpu.py runs the recipe as
# `python -m yolo_compress.cli run`) outlive a kill of the step by name, and a survivor would go on writing into
# a folder the next queue run also uses (session 46: one did)
tree() { local p; for p in "$@"; do echo "$p"; tree $(pgrep -P "$p"); done; }
pids=$(tree $(pgrep -f "bash benchmarks/issue20_queue.sh"))
kill $pids 2>/dev/null
for p in recovery_methods.py converged.py zoo.py edge_cpu.py seed_chain.py yolo_compress.cli; do pkill -f "$p"; done
sleep 3; kill -9 $pids 2>/dev/null
pgrep -fa "recovery_methods|zoo.py|converged.py|edge_cpu|seed_chain|yolo_compress.cli" || echo "stop_queue: stopped"
if [ -n "$after" ]; then  # what the next step has begun: its folders newer than FILE
    find benchmarks/results runs -mindepth 1 -maxdepth 2 -type d -newer "$after" 2>/dev/null \
        | sed 's/^/stop_queue: begun after it (remove if it holds no finished work): /'
fi
# the rows, and converged.py's extra trainings (zoo.py snapshots its own references: zoo.py --snapshot)
.venv/bin/python benchmarks/snapshot_runs.py benchmarks/results $(ls -d benchmarks/zoo/*-extra*/ 2>/dev/null)
