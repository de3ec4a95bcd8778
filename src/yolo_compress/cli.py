"""``yolo-compress``: a thin CLI over :mod:`yolo_compress.api`. Parses, calls, prints.

Every error yolo-compress raises on purpose is printed as one line (``error: ...``) with a non-zero exit
code; ``--debug`` shows the traceback instead.
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

from .config import SENSITIVITY_SPAN

_DEFAULT_LOSSES = "cls_kl=1,ld=1,cwd=10"  # BENCHMARKS.md 6a/6b (DistillConfig's own default)


class _Parser(argparse.ArgumentParser):
    def error(self, message: str):  # one line, not argparse's usage block
        self.exit(2, f"error: {message} (see '{self.prog} --help')\n")


IMGSZ_HELP = "image size (default: the checkpoint's training imgsz, as Ultralytics uses it; else 640)"
_TRISTATE = {"auto": None, "on": True, "off": False}  # --reduce-range / --box-float -> QuantConfig (None: auto)
_NMS_FREE_HELP = ("YOLOv10 / YOLO26: export the end-to-end (one-to-one) head, NMS-free; default: the one-to-many "
                  "head for external NMS, as Ultralytics exports it")


def _add_common(p: argparse.ArgumentParser) -> None:
    p.add_argument("--debug", action="store_true", help="show tracebacks and library logs")
    p.add_argument("--trust-checkpoint", action="store_true", default=argparse.SUPPRESS,
                   help="unpickle checkpoints fully (custom module classes); by default only Ultralytics' and "
                        "yolo-compress's model classes load: use only for files whose origin you trust")


def _add_training(p: argparse.ArgumentParser) -> None:
    """The training options finetune and distill share (FinetuneConfig's fields)."""
    p.add_argument("--epochs", type=int, default=10)
    p.add_argument("--imgsz", type=int, help=IMGSZ_HELP)
    p.add_argument("--batch", type=int, default=16)
    p.add_argument("--lr0", type=float, default=None, help="initial learning rate (default: FinetuneConfig's)")
    p.add_argument("--bn-freeze-epochs", type=int, default=None,
                   help="keep BatchNorm running statistics frozen for the first N epochs (default: FinetuneConfig's)")
    p.add_argument("--mosaic", type=float, default=None,
                   help="mosaic augmentation probability (default: FinetuneConfig's; 0 = off)")
    p.add_argument("--ema-epochs", type=float, default=None,
                   help="average the weights (EMA) over about this many last epochs; default 0 = Ultralytics' EMA, "
                        "whose fixed ramp averages almost nothing on a small dataset")
    p.add_argument("--recipe", default="auto",
                   help="auto (default) | recovery | gentle: the learning rate, BN and mosaic settings. recovery "
                        "(lr0 2e-3) re-trains a pruned or re-shaped model; gentle (lr0 5e-5, BN frozen 1 epoch, no "
                        "mosaic) keeps an intact trained one; auto picks by comparing the model with its own YAML. "
                        "--lr0 / --bn-freeze-epochs / --mosaic override it")
    p.add_argument("--precision", default="fp32",
                   help="CPU training precision: fp32 (default), bf16 (forward + loss under bfloat16 autocast, weights "
                        "fp32; ~2-3x faster steps measured on an AMX Xeon, slower where bf16 is emulated), auto "
                        "(bf16 only on CPUs with AMX-BF16 / AVX512-BF16); ignored on CUDA; a resumed run keeps its own")
    p.add_argument("--device", default="cpu", help="cpu, 0, or 0,1,... for Ultralytics' multi-GPU DDP")
    p.add_argument("--workers", type=int, default=2)
    p.add_argument("--seed", type=int, default=0)


DESCRIPTION = """Make a trained Ultralytics YOLO detector small and fast for edge deployment: structured pruning,
distillation, INT8 quantization, re-parameterisation and export, each measured the same way (mAP50-95, latency,
size) and combined in one recipe."""
EPILOG = """start here:
  yolo-compress demo                                the main job on the built-in model and images (minutes)
  yolo-compress info MODEL.pt --layers              params, GFLOPs, and which blocks can be pruned
  yolo-compress run edge-cpu --model M.pt --data D.yaml --check
                                                    validate a recipe on this machine before any work
  yolo-compress run edge-cpu --model M.pt --data D.yaml --out runs/x
                                                    prune + fine-tune + INT8 + bench + report (resumable: --resume)
  yolo-compress COMMAND --help                      the options of one command"""


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(prog="yolo-compress", description=DESCRIPTION, epilog=EPILOG,
                     formatter_class=argparse.RawDescriptionHelpFormatter)
    _add_common(parser)
    sub = parser.add_subparsers(dest="command", parser_class=_Parser, metavar="COMMAND")

    p = sub.add_parser("export", help="export a model and verify parity with PyTorch")
    _add_common(p)
    p.add_argument("model", help="Ultralytics .pt checkpoint or model YAML")
    p.add_argument("--format", default="onnx",
                   help="onnx | openvino | torchscript | coreml | tflite | engine (default onnx); coreml and "
                        "tflite need their converter, engine TensorRT and a GPU: checked before any work")
    p.add_argument("--imgsz", type=int, help=IMGSZ_HELP)
    p.add_argument("--half", action="store_true", help="FP16 weights")
    p.add_argument("--dynamic", action="store_true", help="dynamic batch and image size")
    p.add_argument("--batch", type=int, default=1, help="static batch size of the export")
    p.add_argument("--out", help="output file/folder (default: beside the model, Ultralytics' name)")
    p.add_argument("--data", help="data YAML whose val images feed the parity check (default: built-in images)")
    p.add_argument("--no-verify", action="store_true", help="skip the parity check")
    p.add_argument("--nms-free", action="store_true", help=_NMS_FREE_HELP)
    p.add_argument("--threads", type=int)

    p = sub.add_parser("quantize", help="INT8 / FP16 artifact (ONNX Runtime or OpenVINO), accuracy-aware")
    _add_common(p)
    p.add_argument("model", help="Ultralytics .pt checkpoint")
    p.add_argument("--backend", default="openvino", help="onnxruntime | openvino | litert (default openvino)")
    p.add_argument("--mode", default="ptq", help="ptq (static INT8) | qat | dynamic | fp16 (default ptq)")
    p.add_argument("--data", help="data YAML: calibration and control images come from its train split")
    p.add_argument("--imgsz", type=int, help=IMGSZ_HELP)
    p.add_argument("--calibration", default="auto",
                   help="minmax | entropy | percentile | auto (default; = minmax, the best measured on both backends)")
    p.add_argument("--calib-images", type=int, default=300)
    p.add_argument("--max-drop", type=float,
                   help="mAP50-95 points allowed (e.g. 0.5: 0.400 -> 0.395); keeps sensitive layers in float")
    p.add_argument("--control-images", type=int, default=200, help="held-out train images for --max-drop")
    p.add_argument("--control-split", default="train",
                   help="--max-drop: the data YAML split its control images come from (default: held-out train "
                        "images, which understate INT8's cost); a split the model never trained on and you do "
                        "not report on, e.g. val when you report on test")
    p.add_argument("--preset", default="mixed", help="openvino: mixed | performance")
    p.add_argument("--bias-correction", choices=["fast", "full"], default="fast",
                   help="openvino: NNCF's bias correction after calibration: fast (default, one pass) or full "
                        "(layer by layer on the quantized predecessors; slower)")
    p.add_argument("--reduce-range", choices=["auto", "on", "off"], default="auto",
                   help="onnxruntime: 7-bit weights (auto: on for CPUs without VNNI)")
    p.add_argument("--ignore", default="", help="comma-separated layer groups kept in float, e.g. model.22.cv3.0")
    p.add_argument("--box-float", choices=["auto", "on", "off"], default="auto",
                   help="static INT8: keep the head's box-regression branch in float (auto: on OpenVINO for heads "
                        "without DFL, such as YOLO26, whose INT8 loss it holds there)")
    p.add_argument("--qat-epochs", type=int, default=1, help="qat: fake-quant fine-tuning epochs")
    p.add_argument("--qat-lr0", type=float, default=1e-5, help="qat: initial learning rate")
    p.add_argument("--nms-free", action="store_true", help=_NMS_FREE_HELP)
    p.add_argument("--out", help="output file/folder (default: beside the model)")
    p.add_argument("--no-verify", action="store_true", help="skip the parity check")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--threads", type=int)

    p = sub.add_parser("distill", help="train a student with a frozen teacher (our KD losses, Ultralytics' trainer)")
    _add_common(p)
    p.add_argument("student", help="student .pt (e.g. a pruned model) or model YAML")
    p.add_argument("--teacher", required=True, help="trained teacher .pt (same classes, same imgsz)")
    p.add_argument("--data", required=True, help="data YAML (train + val)")
    p.add_argument("--loss", default=_DEFAULT_LOSSES,
                   help="comma-separated name=weight; names: cls_kl cls_softmax ld box mse cwd mgd attn_mse")
    p.add_argument("--temperature", type=float, default=2.0)
    p.add_argument("--temperature-end", type=float, help="anneal the head temperature to this value")
    p.add_argument("--schedule", default="constant", help="constant | progressive (features -> +head -> labels)")
    p.add_argument("--kd-warmup", type=float, default=1.0, help="epochs of linear ramp-up of the KD weight")
    p.add_argument("--kd-branches", default="one2many", choices=("one2many", "both"),
                   help="end-to-end heads (YOLOv10, YOLO26): distil the one-to-many branch (exported with NMS) or both "
                        "(also the one-to-one branch an --nms-free export runs)")
    _add_training(p)
    p.add_argument("--out", default="runs/distill", help="run folder (Ultralytics' weights/best.pt inside)")
    p.add_argument("--resume", action="store_true", help="continue an interrupted run in --out")

    p = sub.add_parser("run", help="run a recipe (stages in order, one folder each, resumable) and write the report")
    _add_common(p)
    p.add_argument("recipe", help="recipe YAML, or a built-in name: edge-cpu, edge-cpu-budget, int8-only, prune-only, yolov9-seed")
    p.add_argument("--out", help="run folder (default runs/<name>-<time>)")
    p.add_argument("--resume", action="store_true", help="continue the run in --out: finished stages whose inputs and "
                   "config are unchanged are kept, the others redone; the report is always re-measured on this machine (to only "
                   "re-read a finished run: yolo-compress report RUN_DIR)")
    p.add_argument("--check", action="store_true", help="only validate the recipe (types, capabilities on this machine, "
                   "layer names, model / data / teacher files): exit 0, or non-zero with one line; no work")
    p.add_argument("--model", help="override the recipe's model")
    p.add_argument("--data", help="override the recipe's data YAML")
    p.add_argument("--teacher", help="override the recipe's teacher ('input' or a .pt)")
    p.add_argument("--imgsz", type=int, help="override the recipe's imgsz")
    p.add_argument("--epochs", type=int, help="override the epochs of every training stage (finetune, distill), e.g. "
                   "'--epochs 20' for a third of edge-cpu's 60 (it measured 2-3 points lower, BENCHMARKS.md section 10)")
    p.add_argument("--threads", type=int)

    p = sub.add_parser("report", help="rebuild report.md / report.html of a run folder from its measurements")
    _add_common(p)
    p.add_argument("run_dir")

    p = sub.add_parser("reparam", help="fold BatchNorm and fuse RepConv branches, with an exactness check")
    _add_common(p)
    p.add_argument("model", help="Ultralytics .pt checkpoint")
    p.add_argument("--imgsz", type=int, help=IMGSZ_HELP)
    p.add_argument("--tolerance", type=float, default=1e-4, help="max |diff| allowed (float64 check)")
    p.add_argument("--out", help="output .pt (default <model>-fused.pt)")

    p = sub.add_parser("surgery", help="replace k x k convolutions: depthwise-separable, factorized or dynamic")
    _add_common(p)
    p.add_argument("model", help="Ultralytics .pt checkpoint")
    p.add_argument("--kind", required=True, help="dwsep | factorized | dynamic")
    p.add_argument("--layers", default="", help="comma-separated Conv block names or globs (default: all k x k "
                                                "outside the first layer and the Detect head)")
    p.add_argument("--imgsz", type=int, help=IMGSZ_HELP)
    p.add_argument("--out", required=True, help="output .pt (then recover it with finetune or distill)")

    p = sub.add_parser("parity", help="check an exported artifact against the checkpoint it came from")
    _add_common(p)
    p.add_argument("artifact")
    p.add_argument("--reference", required=True, help="the .pt the artifact was exported from")
    p.add_argument("--imgsz", type=int)
    p.add_argument("--data", help="data YAML whose val images are used (default: built-in images)")
    p.add_argument("--runtime", default="auto")
    p.add_argument("--images", type=int, default=8)
    p.add_argument("--threads", type=int)

    p = sub.add_parser("bench", help="measure artifacts: size, params, GFLOPs, mAP, latency, memory")
    _add_common(p)
    p.add_argument("artifacts", nargs="+", help=".pt, .onnx, .torchscript files or OpenVINO folders")
    p.add_argument("--data", help="data YAML for mAP (omit to time only)")
    p.add_argument("--imgsz", type=int)
    p.add_argument("--runtime", default="auto", help="auto | torch | onnxruntime | openvino | litert")
    p.add_argument("--threads", type=int)
    p.add_argument("--batch", type=int, default=8, help="batch size for the throughput column")
    p.add_argument("--runs", type=int, default=50, help="timed runs at batch 1 (>= 50; 0 skips timing)")
    p.add_argument("--warmup", type=int, default=10)
    p.add_argument("--rounds", type=int, default=1, help="timing rounds (runs x rounds per artifact); 3+ on noisy machines")
    p.add_argument("--interleave", type=int, default=10,
                   help="blocks of this many runs cycle over the artifacts' live workers (default 10); 0 times "
                        "one artifact at a time")
    p.add_argument("--limit", type=int, help="evaluate on the first N val images only")
    p.add_argument("--crosscheck", action="store_true",
                   help="also run Ultralytics' own val() on each artifact; fail if mAP50 or mAP50-95 differ by > 0.002")
    p.add_argument("--names", help="comma-separated row names")
    p.add_argument("--out", help="folder for bench.json and bench.md (default runs/bench-<time>)")

    p = sub.add_parser("prune", help="structured channel pruning (Torch-Pruning DepGraph), saved as a .pt")
    _add_common(p)
    p.add_argument("model", help="Ultralytics .pt checkpoint or model YAML")
    g = p.add_mutually_exclusive_group()
    g.add_argument("--ratio", type=float, help="share of channels removed per prunable layer, in (0, 1)")
    g.add_argument("--target-flops", type=float, help="share of GFLOPs kept, in (0, 1): 0.5 halves them")
    g.add_argument("--target-params", type=float, help="share of parameters kept, in (0, 1)")
    p.add_argument("--criterion", default="l2", help="l1 | l2 | bn | lamp | taylor | hessian | random (default l2)")
    p.add_argument("--global", dest="global_pruning", action="store_true", help="global instead of uniform allocation")
    p.add_argument("--allocation", default="flops",
                   help="flops (default: uniform, or --global by importance) | latency: global by importance per ms "
                        "saved, from an ONNX Runtime per-conv profile of the input (opt-in; BENCHMARKS.md 9) | "
                        "sensitivity: a ratio per block, lower where a probe cut raises the training loss most "
                        "(needs --data; BENCHMARKS.md 10)")
    p.add_argument("--latency-table", help="--allocation latency: reuse a cost table (<out>.latency.json of a run)")
    p.add_argument("--sensitivity-span", type=float, default=SENSITIVITY_SPAN, metavar="S",
                   help="--allocation sensitivity: the costliest block is cut at 1/S^2 of the cheapest block's "
                        f"ratio (default {SENSITIVITY_SPAN:g}; 1 cuts every block alike)")
    p.add_argument("--round-to", type=int, default=8, help="keep channel counts multiples of N (default 8)")
    p.add_argument("--imgsz", type=int, help="image size for GFLOPs and tracing (default: the "
                   "checkpoint's training imgsz, else 640)")
    p.add_argument("--ignore", default="", help="comma-separated layer names to keep whole")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--data", help="data YAML: training images for taylor and --allocation sensitivity; "
                                  "train/val for --steps")
    p.add_argument("--soft-epochs", type=int, default=0,
                   help="soft pruning: plan the cut, let its channels fade to zero over N epochs of training on "
                        "--data while the whole network trains, then cut them (no output changes; resumable in "
                        "<out>.soft/). 0 (default): cut at once")
    p.add_argument("--soft-fade", type=float, default=1.0,
                   help="share of --soft-epochs over which the channels fade (default 1); for the rest they are held "
                        "at zero, so the pruned network trains inside the full one on one schedule (no second warm-up)")
    p.add_argument("--steps", type=int, default=1, help="iterative: N x (prune a little, fine-tune) (needs --data)")
    p.add_argument("--epochs-per-step", type=int, default=2)
    p.add_argument("--max-drop", type=float,
                   help="iterative: stop when mAP50-95 falls more than this many points (e.g. 2: 0.40 -> 0.38)")
    p.add_argument("--teacher", help="iterative: recover each step by distillation from this trained .pt, or 'input' "
                                     "(the unpruned model: self-distillation) instead of a plain fine-tune")
    p.add_argument("--loss", default=_DEFAULT_LOSSES, help=f"iterative with --teacher: KD losses (default {_DEFAULT_LOSSES})")
    p.add_argument("--workdir", default="runs/prune", help="iterative: folder for the steps (resumable)")
    p.add_argument("--out", help="output .pt (default <model>-pruned.pt beside the input)")

    p = sub.add_parser("finetune", help="fine-tune a (pruned) model keeping its architecture (Ultralytics trainer)")
    _add_common(p)
    p.add_argument("model")
    p.add_argument("--data", required=True, help="data YAML with train: and val:")
    _add_training(p)
    p.add_argument("--out", default="runs/finetune", help="run folder (weights/best.pt, last.pt)")
    p.add_argument("--resume", action="store_true", help="continue an interrupted run in --out")
    p.add_argument("--sparsity", type=float, default=0.0,
                   help="sparsity training strength (e.g. 1e-4) before pruning; see --sparsity-mode")
    p.add_argument("--sparsity-mode", default="bn",
                   help="bn: BN-L1 (then prune --criterion bn); group: DepGraph group-norm regularisation "
                        "(Torch-Pruning GroupNormPruner); growing: growing regularisation (GrowingRegPruner); "
                        "after group / growing, prune with --criterion l2")

    p = sub.add_parser("predict", help="draw an artifact's detections on images, folders or videos")
    _add_common(p)
    p.add_argument("artifact", help=".pt, .onnx, .torchscript, .tflite file or OpenVINO folder")
    p.add_argument("source", help="image, folder of images/videos, or video file")
    p.add_argument("--conf", type=float, default=0.25, help="confidence threshold")
    p.add_argument("--iou", type=float, default=0.7, help="NMS IoU threshold")
    p.add_argument("--imgsz", type=int, help="input size (default: the artifact's)")
    p.add_argument("--runtime", default="auto", help="auto | torch | onnxruntime | openvino | litert")
    p.add_argument("--threads", type=int)
    p.add_argument("--no-save", action="store_true", help="only write predictions.json")
    p.add_argument("--out", help="output folder (default runs/predict-<time>)")

    p = sub.add_parser("info", help="params and GFLOPs of a model")
    _add_common(p)
    p.add_argument("model")
    p.add_argument("--imgsz", type=int, help="image size of the GFLOPs count (default: the checkpoint's training "
                   "imgsz, else 640)")
    p.add_argument("--layers", action="store_true", help="list layer names (for prune --ignore) and widths")

    p = sub.add_parser("demo", help="the main job on the built-in model and images: INT8 for ONNX Runtime and "
                                    "OpenVINO, bench, report with targets; then names the full edge-cpu command")
    _add_common(p)
    p.add_argument("--out", default="runs", help="parent folder of the run folder")
    p.add_argument("--threads", type=int, default=2)

    p = sub.add_parser("profile", help="time pruned candidates x runtime x precision on this device: a device profile "
                                       "that latency budgets are chosen from")
    _add_common(p)
    p.add_argument("model", nargs="?", help="Ultralytics .pt checkpoint or model YAML (omit with --time-only)")
    p.add_argument("--time-only", metavar="DIR", help="only time the candidates in DIR (built elsewhere, with its "
                   "manifest.json); needs only the runtimes, not PyTorch")
    p.add_argument("--build-only", action="store_true", help="only build the candidates into --workdir (to time them "
                   "on another device with --time-only)")
    p.add_argument("--imgsz", type=int, help=IMGSZ_HELP)
    p.add_argument("--levels", default="1.0,0.7,0.6,0.5,0.4,0.3", help="shares of GFLOPs kept (1.0 always included)")
    p.add_argument("--runtimes", help="onnxruntime,openvino,litert (default onnxruntime,openvino; --time-only: all "
                                      "in the folder that are installed)")
    p.add_argument("--precisions", default="fp32,int8", help="fp32,fp16,int8")
    p.add_argument("--threads", type=int)
    p.add_argument("--runs", type=int, default=30, help="timed runs per round per candidate")
    p.add_argument("--rounds", type=int, default=3, help="rounds (the spread, and the slow end of ratios)")
    p.add_argument("--repeats", type=int, default=3, help="separate interleaved timing runs; each candidate keeps "
                   "its median run by slow end (one run on a shared machine can move the choice by levels)")
    p.add_argument("--calib-images", type=int, default=4, help="synthetic INT8 calibration images (latency only)")
    p.add_argument("--workdir", help="candidates folder (default <out stem>-candidates beside --out)")
    p.add_argument("--max-latency-ms", type=float, help="also print the choice for this budget and plot it")
    p.add_argument("--max-latency-ratio", type=float, help="also print the choice for this budget (of the input's "
                   "ONNX Runtime FP32) and plot it")
    p.add_argument("--choose", metavar="PROFILE", help="no building or timing: apply the budget to an existing device "
                   "profile, print the choice, write its plot (and --out DECISION.json if given)")
    p.add_argument("--out", help="device profile JSON (required unless --build-only)")
    return parser


def _images(data: str | None):
    if not data:
        return None
    from .data import load_data

    return [s.image for s in load_data(data).samples("val", 16)]


def _run_overrides(args) -> dict:
    """``run``'s command-line values that replace the recipe's (one list for ``--check`` and the run)."""
    return {k: getattr(args, k) for k in ("model", "data", "teacher", "imgsz", "epochs")}


_TRAINED_IMGSZ = ("export", "quantize", "reparam", "surgery", "prune", "profile", "finetune", "distill", "info")


def _default_imgsz(args, console) -> bool:
    """``--imgsz`` not given to a command that takes a checkpoint: its training imgsz (``train_args``, read without
    unpickling any code), as Ultralytics' own export and train use it, else 640. True when it came from the
    checkpoint (said on one line: a 320-px model exported at 640 would run at 4x the cost it was trained for)."""
    if args.command not in _TRAINED_IMGSZ or args.imgsz is not None:
        return False
    src = getattr(args, "student", None) if args.command == "distill" else getattr(args, "model", None)
    trained = None
    if src and str(src).endswith(".pt") and Path(src).is_file():
        from .io import checkpoint_state

        trained = (checkpoint_state(src) or {}).get("imgsz")
    args.imgsz = trained or 640
    if trained and args.command != "info":
        console.print(f"imgsz {trained}: the checkpoint's training size (--imgsz to change)", highlight=False)
    return bool(trained)


def _run(args, console) -> int:
    from_ckpt = _default_imgsz(args, console)
    if args.command == "profile":  # before the api import: --time-only must not load PyTorch
        return _profile(args, console)
    from . import api

    if args.command == "export":
        cfg = api.ExportConfig(format=args.format, imgsz=args.imgsz, half=args.half, dynamic=args.dynamic,
                               batch=args.batch, verify=not args.no_verify, nms_free=args.nms_free)
        from .progress import status

        with status(f"export {Path(args.model).name} to {args.format}", console):
            res = api.export(args.model, cfg, out=args.out, images=_images(args.data), threads=args.threads)
        if res.parity:
            console.print(res.parity.summary())
        if res.note:
            console.print(res.note, highlight=False)
        console.print(f"saved {res.artifact.path} ({res.artifact.format}, {res.artifact.precision}, "
                      f"{res.artifact.size_mb:.2f} MB)")
        return 0
    if args.command == "parity":
        from .export.parity import raise_if_failed

        rep = api.verify(args.artifact, args.reference, args.imgsz, api.ParityConfig(images=args.images),
                         _images(args.data), args.runtime, args.threads)
        raise_if_failed(rep)
        console.print(rep.summary())
        return 0
    if args.command == "bench":
        from .io import new_run_dir

        cfg = api.BenchConfig(data=args.data, imgsz=args.imgsz, runtime=args.runtime, threads=args.threads,
                              batch=args.batch, runs=args.runs, warmup=args.warmup, limit=args.limit,
                              rounds=args.rounds, interleave=args.interleave)
        names = args.names.split(",") if args.names else None
        if names and len(names) != len(args.artifacts):
            from .errors import ConfigError

            raise ConfigError(f"--names has {len(names)} names for {len(args.artifacts)} artifacts; give one each")
        out = Path(args.out) if args.out else None
        report = api.bench(args.artifacts, cfg, names=names, out_dir=None, console=console,
                           crosscheck_val=args.crosscheck)
        out = out or new_run_dir(Path("runs"), "bench")
        report.write(out)
        report.print(console)
        console.print(f"written: {out / 'bench.md'}, {out / 'bench.json'}")
        return 0
    if args.command == "predict":
        from .predict import predict

        res = predict(args.artifact, args.source, args.out, conf=args.conf, iou=args.iou, imgsz=args.imgsz,
                      runtime=args.runtime, threads=args.threads, save=not args.no_save, console=console)
        console.print(res.summary(), highlight=False)
        return 0
    if args.command == "quantize":
        cfg = api.QuantConfig(backend=args.backend, mode=args.mode, data=args.data, imgsz=args.imgsz,
                              calibration=args.calibration, calib_images=args.calib_images, max_drop=args.max_drop,
                              control_images=args.control_images, control_split=args.control_split,
                              preset=args.preset, bias_correction=args.bias_correction,
                              reduce_range=_TRISTATE[args.reduce_range],
                              ignore=tuple(n for n in args.ignore.split(",") if n), seed=args.seed,
                              qat_epochs=args.qat_epochs, qat_lr0=args.qat_lr0, verify=not args.no_verify,
                              nms_free=args.nms_free,
                              box_float=_TRISTATE[args.box_float])
        res = api.quantize(args.model, cfg, args.out, threads=args.threads, console=console)
        console.print(res.summary(), highlight=False)
        return 0
    if args.command == "distill":
        from .errors import ConfigError
        from .train import FinetuneConfig

        cfg = api.DistillConfig(losses=_losses(args.loss), temperature=args.temperature, temperature_end=args.temperature_end,
                                schedule=args.schedule, warmup_epochs=args.kd_warmup, head_branches=args.kd_branches)
        train = FinetuneConfig(epochs=args.epochs, imgsz=args.imgsz, batch=args.batch, device=args.device,
                               workers=args.workers, precision=args.precision, seed=args.seed,
                               **_recipe(args, args.student, console))
        _say_precision(train, console)
        best = api.distill(args.student, args.teacher, args.data, cfg, train, args.out, resume=args.resume)
        console.print(f"distilled: {best} (the student only: YOLO('{best}') loads it)")
        return 0
    if args.command == "run" and args.check:
        from .pipeline.recipe import check_recipe

        r = check_recipe(args.recipe, overrides=_run_overrides(args))
        console.print(f"recipe '{r.path}': ok (imgsz {r.imgsz}, {len(r.stages)} stages: {', '.join(s.label for s in r.stages)})")
        return 0
    if args.command == "run":
        from .pipeline.runner import run_recipe

        run = run_recipe(args.recipe, args.out, resume=args.resume, console=console, threads=args.threads,
                         overrides=_run_overrides(args))
        console.print(f"report: {run / 'report.md'} and {run / 'report.html'}")
        console.print((run / "report.md").read_text(), highlight=False, markup=False)
        return 0
    if args.command == "report":
        from .pipeline.report import write_report

        run = Path(args.run_dir)
        if not (run / "bench.json").exists() or not (run / "rows.json").exists():
            from .errors import InputError

            raise InputError(f"'{run}' has no measurements (bench.json, rows.json); pass a finished run folder")
        md, page = write_report(run)
        console.print(f"report: {md} and {page}")
        return 0
    if args.command == "reparam":
        from .config import _check_imgsz
        from .reparam import reparam_checkpoint

        _check_imgsz(args.imgsz)
        res, dest = reparam_checkpoint(args.model, args.out, args.imgsz, args.tolerance)
        console.print(res.summary(), highlight=False)
        console.print(f"saved {dest}")
        return 0
    if args.command == "surgery":
        from .config import _check_imgsz
        from .surgery import surgery_checkpoint

        _check_imgsz(args.imgsz)
        res, dest = surgery_checkpoint(args.model, args.out, args.kind,
                                       tuple(x for x in args.layers.split(",") if x), args.imgsz)
        console.print(res.summary(), highlight=False)
        console.print(f"saved {dest}; recover it with 'yolo-compress distill {dest} --teacher {args.model} ...'")
        return 0
    if args.command == "prune":
        cfg = api.PruneConfig(ratio=args.ratio, target_flops=args.target_flops, target_params=args.target_params,
                              criterion=args.criterion, allocation=args.allocation, latency_table=args.latency_table,
                              sensitivity_span=args.sensitivity_span, global_pruning=args.global_pruning,
                              round_to=args.round_to, imgsz=args.imgsz,
                              ignore=tuple(n for n in args.ignore.split(",") if n), seed=args.seed, data=args.data,
                              soft_epochs=args.soft_epochs, soft_fade=args.soft_fade)
        from .prune.schedule import check_max_drop

        check_max_drop(args.max_drop)
        from .errors import ConfigError

        if args.max_drop is not None and args.steps <= 1:
            raise ConfigError("--max-drop bounds the iterative schedule; add --steps N (N > 1) and --data")
        if args.teacher and args.steps <= 1:
            raise ConfigError("--teacher recovers each step of the iterative schedule; add --steps N (N > 1) and "
                              "--data, or prune once and run 'yolo-compress distill PRUNED --teacher ...'")
        if args.steps > 1:
            return _prune_steps(args, cfg, console)
        if args.soft_epochs and args.steps > 1:
            raise ConfigError("--soft-epochs and --steps are two schedules; give one of them")
        result, dest = api.prune_checkpoint(args.model, cfg, args.out, console=console)
        console.print(result.summary())
        console.print(f"saved {dest} (an Ultralytics checkpoint: YOLO('{dest}') loads it)")
        return 0
    if args.command == "finetune":
        from .train import FinetuneConfig, finetune

        cfg = FinetuneConfig(epochs=args.epochs, imgsz=args.imgsz, batch=args.batch, device=args.device,
                             workers=args.workers, precision=args.precision, seed=args.seed, sparsity=args.sparsity,
                             sparsity_mode=args.sparsity_mode, **_recipe(args, args.model, console))
        _say_precision(cfg, console)
        best = finetune(args.model, args.data, cfg, args.out, resume=args.resume)
        console.print(f"fine-tuned: {best}")
        return 0
    if args.command == "info":
        from .config import _check_imgsz

        _check_imgsz(args.imgsz)
        model = api.load_model(args.model)
        info = api.model_info(model, args.imgsz)
        if args.layers:
            import torch

            whole = api.kept_whole(model.model)  # layer -> why pruning keeps its output channels
            for name, m in model.model.named_modules():
                if isinstance(m, torch.nn.Conv2d):
                    why = next((w for k, w in whole.items() if name == k or name.startswith(k + ".")), "")
                    console.print(f"{name.removesuffix('.conv')}  {m.in_channels} -> {m.out_channels}  k{m.kernel_size[0]}"
                                  f"{'  groups ' + str(m.groups) if m.groups > 1 else ''}"
                                  f"{'  [kept whole: ' + why + ']' if why else ''}", highlight=False, markup=False)
        at = f"{info.imgsz}{' (its training imgsz)' if from_ckpt else ''}"
        console.print(f"{args.model}: {info.params / 1e6:.3f} M params, {info.gflops:.3f} GFLOPs at {at}, "
                      f"{info.nc} classes {list(info.names.values())}{', NMS-free head (export it with --nms-free)' if info.end2end else ''}")
        return 0
    if args.command == "demo":
        run_dir = api.run_demo(Path(args.out), threads=args.threads, console=console)
        console.print(f"report: {run_dir / 'report.md'} and {run_dir / 'report.html'}")
        console.print((run_dir / "report.md").read_text(), highlight=False, markup=False)
        console.print(f"report: {run_dir / 'report.html'}  (run folder {run_dir})")
        from .demo import next_step

        console.print(next_step(), highlight=False, markup=False)
        return 0
    build_parser().print_help()
    return 2


def _profile(args, console) -> int:
    import json

    import importlib

    from .errors import ConfigError, InputError

    # not `from . import profile`: that asks the package for the attribute first, and its lazy __getattr__
    # would import the api (and PyTorch) on a device that has only the runtimes
    prof = importlib.import_module(".profile", __package__)

    log = lambda line: console.print(line, highlight=False, markup=False)  # noqa: E731
    budget = None
    if args.max_latency_ms is not None or args.max_latency_ratio is not None:
        budget = prof.Budget(args.max_latency_ms, args.max_latency_ratio)
    if args.choose:
        if budget is None or args.model or args.time_only or args.build_only:
            raise ConfigError("--choose PROFILE takes only a budget: --max-latency-ms X or --max-latency-ratio R")
        d = prof.choose(args.choose, budget)
        console.print(d.summary(), highlight=False, markup=False)
        from .io import atomic_write_text, beside

        target = Path(args.out) if args.out else beside(Path(args.choose), f"{Path(args.choose).stem}-choice.json")
        if target.suffix != ".json":
            raise InputError(f"--out '{target}' must end in .json (the decision)")
        atomic_write_text(target, json.dumps(d.as_dict(), indent=2))
        console.print(f"decision: {target}; plot: {prof.plot_profile(args.choose, target.with_suffix('.png'), budget, d)}",
                      highlight=False)
        return 0
    if args.time_only and args.model:
        raise ConfigError("give a MODEL to build and time, or --time-only DIR, not both")
    if not args.time_only and not args.model:
        raise ConfigError("profile needs a MODEL (.pt or YAML) to build candidates from, or --time-only DIR")
    if not args.build_only and (not args.out or not args.out.endswith(".json")):
        raise InputError(f"--out '{args.out or ''}' must name the device profile .json to write")
    command = "yolo-compress " + " ".join(sys.argv[1:]) if sys.argv and "profile" in sys.argv else None
    runtimes = args.runtimes or "onnxruntime,openvino"
    if args.build_only:
        if args.time_only or not args.workdir:
            raise ConfigError("--build-only needs MODEL and --workdir DIR (then: profile --time-only DIR on the device)")
        m = prof.build_candidates(args.model, args.imgsz, args.workdir, args.levels, runtimes, args.precisions,
                                  args.calib_images, threads=args.threads, log=log)
        console.print(f"candidates: {m.parent} (copy it to the device; there: yolo-compress profile --time-only "
                      f"{m.parent.name} --out device.json)", highlight=False)
        return 0
    if args.time_only:
        p = prof.time_candidates(args.time_only, args.threads, args.runs, args.rounds, log=log, command=command,
                                 repeats=args.repeats,
                                 runtimes=prof.parse_list(args.runtimes, "--runtimes", prof.RUNTIMES)
                                 if args.runtimes else None)
        prof.write_profile(p, args.out)
    else:
        p = prof.profile_device(args.model, args.imgsz, args.out, args.workdir, args.levels, runtimes,
                                args.precisions, args.threads, args.runs, args.rounds, args.calib_images, log=log,
                                command=command, repeats=args.repeats)
    console.print(f"device profile: {args.out} ({len(p['candidates'])} candidates on {prof._device_name(p)}"
                  f"{', ' + str(p['wall_s']) + ' s' if 'wall_s' in p else ''})", highlight=False)
    if budget is not None:
        try:
            d = prof.choose(p, budget)
        except prof.BudgetError:  # the profile is written; its plot shows how far the budget is from every candidate
            console.print(f"plot: {prof.plot_profile(p, Path(args.out).with_suffix('.png'), budget)}", highlight=False)
            raise
        console.print(d.summary(), highlight=False, markup=False)
        png = prof.plot_profile(p, Path(args.out).with_suffix(".png"), budget, d)
        console.print(f"plot: {png}", highlight=False)
    return 0


def _losses(spec: str) -> tuple[tuple[str, float], ...]:
    from .errors import ConfigError

    try:
        return tuple((k.strip(), float(v)) for k, v in (x.split("=") for x in spec.split(",") if x))
    except ValueError:
        raise ConfigError(f"--loss '{spec}' is not name=weight[,name=weight...], e.g. cls_kl=1,ld=1") from None


def _recipe_overrides(args) -> dict:
    """The training-recipe flags the user gave (None = FinetuneConfig's measured default)."""
    return {k: getattr(args, k) for k in ("lr0", "bn_freeze_epochs", "mosaic", "ema_epochs")
            if getattr(args, k, None) is not None}


def _say_precision(cfg, console) -> None:
    if cfg.precision != "fp32":
        from .train import cpu_bf16_native

        native = "the CPU computes bf16 natively" if cpu_bf16_native() else "no AMX-BF16 / AVX512-BF16: emulated, slow"
        console.print(f"training precision: {'bf16 autocast' if cfg.cpu_bf16() else 'fp32'} (--precision "
                      f"{cfg.precision}, device {cfg.device}; {native})", highlight=False)


def _recipe(args, model, console) -> dict:
    """--recipe resolved for ``model`` (auto: gentle for an intact trained checkpoint), the explicit flags on top
    (a resumed run keeps what it started with: Ultralytics restores its arguments from last.pt)."""
    from . import api

    kw, line = api.recipe_settings(args.recipe, model, _recipe_overrides(args), getattr(args, "sparsity", 0.0))
    console.print(line, highlight=False)
    return kw


def _prune_steps(args, cfg, console) -> int:
    from .config import DistillConfig
    from .errors import ConfigError
    from .io import atomic_copy, beside, check_not_input
    from .prune.schedule import prune_iterative
    from .train import FinetuneConfig

    if not args.data:
        raise ConfigError("--steps needs --data DATA.yaml (each step fine-tunes and evaluates)")
    dest = Path(args.out) if args.out else beside(Path(args.model), f"{Path(args.model).stem}-pruned.pt")
    check_not_input(dest, {"model": args.model, "data YAML": args.data,  # before hours of steps, not after
                           "teacher": args.teacher if args.teacher not in (None, "input") else None})
    ft = FinetuneConfig(epochs=args.epochs_per_step, imgsz=args.imgsz, seed=args.seed)
    kd = DistillConfig(losses=_losses(args.loss)) if args.teacher else None
    steps = prune_iterative(args.model, args.data, cfg, args.steps, ft, args.workdir, args.max_drop,
                            teacher=args.teacher, distill_cfg=kd)
    for s in steps:
        console.print(f"step {s.step}: GFLOPs kept {s.gflops_kept:.1%}, params kept {s.params_kept:.1%}, "
                      f"mAP50-95 {s.map50_95:.4f}{'' if s.within_bound else '  (over --max-drop: stopped)'}")
    good = [s for s in steps if s.within_bound]
    if not good:
        raise ConfigError(f"no step stayed within --max-drop {args.max_drop}; see {args.workdir}")
    src = Path(good[-1].model)
    atomic_copy(src, dest)
    console.print(f"saved {dest} (step {good[-1].step})")
    return 0


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    from rich.console import Console

    from . import env
    from .errors import YoloCompressError

    console = Console()
    if not console.is_terminal:  # piped / CI: a wide table rather than one squeezed to 80 columns
        console = Console(width=200)
    from .progress import use_console

    use_console(console)  # training, calibration and export progress go where the CLI prints
    if not args.debug:
        import warnings

        warnings.filterwarnings("ignore")
        env.quiet_ultralytics()
    else:
        os.environ["YOLO_VERBOSE"] = "True"
    try:
        if getattr(args, "trust_checkpoint", False):
            from .models import trusted_checkpoints

            with trusted_checkpoints():
                return _run(args, console)
        return _run(args, console)
    except YoloCompressError as e:
        if args.debug:
            raise
        print(f"error: {e}", file=sys.stderr)
        return e.exit_code
    except KeyboardInterrupt:
        print("error: interrupted; outputs written so far are complete (writes are atomic)", file=sys.stderr)
        return 130
    except Exception as e:  # noqa: BLE001 - a bug: say so in one line, traceback with --debug
        if args.debug:
            raise
        msg = str(e).strip().splitlines()[0] if str(e).strip() else ""
        print(f"error: unexpected {type(e).__name__}: {msg} (rerun with --debug for the traceback)", file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main())
