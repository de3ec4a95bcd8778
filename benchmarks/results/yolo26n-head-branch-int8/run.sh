#!/usr/bin/env bash
# Which part of YOLO26n's Detect head makes OpenVINO INT8 lose ~1 point (BENCHMARKS.md section 11)? YOLO26's head has
# no DFL (reg_max 1): its box branch (cv2) regresses the coordinates directly, where YOLOv8's predicts 16-bin
# distributions whose expectation averages quantization noise. Each model is quantized four ways (all INT8, box
# branch cv2 in float, class branch cv3 in float, the whole head in float), one calibration draw per SEED, and all
# artifacts are scored in one bench on val (mAP only, --runs 0). Run from the repo root; re-running skips what exists.
# Runs (2026-12-04): bash run.sh (seed 0, OpenVINO); SEEDS="1 2" VARIANTS="all box" bash run.sh;
# BACKEND=onnxruntime SEEDS=0 VARIANTS="all box" bash run.sh
set -euo pipefail
O=benchmarks/results/yolo26n-head-branch-int8
DATA=../shared/datasets/garbage-320/data.yaml
R=benchmarks/results/recovery-yolo26n-garbage320-200ep-0.50-20ep-rt4
SEEDS=${SEEDS:-0}
VARIANTS=${VARIANTS:-all box cls head}
BACKEND=${BACKEND:-openvino}
declare -A M=(
  [input]=benchmarks/zoo/yolo26n-garbage320-200ep.pt
  [base]=benchmarks/zoo/yolo26n-garbage320-200ep-extra20/seed0/final.pt
  [fsens]=$R/f-sens-s0/final.pt
  [a]=$R/a-s0/final.pt
  [holdout]=benchmarks/results/yolo26n-holdout/run/02-finetune/model.pt
)
YC=.venv/bin/yolo-compress
W=$O/artifacts; mkdir -p "$W"
arts=()
for m in input base fsens a holdout; do
  [ -e "$W/$m.onnx" ] || $YC export "${M[$m]}" --format onnx --imgsz 320 --no-verify --out "$W/$m.onnx"
  arts+=("$W/$m.onnx")
  for s in $SEEDS; do
    for v in $VARIANTS; do
      # --box-float off: the variants are exactly what they name (since 2026-12-04 the default keeps YOLO26's box
      # branch float; the seed-0 OpenVINO run predates that flag and had this behaviour)
      case $v in all) ig=();; box) ig=(--ignore model.23.cv2);; cls) ig=(--ignore model.23.cv3);; head) ig=(--ignore model.23);; esac
      ig+=(--box-float off)
      if [ "$BACKEND" = openvino ]; then d="$W/$m-$v-s${s}_int8_openvino_model"; else d="$W/$m-$v-s${s}_int8.onnx"; fi
      [ -e "$d" ] || $YC quantize "${M[$m]}" --backend "$BACKEND" --data $DATA --imgsz 320 --seed "$s" "${ig[@]}" \
          --no-verify --out "$d" > "$W/$m-$v-s$s-$BACKEND.log" 2>&1
      arts+=("$d")
    done
  done
done
$YC bench "${arts[@]}" --data $DATA --imgsz 320 --runs 0 --out "$O/bench-$BACKEND-s${SEEDS// /}-${VARIANTS// /}"
