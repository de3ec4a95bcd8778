cd /work/main
M=benchmarks/zoo/yolo26n-garbage320-200ep.pt; DATA=../shared/datasets/garbage-320/data.yaml
R=benchmarks/results/recovery-yolo26n-garbage320-200ep-0.50-20ep-rt4
O=benchmarks/results/yolo26n-ov-int8-calib-seeds; mkdir -p $O
bash /tmp/q.sh STOP
echo start $(date)
for s in 1 2; do
  YOLO_OFFLINE=1 .venv/bin/yolo-compress quantize $M --backend openvino --data $DATA --imgsz 320 --nms-free --seed $s --out /tmp/cs/nmsfree-s${s}_openvino_model --threads 2 > $O/nmsfree-s$s.log 2>&1
  YOLO_OFFLINE=1 .venv/bin/yolo-compress quantize $M --backend openvino --data $DATA --imgsz 320 --max-drop 0.5 --seed $s --out /tmp/cs/maxdrop-s${s}_openvino_model --threads 2 > $O/maxdrop-s$s.log 2>&1
  YOLO_OFFLINE=1 .venv/bin/yolo-compress quantize $M --backend openvino --data $DATA --imgsz 320 --seed $s --out /tmp/cs/default-s${s}_openvino_model --threads 2 > $O/default-s$s.log 2>&1
done
echo quantized $(date)
YOLO_OFFLINE=1 .venv/bin/yolo-compress bench $R/input-nmsfree-int8_openvino_model /tmp/cs/nmsfree-s1_openvino_model /tmp/cs/nmsfree-s2_openvino_model \
  $R/input-md0.5-int8_openvino_model /tmp/cs/maxdrop-s1_openvino_model /tmp/cs/maxdrop-s2_openvino_model \
  $R/input-int8_openvino_model /tmp/cs/default-s1_openvino_model /tmp/cs/default-s2_openvino_model \
  --data $DATA --imgsz 320 --runs 0 --out $O > $O/bench.log 2>&1
echo benched $(date)
for f in /tmp/cs/*/quant.json; do cp $f $O/$(basename $(dirname $f)).quant.json; done
bash /tmp/q.sh CONT
