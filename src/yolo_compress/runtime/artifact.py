"""What an artifact is: a model file (or OpenVINO folder) recognised by its name, with the metadata every
runtime, the evaluator, bench, export and quantize read from it (format, precision, image size, batch, names).
"""

from __future__ import annotations

import ast
import json
from dataclasses import dataclass, field
from pathlib import Path

from ..errors import InputError


@dataclass(frozen=True)
class Artifact:
    """A model file (or OpenVINO folder) and what we know about it."""

    path: Path  # the file or folder the user named
    format: str  # pytorch | torchscript | onnx | openvino
    precision: str  # fp32 | fp16 | int8 | mixed
    imgsz: int | None
    batch: int | None  # static batch, None if dynamic
    names: dict[int, str] = field(default_factory=dict)
    end2end: bool = False

    @property
    def model_file(self) -> Path:
        """The file a runtime opens (the .xml inside an OpenVINO folder)."""
        if self.format == "openvino" and self.path.is_dir():
            return next(self.path.glob("*.xml"))
        return self.path

    @property
    def size_mb(self) -> float:
        if self.format == "coreml":
            files = [p for p in self.path.rglob("*") if p.is_file()] if self.path.is_dir() else [self.path]
        elif self.path.is_dir():
            files = [p for p in self.path.iterdir() if p.suffix in {".xml", ".bin"}]
        elif self.format == "openvino":
            files = [self.path, self.path.with_suffix(".bin")]
        else:
            files = [self.path]
        return sum(p.stat().st_size for p in files if p.exists()) / 1e6


def _parse(v):
    if not isinstance(v, str):
        return v
    try:
        return ast.literal_eval(v)
    except (ValueError, SyntaxError):
        return {"True": True, "False": False}.get(v, v)


def _meta_common(meta: dict) -> dict:
    imgsz = _parse(meta.get("imgsz"))
    if isinstance(imgsz, (list, tuple)):
        imgsz = int(imgsz[0])
    names = _parse(meta.get("names")) or {}
    args = _parse(meta.get("args")) or {}
    dynamic = bool(args.get("dynamic")) if isinstance(args, dict) else False
    batch = None if dynamic else int(_parse(meta.get("batch", 1)) or 1)
    return {
        "imgsz": imgsz,
        "names": {int(k): str(v) for k, v in dict(names).items()},
        "batch": batch,
        "end2end": bool(_parse(meta.get("end2end", False))),
        "task": meta.get("task", "detect"),
    }


def _onnx_precision(model) -> str:
    ops = {n.op_type for n in model.graph.node}
    if ops & {"QuantizeLinear", "DequantizeLinear", "QLinearConv", "ConvInteger", "MatMulInteger"}:
        return "int8"
    from onnx import TensorProto

    dtypes = {t.data_type for t in model.graph.initializer if len(t.dims) >= 2}
    if TensorProto.FLOAT16 in dtypes:
        return "fp16" if TensorProto.FLOAT not in dtypes else "mixed"
    return "fp32"


def _openvino_precision(xml: Path) -> str:
    text = xml.read_text(errors="ignore")
    if 'type="FakeQuantize"' in text or 'element_type="i8"' in text or 'element_type="u8"' in text:
        return "int8"
    if 'element_type="f16"' in text:
        return "fp16"
    return "fp32"


def inspect_artifact(path: str | Path) -> Artifact:
    """Recognise an artifact by its name and read its metadata; a clear error for anything else."""
    p = Path(path).expanduser()
    if not p.exists():
        raise InputError(f"artifact '{path}' not found; pass a .pt, .onnx, .torchscript file or an OpenVINO folder")
    if p.suffix == ".mlpackage":
        meta = {}
        try:
            import coremltools as ct

            meta = dict(ct.models.MLModel(str(p), skip_model_load=True).user_defined_metadata)
        except Exception:  # noqa: BLE001 - metadata is optional; the artifact is still a CoreML package
            meta = {}
        m = _meta_common(meta)
        args = _parse(meta.get("args")) or {}
        prec = "fp16" if isinstance(args, dict) and args.get("half") else "fp32"
        return Artifact(p, "coreml", prec, m["imgsz"], m["batch"], m["names"], m["end2end"])
    if p.is_dir() or p.suffix == ".xml":
        folder = p if p.is_dir() else p.parent
        xmls = list(folder.glob("*.xml")) if p.is_dir() else [p]
        if not xmls:
            raise InputError(f"artifact '{path}' is a folder without an OpenVINO .xml; pass a model file")
        meta_f = folder / "metadata.yaml"
        meta = {}
        if meta_f.exists():
            import yaml

            meta = yaml.safe_load(meta_f.read_text()) or {}
        m = _meta_common(meta)
        return Artifact(p, "openvino", _openvino_precision(xmls[0]), m["imgsz"], m["batch"], m["names"], m["end2end"])
    if p.suffix == ".onnx":
        import onnx

        try:
            model = onnx.load(str(p), load_external_data=False)
        except Exception as e:  # noqa: BLE001
            raise InputError(f"artifact '{path}' is not a readable ONNX model ({type(e).__name__}); re-export it") from None
        m = _meta_common({x.key: x.value for x in model.metadata_props})
        dim0 = model.graph.input[0].type.tensor_type.shape.dim[0]
        batch = dim0.dim_value if dim0.HasField("dim_value") else None
        return Artifact(p, "onnx", _onnx_precision(model), m["imgsz"], batch, m["names"], m["end2end"])
    if p.suffix == ".tflite":
        import zipfile

        with p.open("rb") as fh:
            header = fh.read(8)
        if header[4:8] != b"TFL3":
            raise InputError(f"artifact '{path}' is not a TFLite model (no TFL3 header); re-export it")
        try:
            with zipfile.ZipFile(p) as zf:  # Ultralytics appends its metadata as a zip entry
                meta = json.loads(zf.read("metadata.json"))
        except (zipfile.BadZipFile, KeyError, ValueError):
            meta = {}
        m = _meta_common(meta)
        args = meta.get("args", {}) or {}
        q = args.get("quantize") if isinstance(args, dict) else None
        prec = ("int8" if (isinstance(args, dict) and args.get("int8")) or q in (8, "w8a16", "w8a32")
                else "fp16" if q == 16 else "fp32")
        return Artifact(p, "tflite", prec, m["imgsz"], m["batch"], m["names"], m["end2end"])
    if p.suffix == ".torchscript":
        import torch

        extra = {"config.txt": ""}
        try:
            torch.jit.load(str(p), _extra_files=extra, map_location="cpu")
        except Exception as e:  # noqa: BLE001
            raise InputError(f"artifact '{path}' is not a readable TorchScript model ({type(e).__name__}); re-export it") from None
        meta = json.loads(extra["config.txt"]) if extra["config.txt"] else {}
        m = _meta_common(meta)
        args = meta.get("args", {}) or {}
        prec = "fp16" if str(args.get("quantize")) == "16" or args.get("half") else "fp32"
        return Artifact(p, "torchscript", prec, m["imgsz"], m["batch"], m["names"], m["end2end"])
    if p.suffix == ".pt":
        from ..models import is_end2end, load_model

        y = load_model(p)
        imgsz = (y.ckpt or {}).get("train_args", {}).get("imgsz") if getattr(y, "ckpt", None) else None
        return Artifact(p, "pytorch", "fp32", int(imgsz) if imgsz else None, None, dict(y.names), is_end2end(y.model))
    raise InputError(
        f"artifact '{path}' has an unknown type '{p.suffix or 'folder'}'; pass a .pt, .onnx, .torchscript, .tflite "
        f"file or an OpenVINO folder"
    )
