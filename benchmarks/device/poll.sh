# poll.sh LIMIT_S [pack]: wait until the queue finishes or LIMIT_S pass; copy small results to $OUT
source .whl/sh/setup.sh || exit 1
END=$(( $(date +%s) + $1 ))
while pgrep -f distill_kd.py > /dev/null && [ $(date +%s) -lt $END ]; do sleep 15; done
echo "elapsed since launch $(( $(date +%s) - $(cat $G/t0) )) s; running: $(pgrep -f distill_kd.py | wc -l)"
python3 - <<'PY'
import csv, glob, os
for f in sorted(glob.glob(os.environ["G"] + "/kd/*/results.csv")):
    rows = list(csv.DictReader(open(f)))
    key = [k for k in rows[0] if "mAP50-95" in k][0] if rows else None
    print(os.path.basename(os.path.dirname(f)), len(rows), " ".join(f"{float(r[key]):.3f}" for r in rows) if rows else "")
PY
tail -3 $G/log-* | cut -c1-300
tar czf $OUT/kd-results.tgz --exclude='*.pt' --exclude='*.cache' -C $G kd $(cd $G; ls log-*)
if [ "$2" = pack ]; then
  tar cf - -C $G $(cd $G; ls kd/*/weights/last.pt) | split -b 15m - $OUT/w.tar.
fi
ls -la $OUT
