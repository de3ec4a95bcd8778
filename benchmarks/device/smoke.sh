source .whl/sh/setup.sh || exit 1
nvidia-smi -L; nproc
python3 -c "import torch, ultralytics; print(torch.__version__, torch.cuda.is_available(), ultralytics.__version__)" || exit 1
printf "path: $PWD/.gdata/a\ntrain: images/train\nval: images/train\nnames:\n  0: garbage\n  1: garbage_bin\n  2: overflow\n" > .gpurun/smoke.yaml
S=$(date +%s)
python3 benchmarks/distill_kd.py --student .gdata/a/yolov8n-garbage320.pt --data .gpurun/smoke.yaml --epochs 2 \
  --rows plain,ultralytics,combo --fraction 0.25 --device 0 --workers 4 --no-bench --out .gpurun/smoke 2>&1 | grep -v "^\s*$" | tail -40
echo "smoke wall $(( $(date +%s) - S )) s"
for f in .gpurun/smoke/*/results.csv; do echo $f; cut -d, -f1-9 $f; done
