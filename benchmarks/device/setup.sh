# device-only: the repo copy is re-made each call, so everything lives under /tmp/g (kept while warm)
export PYTHONUNBUFFERED=1 YOLO_OFFLINE=1 YOLO_CONFIG_DIR=/tmp/ycfg G=/tmp/g
mkdir -p $G/data
[ -d .gdata/a ] && [ ! -d $G/data/a ] && cp -r .gdata/a $G/data/
[ -d .gdata/b ] && [ ! -d $G/data/b ] && cp -r .gdata/b $G/data/
[ -d $G/src ] || cp -r src benchmarks $G/
if [ ! -d $G/site/ultralytics ]; then
  python3 -m pip install -q --no-index --no-deps --no-compile --no-cache-dir --target $G/site .whl/*.whl || exit 1
  cp -r .whl/shim/polars $G/site/
fi
export PYTHONPATH=$G/src:$G/site
