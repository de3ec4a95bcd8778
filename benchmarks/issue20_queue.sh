#!/usr/bin/env bash
# Issue 20's CPU work in the order it depends on itself; every step is resumable or skipped when done, so a
# session re-runs this in the background and commits what came out (see each script's docstring):
#   nohup nice -n 5 bash benchmarks/issue20_queue.sh > issue20-queue.log 2>&1 &
# 1. the converged YOLOv8n (200 epochs), 2. its convergence tests (curve + 20 extra epochs),
# 3. the screen: every recovery method at 50% of the GFLOPs, one seed, 20 epochs (row c waits for a
#    converged YOLOv8s teacher), 4-5. the leader with a longer budget, plain and distilled,
# 6. the rest of the zoo (yolo11n, v9t, yolo26n, the teachers).
# The 20-extra-epoch run of step 2 *is* the screen's "base" row (same FinetuneConfig, same weights), so it is
# linked, not trained twice.
set -euo pipefail
cd "$(dirname "$0")/.."
PY=${PY:-.venv/bin/python}
export YOLO_OFFLINE=1
RUN=benchmarks/zoo/yolov8n-garbage320-200ep
"$PY" benchmarks/zoo.py --model yolov8n --epochs 200 --name yolov8n-garbage320-200ep
if ! "$PY" -c "import json,sys; sys.exit('extra' not in json.load(open('$RUN/converged.json')))" 2>/dev/null; then
    "$PY" benchmarks/converged.py "$RUN" --extra 20
fi
SCREEN=benchmarks/results/recovery-yolov8n-garbage320-200ep-0.50-20ep
mkdir -p "$SCREEN"
[ -e "$SCREEN/base-s0" ] || ln -s "$(realpath --relative-to="$SCREEN" "${RUN}-extra20/seed0")" "$SCREEN/base-s0"  # relative: committed
"$PY" benchmarks/recovery_methods.py --model "$RUN.pt" --level 0.5 --epochs 20 \
    --methods base,a,b,d,e,f-lamp,f-taylor,g --seeds 0
# 4. the screen's leader (f-taylor) with 3x the budget, at a level at or under 50% (--round-to 2: 47.7%), beside
#    the input trained as long: does the budget close the gap to the issue's bar? (seed 0 first)
"$PY" benchmarks/recovery_methods.py --model "$RUN.pt" --level 0.5 --epochs 60 --round-to 2 \
    --methods f-taylor,base --seeds 0
# 5. the same budget at --round-to 4 (46.3%: channel multiples of 4 time faster than steps of 2, BENCHMARKS 10),
#    plain (f-taylor) vs the combination (Taylor cut + self-distillation); base-60 is shared, linked not retrained
S60=benchmarks/results/recovery-yolov8n-garbage320-200ep-0.50-60ep
mkdir -p "$S60-rt4"
[ -e "$S60-rt4/base-s0" ] || ln -s ../recovery-yolov8n-garbage320-200ep-0.50-60ep-rt2/base-s0 "$S60-rt4/base-s0"
"$PY" benchmarks/recovery_methods.py --model "$RUN.pt" --level 0.5 --epochs 60 --round-to 4 \
    --methods base,f-taylor,best --best criterion=taylor,teacher=input --seeds 0
bash benchmarks/zoo_queue.sh
