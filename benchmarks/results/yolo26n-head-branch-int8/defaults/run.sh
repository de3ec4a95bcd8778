#!/usr/bin/env bash
# The default command after --box-float (2026-12-04): no flag but the backend, on the f-sens cut and on the input's
# NMS-free (one-to-one) head, beside their FP32; mAP only (--runs 0). Run from the repo root.
set -euo pipefail
O=benchmarks/results/yolo26n-head-branch-int8/defaults; YC=.venv/bin/yolo-compress; DATA=../shared/datasets/garbage-320/data.yaml
$YC quantize benchmarks/results/recovery-yolo26n-garbage320-200ep-0.50-20ep-rt4/f-sens-s0/final.pt --backend openvino --data $DATA --imgsz 320 --out $O/fsens-default_int8_openvino_model > $O/fsens-default.log 2>&1
$YC quantize benchmarks/zoo/yolo26n-garbage320-200ep.pt --backend openvino --data $DATA --imgsz 320 --nms-free --out $O/input-nmsfree-default_int8_openvino_model > $O/input-nmsfree-default.log 2>&1
$YC export benchmarks/zoo/yolo26n-garbage320-200ep.pt --format onnx --imgsz 320 --nms-free --no-verify --out $O/input-nmsfree.onnx
$YC bench benchmarks/results/yolo26n-head-branch-int8/artifacts/fsens.onnx $O/fsens-default_int8_openvino_model $O/input-nmsfree.onnx $O/input-nmsfree-default_int8_openvino_model --data $DATA --imgsz 320 --runs 0 --out $O/bench
