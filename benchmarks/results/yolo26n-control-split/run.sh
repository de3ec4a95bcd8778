cd /work/main
R=benchmarks/results/recovery-yolo26n-garbage320-200ep-0.50-20ep-rt4
D=/tmp/cs2/data.yaml
bash /tmp/q.sh STOP
echo start $(date)
for row in f-sens-s0 a-s0; do
  YOLO_OFFLINE=1 .venv/bin/yolo-compress quantize $R/$row/final.pt --backend openvino --data $D --imgsz 320 --max-drop 0.5 --control-split heldout --out /tmp/cs2/$row-heldout_openvino_model --threads 2 > /tmp/cs2/$row-heldout.log 2>&1
  YOLO_OFFLINE=1 .venv/bin/yolo-compress quantize $R/$row/final.pt --backend openvino --data $D --imgsz 320 --max-drop 0.5 --out /tmp/cs2/$row-train_openvino_model --threads 2 > /tmp/cs2/$row-train.log 2>&1
done
echo quantized $(date)
YOLO_OFFLINE=1 .venv/bin/yolo-compress bench $R/f-sens-s0.onnx /tmp/cs2/f-sens-s0-train_openvino_model /tmp/cs2/f-sens-s0-heldout_openvino_model $R/a-s0.onnx /tmp/cs2/a-s0-train_openvino_model /tmp/cs2/a-s0-heldout_openvino_model --data $D --imgsz 320 --runs 0 --out /tmp/cs2/bench > /tmp/cs2/bench.log 2>&1
echo benched $(date)
bash /tmp/q.sh CONT
