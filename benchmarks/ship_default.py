"""Make a finished, converged zoo model the built-in default (issue 20, deliverable 1).

    .venv/bin/python benchmarks/ship_default.py benchmarks/zoo/yolov8n-garbage320-200ep

Checks, before anything is written: the zoo run finished (its .json exists; weights = the last epoch), the
checkpoint loads through our safe loader as a 3-class detector with the
shipped dataset's class names. Then copies the weights to ``src/yolo_compress/assets/<name>.pt`` and writes
``<name>.json`` beside it (source hash, training record, and the verdicts of ``benchmarks/converged.py``,
pass or fail; a test not run yet is recorded as such: run this again after ``converged.py --extra 20``). Switching
``shipped.DEFAULT_MODEL`` and the ATTRIBUTION paragraph are a reviewed edit, not done here.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
ASSETS = REPO / "src" / "yolo_compress" / "assets"


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("run", type=Path, help="the zoo run folder (benchmarks/zoo/<name>)")
    a = ap.parse_args()
    sys.path[:0] = [str(REPO / "src"), str(REPO / "benchmarks")]
    run = a.run.resolve()
    record_p, weights = run.with_suffix(".json"), run.with_suffix(".pt")
    conv_p = run / "converged.json"
    for p in (record_p, weights):
        if not p.exists():
            sys.exit(f"ship_default: '{p}' not found: the zoo run has not finished")
    record = json.loads(record_p.read_text())
    if record.get("weights_epoch") != "last":
        sys.exit(f"ship_default: {record_p} has no weights_epoch 'last' (an older zoo.py copied best.pt); re-run zoo.py")
    conv = json.loads(conv_p.read_text()) if conv_p.exists() else {}
    if "extra" not in conv:  # shipped before its 20-epoch test ends (it takes ~25 min of 2 cores): say so, re-run this after it
        from converged import curve

        conv = {"curve": curve(run), "extra": None}
        print(f"ship_default: the 20-extra-epoch test has not run; provenance says so. After "
              f"`benchmarks/converged.py {run} --extra 20`, run this again")
    from yolo_compress.io import atomic_copy, atomic_write_text, file_hash

    sha = file_hash(weights)
    if sha != record["weights_sha256"]:
        sys.exit(f"ship_default: {weights} does not match the sha256 in {record_p}")

    from yolo_compress.data import load_data
    from yolo_compress.models import load_model
    from yolo_compress.shipped import DEFAULT_DATA

    y = load_model(weights)
    shipped = load_data(DEFAULT_DATA).names
    names = [shipped[i] for i in sorted(shipped)]
    got = [y.names[i] for i in sorted(y.names)]
    if got != names:
        sys.exit(f"ship_default: {weights} has classes {got}, the shipped images {names}")
    dest = ASSETS / weights.name
    atomic_copy(weights, dest)
    prov = {
        "file": dest.name,
        "sha256": sha,
        "source": str(weights.relative_to(REPO)),
        "training": {k: record[k] for k in ("command", "cfg", "epochs", "imgsz", "batch", "seed", "ultralytics",
                                            "torch", "train_wall_s", "train_sessions", "finished", "val",
                                            "weights_epoch") if k in record},
        "converged": conv,
        "shipped_with": "benchmarks/ship_default.py",
    }
    atomic_write_text(dest.with_suffix(".json"), json.dumps(prov, indent=2) + "\n")
    c, e = conv["curve"], conv["extra"]
    test2 = "not run" if e is None else f"{e['gain_pt']:+.2f} pt ({'pass' if e['passed'] else 'FAIL'})"
    print(f"ship_default: {dest} (sha256 {sha[:12]}), val mAP50-95 {record['val']['mAP50-95']:.4f}; "
          f"curve: {c['verdict']}; +20 ep: {test2}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
