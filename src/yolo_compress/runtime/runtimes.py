"""One runner per runtime, all with the same contract: float32 NCHW in [0,1] -> the raw head output.

The pre-processing (``data.preprocess``), NMS and evaluator are shared, so runtimes differ only in
how they execute the network. Registry in the timm style: ``@register_runtime`` and
``list_runtimes()``. Backends are imported only when used, so a worker timing ONNX Runtime does not load
PyTorch.
"""

from __future__ import annotations

from typing import Callable

import numpy as np

from ..errors import UnsupportedError
from .artifact import Artifact

RUNTIMES: dict[str, type["Runner"]] = {}
# which runtimes can open which artifact format
CAN_RUN = {
    "torch": {"pytorch", "torchscript"},
    "onnxruntime": {"onnx"},
    "openvino": {"openvino", "onnx"},
    "litert": {"tflite"},
}
# the FP32 export format each deployment runtime is given (recipes' runtimes, quantize's backends, profile)
EXPORT_FORMAT = {"onnxruntime": "onnx", "openvino": "openvino", "litert": "tflite"}
DEFAULT_RUNTIME = {"pytorch": "torch", "torchscript": "torch", "onnx": "onnxruntime", "openvino": "openvino",
                   "tflite": "litert"}


def register_runtime(name: str) -> Callable[[type], type]:
    def deco(cls):
        cls.name = name
        RUNTIMES[name] = cls
        return cls

    return deco


def list_runtimes() -> list[str]:
    return sorted(RUNTIMES)


class Runner:
    name = "base"

    def __init__(self, artifact: Artifact, threads: int | None = None):
        self.artifact = artifact
        self.threads = threads

    def __call__(self, x: np.ndarray) -> np.ndarray:  # pragma: no cover - interface
        raise NotImplementedError

    def can_batch(self, n: int) -> bool:
        return self.artifact.batch in (None, n)


@register_runtime("torch")
class TorchRunner(Runner):
    def __init__(self, artifact: Artifact, threads: int | None = None):
        super().__init__(artifact, threads)
        import torch

        self.torch = torch
        if artifact.format == "torchscript":
            self.module = torch.jit.load(str(artifact.path), map_location="cpu").eval()
            self.dtype = next(self.module.parameters()).dtype if list(self.module.parameters()) else torch.float32
        else:
            from ..models import load_model

            from ..models import has_end2end_head

            m = load_model(artifact.path).model
            if has_end2end_head(m):  # the branch asked for (parity: the export's); fuse() drops the other one
                m.end2end = artifact.end2end
            self.module = m.float().fuse().eval()
            self.dtype = torch.float32

    def __call__(self, x: np.ndarray) -> np.ndarray:
        # ``threads`` holds for this call only: PyTorch's thread count is process-wide, and a runner that left it
        # raised (an in-process eval or parity check at --threads 2) oversubscribed the cores for whatever the
        # process ran next (a training thread on a shared core waits at every OpenMP barrier)
        before = self.torch.get_num_threads()
        if self.threads and self.threads != before:
            self.torch.set_num_threads(self.threads)
        try:
            with self.torch.inference_mode():
                y = self.module(self.torch.from_numpy(x).to(self.dtype))
        finally:
            if self.torch.get_num_threads() != before:
                self.torch.set_num_threads(before)
        y = y[0] if isinstance(y, (list, tuple)) else y
        return y.float().numpy()


@register_runtime("onnxruntime")
class OrtRunner(Runner):
    def __init__(self, artifact: Artifact, threads: int | None = None):
        super().__init__(artifact, threads)
        import onnxruntime as ort

        so = ort.SessionOptions()
        if threads:
            so.intra_op_num_threads = threads
            so.inter_op_num_threads = 1
        so.log_severity_level = 3
        self.session = ort.InferenceSession(str(artifact.model_file), so, providers=["CPUExecutionProvider"])
        inp = self.session.get_inputs()[0]
        self.input_name = inp.name
        self.input_type = np.float16 if "float16" in inp.type else np.float32
        self.output_name = self.session.get_outputs()[0].name

    def __call__(self, x: np.ndarray) -> np.ndarray:
        y = self.session.run([self.output_name], {self.input_name: x.astype(self.input_type, copy=False)})[0]
        return y.astype(np.float32, copy=False)


# OpenVINO's CPU plugin runs float layers in bfloat16 by default on CPUs with AMX / AVX512-BF16: an FP32 or
# FP16 IR then computes with an 8-bit mantissa (box coordinates off by up to 2.7 px on our parity images)
# and INT8 IRs change their float layers too. We measure what the artifact stores, so float layers
# run in f32 on every CPU, as they do on machines without bf16.
OV_CPU_EXACT = {"INFERENCE_PRECISION_HINT": "f32"}


@register_runtime("openvino")
class OpenVinoRunner(Runner):
    def __init__(self, artifact: Artifact, threads: int | None = None):
        super().__init__(artifact, threads)
        import openvino as ov

        core = ov.Core()
        config = {"PERFORMANCE_HINT": "LATENCY", **OV_CPU_EXACT}
        if threads:
            config["INFERENCE_NUM_THREADS"] = int(threads)
        model = core.read_model(str(artifact.model_file))
        self.compiled = core.compile_model(model, "CPU", config)
        self.request = self.compiled.create_infer_request()
        self.output = self.compiled.output(0)

    def __call__(self, x: np.ndarray) -> np.ndarray:
        res = self.request.infer({0: x})
        return np.asarray(res[self.output], dtype=np.float32)


@register_runtime("litert")
class LiteRtRunner(Runner):
    """Google's LiteRT interpreter (ai-edge-litert; XNNPACK delegate on CPU). Ultralytics' LiteRT export keeps
    the NCHW float input but divides box coordinates by the input size (so that INT8 keeps the scores'
    resolution); they are multiplied back here, as Ultralytics' own LiteRT backend does. Legacy NHWC
    exports (onnx2tf) are transposed at the boundary."""

    def __init__(self, artifact: Artifact, threads: int | None = None):
        super().__init__(artifact, threads)
        try:
            from ai_edge_litert.interpreter import Interpreter
        except ImportError:
            raise UnsupportedError(f"'{artifact.path}' needs the LiteRT runtime: pip install ai-edge-litert") from None
        self.interp = Interpreter(model_path=str(artifact.path), num_threads=threads or None)
        self.interp.allocate_tensors()
        inp = self.interp.get_input_details()[0]
        self.input_index, self.input_dtype = inp["index"], inp["dtype"]
        shape = [int(v) for v in inp["shape"]]
        self.nhwc = shape[-1] == 3 and shape[1] != 3
        h, w = (shape[1], shape[2]) if self.nhwc else (shape[2], shape[3])
        # end-to-end heads output pixel boxes after their own NMS; the others are normalized
        self.box_scale = None if artifact.end2end else np.array([w, h, w, h], dtype=np.float32).reshape(1, 4, 1)
        self.input_quant = inp.get("quantization", (0.0, 0))
        out = self.interp.get_output_details()[0]
        self.output_index, self.output_quant = out["index"], out.get("quantization", (0.0, 0))

    def __call__(self, x: np.ndarray) -> np.ndarray:
        if self.nhwc:
            x = np.ascontiguousarray(x.transpose(0, 2, 3, 1))
        scale, zero = self.input_quant
        if self.input_dtype != np.float32 and scale:
            x = np.round(x / scale + zero).astype(self.input_dtype)
        self.interp.set_tensor(self.input_index, x.astype(self.input_dtype, copy=False))
        self.interp.invoke()
        y = self.interp.get_tensor(self.output_index)
        scale, zero = self.output_quant
        if y.dtype != np.float32 and scale:
            y = (y.astype(np.float32) - zero) * scale
        y = y.astype(np.float32)  # a copy: the interpreter owns its output buffer
        if self.box_scale is not None:
            y[:, :4] *= self.box_scale
        return y


def resolve_runtime(artifact: Artifact, runtime: str = "auto") -> str:
    if artifact.format not in DEFAULT_RUNTIME:
        raise UnsupportedError(
            f"no runtime on this machine runs '{artifact.path}' ({artifact.format}: converted here, run on its target "
            f"device); bench or check its ONNX / OpenVINO export instead"
        )
    if runtime == "auto":
        return DEFAULT_RUNTIME[artifact.format]
    if runtime not in RUNTIMES:
        raise UnsupportedError(f"--runtime '{runtime}' is unknown; choose auto or one of: {', '.join(list_runtimes())}")
    if artifact.format not in CAN_RUN[runtime]:
        raise UnsupportedError(
            f"runtime '{runtime}' cannot run '{artifact.path}' ({artifact.format}); use --runtime auto "
            f"(it would pick {DEFAULT_RUNTIME[artifact.format]})"
        )
    return runtime


def make_runner(artifact: Artifact, runtime: str = "auto", threads: int | None = None) -> Runner:
    return RUNTIMES[resolve_runtime(artifact, runtime)](artifact, threads)
