"""Train the reference models ("the zoo") on garbage-320, reproducibly and resumably.

The zoo is the set of baseline detectors that every compression stage (prune, distill, quantize,
export) is measured against. All entries share one recipe, taken from
`shared/models/README.md`: trained from the Ultralytics YAML (no pretrained weights) on
`shared/datasets/garbage-320/data.yaml` (3 classes, 1000 train / 250 val images, 320x320, CC BY 4.0)
with imgsz=320, epochs=30 (60 for the teacher, below), batch=16, workers=2, device=cpu, seed=0,
deterministic=False, amp=False, plots=False and YOLO_OFFLINE=1 (set by this script if unset).

Entries (run from the repo root; each command is also the resume command):

    python benchmarks/zoo.py --model yolov8n               # 4309 s (72 min) on 2 CPU cores, 1 thread
    python benchmarks/zoo.py --model yolov8s --epochs 60   # the distillation teacher: 14680 s (4.1 h) on 2 cores
    python benchmarks/zoo.py --model yolo11n               # estimate 1 h
    python benchmarks/zoo.py --model yolo11s               # estimate 2-2.5 h
    python benchmarks/zoo.py --model yolov9t --epochs 200 --name yolov9t-garbage320-200ep  # issue 22: seed chain student
    python benchmarks/zoo.py --model yolov9s --epochs 200 --name yolov9s-garbage320-200ep  # its teacher
    python benchmarks/zoo.py --model yolov8s --init benchmarks/zoo/yolov8s-garbage320.pt --epochs 140 --name yolov8s-garbage320-60+140ep
    python benchmarks/zoo.py --model yolo26n --epochs 200 --name yolo26n-garbage320-200ep

The teacher is trained for 60 epochs, not 30: the 30-epoch reference student is far from converged
(16 more epochs lift it from 0.387 to 0.432 mAP50-95), so a 30-epoch teacher would be compared with a
student trained longer than itself. `--model yolov8n` reproduces `shared/models/yolov8n-garbage320.pt`
(val mAP50 0.651, mAP50-95 0.385): same recipe, same seed, though deterministic=False means the weights
are not bit-identical. The teacher `benchmarks/zoo/yolov8s-garbage320.pt` (best = epoch 59 of 60, finished
2026-11-24 on a 2-core AMD EPYC VM, resumed across sessions): val P 0.809, R 0.654, mAP50 0.765,
mAP50-95 0.484 (the reference YOLOv8n: 0.385; YOLOv8n + 16 epochs: 0.432).

Threads: Ultralytics alone trains on CPU with os.cpu_count() - 1 torch threads and no loader workers,
i.e. on one core of a 2-core machine (the reference yolov8n was trained so: 4309 s). The zoo trains
with `yolo_compress.train.AllCoresTrainer` (Ultralytics' DetectionTrainer using every core; nothing else
changes): the YOLOv8s teacher runs at 4.3-4.6 s per batch-16 step on 2 cores instead of 7.3 s.

Outputs, under --out (default benchmarks/zoo/):
    <model>-garbage320/          Ultralytics run folder (weights/last.pt, results.csv): scratch
    <model>-garbage320.pt        copy of the run's last.pt (the last epoch: the val split is our test split, so
                                 picking the best epoch on it would flatter the reference; issue 20)
    <model>-garbage320.json      command, recipe, versions, wall time, final val metrics

Commit each .pt and .json as soon as its run finishes; do not wait for the whole zoo.

Long CPU runs get interrupted: re-running the same command resumes from weights/last.pt. Weights are not
in git: every 10 epochs (--snapshot-every) and, before a session ends, `--snapshot` copy last.pt to
<out>/resume/<name>-last.pt (commit it with the run's results.csv; deleted when the run finishes); on a fresh
checkout the same command restores it and resumes. A run
whose .json exists is finished and is left alone unless --force, which deletes it and starts over.
A resumed run reseeds its data loader, so it is not the same run as an uninterrupted one.

`--structure PRUNED.pt --name NAME` trains the *architecture* of a checkpoint (e.g. a pruned model) from fresh
weights with the same recipe: every conv and BatchNorm re-initialised as Ultralytics initialises a model built
from YAML (PyTorch's defaults; DFL's fixed integral kept; Detect biases by ``bias_init``), seeded by --seed. It
answers "what does this many channels reach when trained as long as the input?", the capacity bound of a
compressed model, and the baseline a pruning result has to beat to be worth its cut:

    python benchmarks/zoo.py --structure pruned.pt --name yolov8n-sens50-scratch-200ep --epochs 200

`--init PT` (with --model and --name) trains on from a checkpoint of the same architecture instead of from the
YAML's random weights, with the same recipe and a fresh schedule: issue 20 asks to "train on" the 60-epoch
YOLOv8s teacher rather than start again (its convergence is then tested on the new run's own curve):

    python benchmarks/zoo.py --model yolov8s --init benchmarks/zoo/yolov8s-garbage320.pt --epochs 140 \
        --name yolov8s-garbage320-60+140ep
"""

from __future__ import annotations

import argparse
import csv
import hashlib
import json
import os
import platform
import shlex
import shutil
import sys
import time
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, NoReturn

from _common import write_atomic, write_snapshot

os.environ.setdefault("YOLO_OFFLINE", "1")  # before Ultralytics is imported: never download

ZOO = {"yolov8n": "yolov8n.yaml", "yolov8s": "yolov8s.yaml", "yolo11n": "yolo11n.yaml", "yolo11s": "yolo11s.yaml",
       "yolov9t": "yolov9t.yaml", "yolov9s": "yolov9s.yaml", "yolo26n": "yolo26n.yaml"}
REPO = Path(__file__).resolve().parents[1]
DEFAULT_DATA = REPO.parent / "shared/datasets/garbage-320/data.yaml"
RECIPE_KEYS = ("epochs", "imgsz", "batch", "seed", "fraction")  # must match to resume a run
SESSIONS = "zoo-sessions.json"  # in the run folder: results.csv row count when each session started
MACHINES = "zoo-machines.json"  # in the run folder: the CPU each session trained on (from 2026-12-01)


def die(msg: str) -> NoReturn:
    print(f"zoo: error: {msg}", file=sys.stderr)
    sys.exit(2)


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--model", help=f"zoo entry: {', '.join(ZOO)}")
    p.add_argument("--structure", type=Path, metavar="PT",
                   help="train this checkpoint's architecture (e.g. a pruned model) from re-initialised weights "
                        "instead of a zoo entry; needs --name")
    p.add_argument("--init", type=Path, metavar="PT",
                   help="start from this checkpoint's weights (same architecture as --model) instead of the YAML's "
                        "random init; needs --name")
    p.add_argument("--list", action="store_true", help="print the zoo entries and exit")
    p.add_argument("--epochs", type=int, default=30)
    p.add_argument("--imgsz", type=int, default=320)
    p.add_argument("--batch", type=int, default=16)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--fraction", type=float, default=1.0, help="fraction of train images (smoke tests)")
    p.add_argument("--data", type=Path, default=DEFAULT_DATA)
    p.add_argument("--out", type=Path, default=REPO / "benchmarks/zoo")
    p.add_argument("--device", default="cpu")
    p.add_argument("--workers", type=int, default=2)
    p.add_argument("--force", action="store_true", help="delete this entry's run and outputs, train again")
    p.add_argument("--name", help="run name (default <model>-garbage320); e.g. a longer, converged run of an entry")
    p.add_argument("--bf16", choices=("off", "on", "auto"), default="off",
                   help="train under CPU bfloat16 autocast (yolo_compress.train.AllCoresTrainer.cpu_bf16; weights and "
                        "optimizer stay fp32); auto: where the CPU has AMX-BF16 / AVX512-BF16 (2.5-3x faster steps "
                        "there, slower elsewhere). Chosen per session: a resumed run may switch; zoo-machines.json "
                        "records which epochs trained how")
    p.add_argument("--snapshot-every", type=int, default=10, metavar="N",
                   help="while training, copy last.pt to <out>/resume/<name>-last.pt every N epochs (0: never), so a "
                        "session that ends before its --snapshot still leaves a recent point to resume from")
    p.add_argument("--snapshot", action="store_true",
                   help="copy the unfinished run's weights/last.pt to <out>/resume/<name>-last.pt (committed, so a "
                        "later session on a fresh checkout resumes from it) and exit")
    return p.parse_args(argv)


def read_results(run: Path) -> list[dict[str, float]]:
    path = run / "results.csv"
    if not path.exists():
        return []
    with path.open(newline="") as f:
        return [{k.strip(): float(v) for k, v in row.items()} for row in csv.DictReader(f)]


def train_seconds(run: Path, rows: list[dict[str, float]]) -> tuple[float, int]:
    """Training wall time summed over sessions (results.csv `time` restarts at 0 on resume)."""
    starts = json.loads((run / SESSIONS).read_text()) if (run / SESSIONS).exists() else [0]
    ends = [*starts[1:], len(rows)]
    return sum(rows[e - 1]["time"] for s, e in zip(starts, ends) if e > s), len(starts)


def use_bf16(args: argparse.Namespace) -> bool:
    from yolo_compress.train import resolve_cpu_bf16

    return resolve_cpu_bf16({"off": "fp32", "on": "bf16"}.get(args.bf16, args.bf16))


def start_session(run: Path, bf16: bool = False) -> None:
    starts = json.loads((run / SESSIONS).read_text()) if (run / SESSIONS).exists() else []
    (run / SESSIONS).write_text(json.dumps([*starts, len(read_results(run))]))
    from yolo_compress.profile import cpu_info  # the CPU changes between sessions: say which trained what

    c = cpu_info()
    machines = json.loads((run / MACHINES).read_text()) if (run / MACHINES).exists() else []
    machines.append({"after_epoch": len(read_results(run)), "started": datetime.now(timezone.utc).isoformat(
        timespec="seconds"), "cpu": f"{c['cpu']}, family {c.get('family', '?')} model {c.get('model', '?')}",
        "usable_cpus": c.get("usable_cpus", c["logical_cpus"]), "precision": "bf16 autocast" if bf16 else "fp32"})
    write_atomic(run / MACHINES, text=json.dumps(machines, indent=1) + "\n")


def snapshot_callback(run: Path, snap: Path, every: int):
    """An Ultralytics ``on_model_save`` callback: every ``every`` epochs, copy the just-saved last.pt (atomically)
    to ``snap``, a path outside the ignored weights/ folder."""

    def cb(trainer) -> None:
        if every > 0 and (trainer.epoch + 1) % every == 0 and (run / "weights/last.pt").exists():
            snap.parent.mkdir(exist_ok=True)
            write_snapshot(run / "weights/last.pt", snap)

    return cb


def reinitialized(structure: Path, dest: Path, seed: int) -> Path:
    """``structure``'s architecture with fresh weights, written to ``dest``: what Ultralytics gives a model built
    from YAML (PyTorch's default init of every conv and BatchNorm, running statistics reset, DFL's fixed integral
    conv kept, Detect biases from ``bias_init``). Raises if any trainable tensor kept a value from ``structure``."""
    import torch
    from ultralytics.nn.modules.block import DFL

    from yolo_compress.models import load_model, save_model

    y = load_model(structure)
    net = y.model
    before = {k: v.detach().clone() for k, v in net.state_dict().items()}
    fixed = {id(m) for d in net.modules() if isinstance(d, DFL) for m in d.modules()}
    torch.manual_seed(seed)
    for m in net.modules():
        if id(m) not in fixed and isinstance(m, (torch.nn.Conv2d, torch.nn.BatchNorm2d, torch.nn.Linear)):
            m.reset_parameters()
    head = net.model[-1]
    if hasattr(head, "bias_init"):
        head.bias_init()
    kept = [k for k, v in net.state_dict().items() if v.dtype.is_floating_point and v.dim() > 1  # weights: random,
            and "dfl" not in k and torch.equal(v, before[k])]  # so never equal to the old ones once re-drawn
    if kept:
        die(f"re-initialising {structure} left {len(kept)} tensors as they were (first: {kept[0]}); this model has "
            f"layers the re-initialisation does not know")
    dest.parent.mkdir(parents=True, exist_ok=True)
    return save_model(y, dest)


def source_of(args: argparse.Namespace) -> dict:
    """What a run starts from besides its recipe: a --structure or --init checkpoint, by content hash."""
    return {k: hashlib.sha256(getattr(args, k).read_bytes()).hexdigest() for k in ("structure", "init")
            if getattr(args, k)}


def train(args: argparse.Namespace, data: Path, run: Path, snap: Path) -> None:
    """Train the entry into `run`, resuming from weights/last.pt when it holds an unfinished run."""
    from ultralytics import YOLO
    from ultralytics.utils.patches import torch_load

    from yolo_compress.train import AllCoresTrainer  # Ultralytics alone trains on cpu_count - 1 threads
    from yolo_compress.train import KeepArchitectureTrainer  # trains the model it is given (--structure)

    trainer = KeepArchitectureTrainer if args.structure or args.init else AllCoresTrainer
    bf16 = use_bf16(args)
    if bf16:
        trainer = type(f"Bf16{trainer.__name__}", (trainer,), {"cpu_bf16": True})
    last = run / "weights/last.pt"
    if not last.exists():  # nothing to resume (a run killed in its first epoch has no checkpoint)
        shutil.rmtree(run, ignore_errors=True)
        run.mkdir(parents=True)
        start_session(run, bf16)
        write_atomic(run / "zoo-source.json", text=json.dumps(source_of(args)) + "\n")
        if args.structure or args.init:
            from yolo_compress.models import load_model

            model = load_model(reinitialized(args.structure, run / "init.pt", args.seed) if args.structure else args.init)
        else:
            model = YOLO(ZOO[args.model])
        model.add_callback("on_model_save", snapshot_callback(run, snap, args.snapshot_every))
        model.train(
            data=str(data), imgsz=args.imgsz, epochs=args.epochs, batch=args.batch, workers=args.workers,
            device=args.device, plots=False, seed=args.seed, deterministic=False, amp=False,
            fraction=args.fraction, project=str(run.parent), name=run.name, exist_ok=True, trainer=trainer,
            **({"pretrained": True} if args.structure or args.init else {}),  # the given weights, not a YAML's
        )  # fmt: skip
        return
    ckpt = torch_load(last, map_location="cpu")
    used = {**ckpt["train_args"], "data": str(Path(ckpt["train_args"]["data"]).resolve())}
    wanted = {**{k: getattr(args, k) for k in RECIPE_KEYS}, "data": str(data)}
    diff = [f"{k}={used[k]} (asked {v})" for k, v in wanted.items() if used[k] != v]
    if diff:
        die(f"{run} was started with {', '.join(diff)}; use the same options, or --force to start over")
    f = run / "zoo-source.json"
    if (json.loads(f.read_text()) if f.exists() else {}) != source_of(args):  # resume the same start only
        die(f"{run} was started from another --structure / --init checkpoint (see {f.name}); give the same one, or "
            f"--force to start over")
    # training loop completed: Ultralytics' strip_optimizer marks a finished checkpoint with epoch -1 (a snapshot
    # without its optimizer state, write_snapshot, keeps its epoch and resumes)
    stripped = ckpt.get("epoch", -1) < 0
    if stripped or ckpt["epoch"] + 1 >= args.epochs:
        if not stripped:  # killed during Ultralytics' final_eval: strip as it would
            from ultralytics.utils.torch_utils import strip_optimizer

            strip_optimizer(last)
            strip_optimizer(run / "weights/best.pt")
        return
    print(f"zoo: resuming {run.name} from epoch {ckpt['epoch'] + 2}/{args.epochs}")
    start_session(run, bf16)
    model = YOLO(str(last))
    model.add_callback("on_model_save", snapshot_callback(run, snap, args.snapshot_every))
    model.train(resume=True, data=str(data), device=args.device, workers=args.workers, trainer=trainer)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    if args.list:
        for name, cfg in ZOO.items():
            print(f"{name:8} {cfg}")
        return 0
    if args.structure:
        if args.model or not args.name:
            die("--structure trains a checkpoint's architecture: give it with --name, without --model")
        if not args.structure.is_file():
            die(f"--structure {args.structure} not found; give a pruned checkpoint (.pt)")
        args.structure = args.structure.resolve()
    elif args.model not in ZOO:
        die(f"unknown --model {args.model!r}; choose from {', '.join(ZOO)}" if args.model else "--model is required")
    if args.init:
        if args.structure or not args.name:
            die("--init trains on from a checkpoint: give it with --model and --name, without --structure")
        from yolo_compress.errors import YoloCompressError
        from yolo_compress.models import load_model

        try:
            net = load_model(args.init).model
        except YoloCompressError as e:
            die(f"--init {args.init}: {e}")
        got, n = Path(net.yaml.get("yaml_file", "?")).name, sum(p.numel() for p in net.parameters())
        ref = sum(p.numel() for p in load_model(ZOO[args.model], nc=net.model[-1].nc).model.parameters())
        if got != ZOO[args.model] or n != ref:  # the same YAML and every channel of it (not a pruned one)
            die(f"--init {args.init} is a {got} model with {n:,} parameters, not {ZOO[args.model]} ({ref:,}); give an "
                f"unpruned checkpoint of --model {args.model}")
        args.init = args.init.resolve()
    data = args.data.resolve()
    if not data.is_file():
        die(f"data YAML not found: {data}")
    out = args.out.resolve()  # absolute: Ultralytics puts a relative project under its runs_dir
    name = args.name or f"{args.model}-garbage320"
    run, weights, report = out / name, out / f"{name}.pt", out / f"{name}.json"
    if args.force:
        shutil.rmtree(run, ignore_errors=True)
        weights.unlink(missing_ok=True)
        report.unlink(missing_ok=True)
    elif report.exists():
        print(f"zoo: {name} is finished ({report}); nothing to do. Use --force to train it again.")
        return 0

    snap = out / "resume" / f"{name}-last.pt"
    if args.snapshot:
        if not (run / "weights/last.pt").exists():
            die(f"{run} has no weights/last.pt to snapshot")
        snap.parent.mkdir(exist_ok=True)
        how = write_snapshot(run / "weights/last.pt", snap)
        print(f"zoo: snapshot {snap} (epoch {len(read_results(run))} of {args.epochs}, {how}); commit it with "
              f"results.csv")
        return 0
    if not (run / "weights/last.pt").exists() and snap.exists():  # a fresh checkout: weights are not in git
        (run / "weights").mkdir(parents=True, exist_ok=True)
        write_atomic(run / "weights/last.pt", src=snap)
        print(f"zoo: restored {run}/weights/last.pt from the committed snapshot {snap}")
    t0 = time.time()
    train(args, data, run, snap)
    last, rows = run / "weights/last.pt", read_results(run)
    if not last.exists() or max((r["epoch"] for r in rows), default=0) < args.epochs:
        die(f"{run} did not finish {args.epochs} epochs (no last.pt or short results.csv); use --force")
    write_atomic(weights, src=last)
    snap.unlink(missing_ok=True)  # the finished .pt replaces the resume point

    import torch
    import ultralytics
    from ultralytics import YOLO

    m = YOLO(str(weights)).val(
        data=str(data), imgsz=args.imgsz, batch=1, plots=False, device="cpu", project=str(run), name="val",
        exist_ok=True,
    )  # fmt: skip
    wall, sessions = train_seconds(run, rows)
    record: dict[str, Any] = {
        "model": args.model or "structure",
        "cfg": ZOO[args.model] if args.model else None,
        **({"structure": str(args.structure), "structure_sha256": hashlib.sha256(args.structure.read_bytes()).hexdigest(),
            "init": "re-initialised (benchmarks/zoo.py reinitialized), seed " + str(args.seed)} if args.structure else {}),
        **({"init": str(args.init), "init_sha256": hashlib.sha256(args.init.read_bytes()).hexdigest()} if args.init else {}),
        "command": shlex.join(["python", *sys.argv]),
        "data": str(data),
        **{k: getattr(args, k) for k in (*RECIPE_KEYS, "workers", "device")},
        "deterministic": False,
        "amp": False,
        "ultralytics": ultralytics.__version__,
        "torch": torch.__version__,
        "python": platform.python_version(),
        "cpus": os.cpu_count(),
        "train_wall_s": round(wall, 1),
        "train_sessions": sessions,
        "machines": json.loads((run / MACHINES).read_text()) if (run / MACHINES).exists() else None,
        "this_invocation_s": round(time.time() - t0, 1),
        "val": {"precision": m.box.mp, "recall": m.box.mr, "mAP50": m.box.map50, "mAP50-95": m.box.map},
        "weights": weights.name,
        "weights_epoch": "last",
        "weights_sha256": hashlib.sha256(weights.read_bytes()).hexdigest(),
        "finished": datetime.now(timezone.utc).isoformat(timespec="seconds"),
    }
    write_atomic(report, text=json.dumps(record, indent=2) + "\n")
    print(f"zoo: {name}: mAP50 {m.box.map50:.3f}, mAP50-95 {m.box.map:.3f}; wrote {weights} and {report}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
