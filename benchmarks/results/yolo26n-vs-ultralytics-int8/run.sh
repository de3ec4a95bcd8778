cd /work/main
R=benchmarks/results/recovery-yolo26n-garbage320-200ep-0.50-20ep-rt4
O=benchmarks/results/yolo26n-vs-ultralytics-int8; mkdir -p $O
DATA=../shared/datasets/garbage-320/data.yaml
bash /tmp/q.sh STOP
echo start $(date)
mkdir -p /tmp/peer26; cp benchmarks/zoo/yolo26n-garbage320-200ep.pt /tmp/peer26/yolo26n.pt
YOLO_OFFLINE=1 .venv/bin/python - > $O/ultralytics-export.log 2>&1 <<'PY'
import sys; sys.path.insert(0, "benchmarks")
from pathlib import Path
from foundation import ultralytics_int8
for fmt in ("openvino", "onnx"):
    print(fmt, ultralytics_int8(Path("/tmp/peer26/yolo26n.pt"), fmt, Path("../shared/datasets/garbage-320/data.yaml").resolve(), 320))
PY
echo exported $(date)
ls /tmp/peer26
YOLO_OFFLINE=1 .venv/bin/yolo-compress bench $R/input.onnx $R/input_openvino_model /tmp/peer26/yolo26n_int8_openvino_model /tmp/peer26/yolo26n_int8.onnx \
  $R/input-int8_openvino_model $R/input-md0.5-int8_openvino_model $R/input-int8.onnx \
  --data $DATA --imgsz 320 --threads 2 --runs 100 --rounds 3 --out $O > $O/bench.log 2>&1
echo benched $(date)
bash /tmp/q.sh CONT
