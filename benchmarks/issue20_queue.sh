#!/usr/bin/env bash
# Issue 20's CPU work in the order it depends on itself; every step is resumable or skipped when done, so a
# session re-runs this in the background and commits what came out (see each script's docstring):
#   nohup nice -n 5 bash benchmarks/issue20_queue.sh > issue20-queue.log 2>&1 &
# 1. the converged YOLOv8n (200 epochs), 2. its convergence tests (curve + 20 extra epochs),
# 3. the screen: every recovery method at 50% of the GFLOPs, one seed, 20 epochs (row c waits for a
#    converged YOLOv8s teacher), 4. the leader with a longer budget, 5. the headline rows (3 seeds),
# 6. the rest of the zoo (yolo11n, v9t, yolo26n, the teachers), 7. more 60-epoch rows.
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
    --methods base,a,b,d,e,f-lamp,f-taylor,g --seeds 0 --no-bench  # benched by the session (BENCHMARKS 10 has the call)
# 4. the screen's leader (f-taylor) with 3x the budget, at a level at or under 50% (--round-to 2: 47.7%), beside
#    the input trained as long: does the budget close the gap to the issue's bar? (seed 0 first)
"$PY" benchmarks/recovery_methods.py --model "$RUN.pt" --level 0.5 --epochs 60 --round-to 2 \
    --methods f-taylor,base --seeds 0 --no-bench
# 5. the headline rows, 3 seeds, the screen's 20-epoch budget: the best method so far (f-sens: Taylor within
#    blocks, sensitivity allocation across them; BENCHMARKS 10) and plain fine-tune (a) at 50% (a at --round-to 4:
#    46.3%, the uniform level under 50%) and at 40%; base-20 (step 2) is linked into every folder. The 40% rows
#    are also benched after OpenVINO and ONNX Runtime INT8 (the issue's <= 40% INT8 row). Trained only here; the
#    session benches with training paused (latency): the same calls with base added to --methods and without
#    --no-bench (--int8 openvino,onnxruntime for 0.4).
R=benchmarks/results/recovery-yolov8n-garbage320-200ep
for d in "$R-0.50-20ep-rt4" "$R-0.40-20ep"; do
    mkdir -p "$d"
    [ -e "$d/base-s0" ] || ln -s "$(realpath --relative-to="$d" "${RUN}-extra20/seed0")" "$d/base-s0"
done
# 5-. YOLO11n's converged reference before the remaining seeds (the issue's third acceptance row needs it, and it
#     is the longest pole: ~4-5 h on 2 cores, resumed across sessions; zoo_queue.sh then finds it finished)
"$PY" benchmarks/zoo.py --model yolo11n --epochs 200 --name yolo11n-garbage320-200ep
# 5a. soft pruning on one schedule (the f-sens cut planned, its channels faded to zero over 10 epochs and held
#     there for 10 while the whole network trains, then cut): the 50% screen's leader (seed 0: 0.4965 vs 0.4856
#     for the hard f-sens cut, Ultralytics val at epoch 20), at both levels, 3 seeds each, before the rest
SOFT="soft-hold=criterion=sens,soft=10,hold=1,teacher=none"
for run in "0.5 1" "0.4 0" "0.5 2" "0.4 1" "0.4 2"; do
    set -- $run
    "$PY" benchmarks/recovery_methods.py --model "$RUN.pt" --level "$1" --epochs 20 --row "$SOFT" --methods soft-hold \
        --seeds "$2" --no-bench
done
"$PY" benchmarks/recovery_methods.py --model "$RUN.pt" --level 0.5 --epochs 20 --methods f-sens --seeds 0,1,2 \
    --no-bench
"$PY" benchmarks/recovery_methods.py --model "$RUN.pt" --level 0.4 --epochs 20 --methods f-sens,a --seeds 0,1,2 \
    --no-bench
"$PY" benchmarks/recovery_methods.py --model "$RUN.pt" --level 0.5 --epochs 20 --round-to 4 --methods a \
    --seeds 0,1,2 --no-bench
# 6. the rest of the zoo: YOLO11n (the issue's third acceptance row), then v9t / yolo26n (issue 22), the teachers
bash benchmarks/zoo_queue.sh
# 7. longer budgets: 60 epochs at --round-to 4 (46.3%), plain Taylor vs Taylor cut + self-distillation; base-60 is
#    shared with step 4, linked not retrained
S60=benchmarks/results/recovery-yolov8n-garbage320-200ep-0.50-60ep
mkdir -p "$S60-rt4"
[ -e "$S60-rt4/base-s0" ] || ln -s ../recovery-yolov8n-garbage320-200ep-0.50-60ep-rt2/base-s0 "$S60-rt4/base-s0"
"$PY" benchmarks/recovery_methods.py --model "$RUN.pt" --level 0.5 --epochs 60 --round-to 4 \
    --methods base,f-taylor,best --best criterion=taylor,teacher=input --seeds 0
