import numpy as np
import pytest

from yolo_compress.api import ExportConfig, export, inspect_artifact, verify
from yolo_compress.config import ParityConfig
from yolo_compress.errors import ConfigError, ParityError, UnsupportedError
from yolo_compress.export.formats import list_formats

OUT = {"onnx": "m.onnx", "openvino": "m_openvino_model", "torchscript": "m.torchscript"}


RUNNABLE = [f for f in list_formats() if f in OUT]  # converted-only formats are tested below


@pytest.mark.parametrize("fmt", RUNNABLE)
def test_export_each_format_passes_parity(tiny_pt, tmp_path, fmt):
    res = export(tiny_pt, ExportConfig(format=fmt, imgsz=64), out=tmp_path / OUT[fmt])
    assert res.artifact.format == fmt and res.artifact.precision == "fp32"
    assert res.artifact.imgsz == 64 and res.artifact.names == {0: "class0", 1: "class1", 2: "class2"}
    p = res.parity
    assert p.passed and p.reference_detections > 0 and p.match_share >= 0.97
    assert p.max_abs_diff < 0.05


@pytest.mark.parametrize("fmt", ["onnx", "openvino"])
def test_half_export_on_cpu(tiny_pt, tmp_path, fmt):
    res = export(tiny_pt, ExportConfig(format=fmt, imgsz=64, half=True), out=tmp_path / OUT[fmt])
    assert res.artifact.precision in ("fp16", "mixed")
    assert res.parity.passed
    fp32 = export(tiny_pt, ExportConfig(format=fmt, imgsz=64), out=tmp_path / ("b_" + OUT[fmt]))
    assert res.artifact.size_mb < 0.6 * fp32.artifact.size_mb


@pytest.mark.parametrize("yaml_name", ["yolo11n.yaml", "yolov10n.yaml", "yolo26n.yaml"])
def test_other_families_export_to_onnx(yaml_name, tmp_path):
    from yolo_compress.models import load_model, save_model

    pt = save_model(load_model(yaml_name, nc=3), tmp_path / "m.pt")
    res = export(pt, ExportConfig(format="onnx", imgsz=64), out=tmp_path / "m.onnx")
    assert res.parity.passed


def test_dynamic_onnx_runs_other_batch(tiny_pt, tmp_path):
    from yolo_compress.runtime.runtimes import make_runner
    from yolo_compress.data import preprocess, synthetic_images

    art = export(tiny_pt, ExportConfig(format="onnx", imgsz=64, dynamic=True), out=tmp_path / "d.onnx").artifact
    assert art.batch is None
    x, _ = preprocess(synthetic_images(3, 64), 64)
    assert make_runner(art).__call__(x).shape[0] == 3


def test_torchscript_half_needs_gpu(tiny_pt, tmp_path):
    with pytest.raises(UnsupportedError, match="needs a CUDA GPU"):
        export(tiny_pt, ExportConfig(format="torchscript", imgsz=64, half=True), out=tmp_path / "x.torchscript")
    assert not list(tmp_path.iterdir())


def test_unknown_format_and_bad_imgsz(tiny_pt):
    with pytest.raises(UnsupportedError, match="unknown"):
        export(tiny_pt, ExportConfig(format="tensorflowjs", imgsz=64))
    for bad in (0, -32, 65):
        with pytest.raises(ConfigError, match="--imgsz"):
            ExportConfig(imgsz=bad)


def test_failed_parity_keeps_the_earlier_artifact(tiny_pt, tiny_onnx, tmp_path):
    dest = tmp_path / "m.onnx"
    dest.write_bytes(tiny_onnx.read_bytes())
    before = dest.read_bytes()
    impossible = ParityConfig(max_abs_diff=1e-12)  # ORT and PyTorch never agree to 1e-12
    with pytest.raises(ParityError) as e:
        export(tiny_pt, ExportConfig(format="onnx", imgsz=64), out=dest, parity=impossible)
    assert "parity FAILED" in str(e.value) and "max |diff|" in str(e.value)
    assert dest.read_bytes() == before
    assert (tmp_path / "m.parity-failed.onnx").exists()


def _corrupt_onnx(src, dst):
    import onnx
    from onnx import numpy_helper

    m = onnx.load(str(src))
    rng = np.random.default_rng(0)
    for t in m.graph.initializer:
        if len(t.dims) == 4:  # conv weights
            w = numpy_helper.to_array(t)
            t.CopyFrom(numpy_helper.from_array((w + rng.normal(0, 0.5, w.shape)).astype(w.dtype), t.name))
    onnx.save(m, str(dst))


def test_parity_detects_corrupted_weights_api(tiny_pt, tiny_onnx, tmp_path):
    bad = tmp_path / "bad.onnx"
    _corrupt_onnx(tiny_onnx, bad)
    good = verify(tiny_onnx, tiny_pt)
    broken = verify(bad, tiny_pt)
    assert good.passed and not broken.passed
    assert broken.match_share < 0.5 and broken.score_share < 0.5 and broken.max_abs_diff > 1


def test_parity_cli_fails_loudly_on_corrupted_artifact(tiny_pt, tiny_onnx, tmp_path):
    from conftest import run_cli

    bad = tmp_path / "bad.onnx"
    _corrupt_onnx(tiny_onnx, bad)
    r = run_cli("parity", str(bad), "--reference", str(tiny_pt))
    assert r.returncode == 3, r.stderr
    assert "parity FAILED" in r.stderr and "detections matched" in r.stderr and "max |diff|" in r.stderr
    assert "Traceback" not in r.stderr
    ok = run_cli("parity", str(tiny_onnx), "--reference", str(tiny_pt))
    assert ok.returncode == 0 and "parity PASSED" in ok.stdout


def test_inspect_reads_ultralytics_metadata(tiny_onnx):
    a = inspect_artifact(tiny_onnx)
    assert (a.format, a.precision, a.imgsz, a.batch, a.end2end) == ("onnx", "fp32", 64, 1, False)


def test_coreml_converts_on_linux_without_parity(tiny_pt, tmp_path):
    """CoreML is converted here (coremltools) but runs on Apple devices: the artifact is written with its
    metadata, the result says why there is no parity check, and bench refuses it in one line."""
    from yolo_compress.api import BenchConfig, ExportConfig, bench, export
    from yolo_compress.errors import UnsupportedError

    res = export(tiny_pt, ExportConfig(format="coreml", imgsz=64), out=tmp_path / "m.mlpackage")
    assert res.artifact.format == "coreml" and res.artifact.path.is_dir() and res.artifact.size_mb > 1
    assert res.parity is None and "target device" in res.note
    assert res.artifact.imgsz == 64 and len(res.artifact.names) == 3
    with pytest.raises(UnsupportedError, match="no runtime on this machine"):
        bench([res.artifact.path], BenchConfig(runs=0))


@pytest.mark.parametrize("args,needs", [(["--format", "engine"], "GPU"),
                                         (["--format", "tflite", "--half"], "no FP16 model file")])
def test_impossible_exports_fail_before_work(tiny_pt, tmp_path, args, needs):
    from conftest import run_cli

    r = run_cli("export", str(tiny_pt), *args, "--imgsz", "64", "--out", str(tmp_path / "m.out"))
    assert r.returncode != 0 and r.stderr.count("\n") == 1 and needs in r.stderr
    assert not list(tmp_path.iterdir())


def test_missing_converter_named_before_work():
    """A format whose converter module is not installed is refused with the install line (a registered
    format of our own, since every converter of the built-in ones is installed here)."""
    from yolo_compress.errors import UnsupportedError
    from yolo_compress.export.formats import FORMATS, Format, check_export_request, register_format

    register_format(Format("fake", "fake", ".fake", None, half_on_cpu=False, dynamic=False,
                           requires=("no_such_converter_module",), install="pip install no-such-converter"))
    try:
        with pytest.raises(UnsupportedError, match="no_such_converter_module.*pip install no-such-converter"):
            check_export_request("fake", False, False)
    finally:
        FORMATS.pop("fake")


def test_tflite_litert_export_parity_and_bench(tiny_pt, tmp_path):
    """TFLite through Ultralytics' LiteRT path (litert-torch), run by Google's LiteRT interpreter: parity
    against PyTorch (boxes are de-normalized by the runner), metadata read back, timed and evaluated by
    the same bench as every other runtime."""
    from yolo_compress.api import BenchConfig, ExportConfig, bench, export
    from yolo_compress.errors import InputError

    res = export(tiny_pt, ExportConfig(format="tflite", imgsz=64), out=tmp_path / "m.tflite")
    assert res.parity is not None and res.parity.passed, res.parity.summary()
    a = res.artifact
    assert (a.format, a.precision, a.imgsz, len(a.names)) == ("tflite", "fp32", 64, 3)
    rep = bench([a.path], BenchConfig(runs=50, warmup=2, imgsz=64, threads=2))
    assert rep.rows[0].runtime == "litert" and rep.rows[0].timing.p50_ms > 0
    broken = tmp_path / "broken.tflite"
    broken.write_bytes(b"\x00" * 64)
    with pytest.raises(InputError, match="broken.tflite' is not a TFLite model"):
        bench([broken], BenchConfig(runs=0))
