#!/usr/bin/env bash
# The converged references of issues 20 and 22, trained one after another on whatever machine runs this.
# Every entry is resumable and a finished one is skipped, so a session just re-runs this script in the
# background; before it ends: `.venv/bin/python benchmarks/zoo.py --model M --epochs 200 --name N --snapshot`
# for the entry in progress, and commit its results.csv + resume/ snapshot (and each finished .pt/.json).
# Order: the students the acceptance rows need first, then the teachers.
#   nohup nice -n 5 bash benchmarks/zoo_queue.sh > zoo-queue.log 2>&1 &
# Whether a finished entry has converged: .venv/bin/python benchmarks/converged.py benchmarks/zoo/<name> --extra 20
set -euo pipefail
cd "$(dirname "$0")/.."
PY=${PY:-.venv/bin/python}
EPOCHS=${EPOCHS:-200}
[ "$EPOCHS" -gt 60 ] || { echo "zoo_queue: EPOCHS=$EPOCHS: YOLOv8s trains on from its 60-epoch run, so give more than 60" >&2; exit 2; }
for m in yolov8n yolo11n yolov9t yolo26n; do
    "$PY" benchmarks/zoo.py --model "$m" --epochs "$EPOCHS" --name "$m-garbage320-${EPOCHS}ep" "$@"
done
# YOLOv8s trains on from the 60-epoch teacher of BENCHMARKS 6b (issue 20: "train on if not [plateaued]"; it gained
# +9.6 points in its last 30 epochs): 140 more epochs with the same recipe and a fresh schedule, 200 in all
"$PY" benchmarks/zoo.py --model yolov8s --init benchmarks/zoo/yolov8s-garbage320.pt --epochs $((EPOCHS - 60)) \
    --name "yolov8s-garbage320-60+$((EPOCHS - 60))ep" "$@"
for m in yolo11s yolov9s; do
    "$PY" benchmarks/zoo.py --model "$m" --epochs "$EPOCHS" --name "$m-garbage320-${EPOCHS}ep" "$@"
done
