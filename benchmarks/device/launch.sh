source .whl/sh/setup.sh || exit 1
# assemble the dataset from the two carried halves
if [ ! -f $G/ds/data.yaml ]; then
  [ -d $G/data/a/images/train ] || { echo "MISSING $G/data/a (machine not warm?)"; exit 3; }
  mkdir -p $G/ds/images/train && cp $G/data/a/images/train/* $G/data/b/images/train/* $G/ds/images/train/ \
   && cp -r $G/data/b/images/val $G/ds/images/ && cp -r $G/data/a/labels $G/ds/ && rm -f $G/ds/labels/*.cache \
   && cp $G/data/a/data.yaml $G/ds/ || exit 1
  echo "train $(ls $G/ds/images/train | wc -l) val $(ls $G/ds/images/val | wc -l) labels $(ls $G/ds/labels/train | wc -l)"
fi
run() { setsid nohup python3 $G/benchmarks/distill_kd.py --teacher $G/benchmarks/zoo/yolov8s-garbage320.pt --student $G/data/a/yolov8n-garbage320.pt --data $G/ds/data.yaml \
  --epochs 16 --device 0 --workers 3 --no-bench --out $G/kd "$@" > $G/log-$1-$2-$3-$4 2>&1 < /dev/null & }
for s in 0 1 2; do run --seeds $s --rows plain,ultralytics,combo; done
run --seeds 0 --rows cls_kl,ld,cwd,cls_softmax,box,mse,mgd,attn_mse
sleep 2; date +%s > $G/t0
