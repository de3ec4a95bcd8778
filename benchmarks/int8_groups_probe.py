"""Probe: what keeping layer groups of an OpenVINO INT8 model in float does, on the control images that
``quantize --max-drop`` scores (held-out train images) and on the val split we report on.

    YOLO_OFFLINE=1 .venv/bin/python benchmarks/int8_groups_probe.py MODEL.pt OUT_DIR [--nms-free] [--per-group]

Rows: fp32, all-INT8, the whole Detect head in float, its box branches (cv2), its class branches (cv3),
model.8 (what NNCF's accuracy control kept on YOLO26n); ``--per-group``: every layer group alone in float,
control only. Calibration: 300 train images drawn after the 200 control ones (as ``--max-drop`` draws them),
minmax, preset mixed. Results go to OUT_DIR/res.json, row by row, so a stopped probe keeps what it measured.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "src"))


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("model", type=Path)
    ap.add_argument("out", type=Path)
    ap.add_argument("--data", default=str(REPO.parent / "shared/datasets/garbage-320/data.yaml"))
    ap.add_argument("--imgsz", type=int, default=320)
    ap.add_argument("--nms-free", action="store_true")
    ap.add_argument("--per-group", action="store_true")
    a = ap.parse_args()

    import openvino as ov

    from yolo_compress.data import Sample, load_data, read_image
    from yolo_compress.quant import openvino as ovq
    from yolo_compress.quant.calib import split_train
    from yolo_compress.quant.quantize import _fp32_export, coarse_groups, head_groups
    from yolo_compress.runtime.artifact import inspect_artifact
    from yolo_compress.runtime.evaluator import evaluate_samples
    from yolo_compress.runtime.runtimes import OV_CPU_EXACT

    a.out.mkdir(parents=True, exist_ok=True)
    spec = load_data(a.data, splits=("train", "val"))
    qd = split_train(spec, 300, 200, a.imgsz, 0, need_control=True)
    chk = spec.check("val")
    val = [Sample(f, read_image(f), chk.labels[f]) for f in chk.labels]
    fp32 = _fp32_export(a.model, "openvino", a.imgsz, a.out, 2, a.nms_free)
    xml = next(fp32.glob("*.xml"))
    e2e = inspect_artifact(fp32).end2end
    groups, decode = ovq.node_groups(ovq.read(xml))
    groups = coarse_groups(groups)
    core = ov.Core()

    def score(m, data) -> float:
        c = core.compile_model(m, "CPU", {"INFERENCE_NUM_THREADS": 2, **OV_CPU_EXACT})
        return evaluate_samples(lambda x: c(x)[0], data, qd.names, a.imgsz, e2e, coco=False).map50_95

    res = {"model": str(a.model), "nms_free": a.nms_free, "end2end": e2e, "rows": {}}

    def run(name, gs, do_val=True):
        t = time.time()
        q = ovq.read(xml) if gs is None else ovq.static_int8(
            ovq.read(xml), qd.calib, "minmax", "mixed", decode + [n for g in gs for n in groups[g]])
        r = {"float_groups": gs, "control": score(q, qd.control)}
        if do_val:
            r["val"] = score(q, val)
        r["s"] = round(time.time() - t, 1)
        res["rows"][name] = r
        print(name, {k: v for k, v in r.items() if k != "float_groups"}, flush=True)
        (a.out / "res.json").write_text(json.dumps(res, indent=1))

    head = head_groups(groups)
    run("fp32", None)
    run("int8", [])
    run("head", head)
    run("box", [g for g in head if ".cv2." in g or "_cv2." in g])
    run("cls", [g for g in head if ".cv3." in g or "_cv3." in g])
    if "model.8" in groups:
        run("model.8", ["model.8"])
    if a.per_group:
        for g in groups:
            run("group " + g, [g], do_val=False)


if __name__ == "__main__":
    main()
