"""bench: one measurement path for every artifact; ONNX and OpenVINO agree with PyTorch on mAP."""

import dataclasses
import json

import pytest

from yolo_compress.api import BenchConfig, ExportConfig, bench, export
from yolo_compress.runtime.runtimes import list_runtimes
from yolo_compress.errors import ConfigError, InputError, UnsupportedError


@pytest.fixture(scope="module")
def reference_artifacts(default_model, tmp_path_factory):
    d = tmp_path_factory.mktemp("refs")
    onnx = export(default_model, ExportConfig(format="onnx", imgsz=160), out=d / "ref.onnx").artifact.path
    ov = export(default_model, ExportConfig(format="openvino", imgsz=160), out=d / "ref_openvino_model").artifact.path
    tfl = export(default_model, ExportConfig(format="tflite", imgsz=160), out=d / "ref.tflite").artifact.path
    return default_model, onnx, ov, tfl


def test_bench_rows_agree_across_runtimes(reference_artifacts, default_data, tmp_path):
    pt, onnx, ov, tfl = reference_artifacts
    rep = bench([pt, onnx, ov, tfl], BenchConfig(data=str(default_data), imgsz=160, threads=2, runs=50, warmup=2, limit=20),
                out_dir=tmp_path)
    torch_row, ort_row, ov_row, lite_row = rep.rows
    assert [r.runtime for r in rep.rows] == ["torch", "onnxruntime", "openvino", "litert"]
    for r in (ort_row, ov_row, lite_row):
        assert abs(r.eval.map50_95 - torch_row.eval.map50_95) <= 0.002
        assert r.eval.coco_map50_95 > 0
    for r in (ort_row, ov_row, lite_row):  # graph statistics are read from each artifact's own graph
        assert r.params_m == torch_row.params_m and r.gflops == torch_row.gflops
    for r in rep.rows:
        t = r.timing
        assert t.runs == 50 and 0 < t.p50_ms <= t.p90_ms and t.throughput_ips > 0 and t.peak_rss_mb > 10
    assert torch_row.timing.throughput_batch == 8 and ort_row.timing.throughput_batch == 1  # static batch-1 export
    js = json.loads((tmp_path / "bench.json").read_text())
    assert len(js["rows"]) == 4 and js["machine"]["cores"] >= 1
    md = (tmp_path / "bench.md").read_text()
    assert "mAP50-95" in md and "COCO mAP50-95" in md and md.count("\n| ") == 4  # one per row (the separator starts "|-")


def test_ort_worker_does_not_load_torch(reference_artifacts):
    """Peak memory belongs to the runtime: the ONNX Runtime worker must not carry PyTorch."""
    from yolo_compress.runtime.latency import time_artifact
    from yolo_compress.data import preprocess, synthetic_images
    from yolo_compress.runtime.artifact import inspect_artifact

    onnx = reference_artifacts[1]
    x, _ = preprocess(synthetic_images(1, 160), 160)
    ort = time_artifact(inspect_artifact(onnx), "onnxruntime", x, threads=1, warmup=1, runs=50)
    pt = time_artifact(inspect_artifact(reference_artifacts[0]), "torch", x, threads=1, warmup=1, runs=50)
    assert ort.peak_rss_mb < pt.peak_rss_mb - 200


@pytest.mark.parametrize("runtime", list_runtimes())
def test_every_runtime_runs_what_it_can(reference_artifacts, runtime):
    from yolo_compress.runtime.runtimes import CAN_RUN, make_runner
    from yolo_compress.data import preprocess, synthetic_images
    from yolo_compress.runtime.artifact import inspect_artifact

    x, _ = preprocess(synthetic_images(1, 160), 160)
    arts = [inspect_artifact(a) for a in reference_artifacts]
    ran = 0
    for a in arts:
        if a.format in CAN_RUN[runtime]:
            assert make_runner(a, runtime, 1)(x).shape == (1, 7, 525)  # 20x20 + 10x10 + 5x5 anchors at 160
            ran += 1
        else:
            with pytest.raises(UnsupportedError):
                make_runner(a, runtime)
    assert ran >= 1


@pytest.mark.parametrize("interleave", [0, 7])
def test_time_only_without_data(reference_artifacts, interleave):
    """Both schedules: whole rounds one artifact at a time, and blocks of runs cycling over live workers."""
    _, onnx, ov, _ = reference_artifacts
    rep = bench([onnx, ov], BenchConfig(imgsz=160, runs=50, warmup=1, rounds=2, interleave=interleave))
    for row in rep.rows:
        t = row.timing
        assert row.eval is None and 0 < t.p50_ms <= t.p90_ms and t.throughput_ips > 0 and t.peak_rss_mb > 10
        assert t.runs == 100  # two rounds of 50
        assert 0 < t.p50_best_ms <= t.p50_ms * 1.0001  # the fastest slice's median cannot exceed the median of all
    assert rep.rows[0].runtime == "onnxruntime" and rep.rows[1].runtime == "openvino"
    md = rep.to_markdown()
    assert ("blocks of 7 runs cycling" in md) if interleave else ("median over 2 interleaved rounds" in md)


def test_interleaved_worker_failure_is_one_clear_error(reference_artifacts, tmp_path):
    """A worker that cannot open its artifact stops the whole interleaved run with the artifact named, and
    leaves no worker process behind."""
    import psutil

    from yolo_compress.runtime.latency import time_interleaved
    from yolo_compress.data import preprocess, synthetic_images
    from yolo_compress.errors import YoloCompressError
    from yolo_compress.runtime.artifact import inspect_artifact

    onnx = inspect_artifact(reference_artifacts[1])
    bad = tmp_path / "bad.onnx"
    bad.write_bytes(onnx.path.read_bytes()[:5000])  # truncated: only the worker finds out
    broken = dataclasses.replace(onnx, path=bad)
    x, _ = preprocess(synthetic_images(1, 160), 160)
    before = {c.pid for c in psutil.Process().children(recursive=True)}
    with pytest.raises(YoloCompressError, match="bad.onnx"):
        time_interleaved([(onnx, "onnxruntime"), (broken, "onnxruntime")], x, threads=1, warmup=1, runs=50)
    assert {c.pid for c in psutil.Process().children(recursive=True)} <= before


def test_bench_input_errors(reference_artifacts, tmp_path):
    onnx = reference_artifacts[1]
    with pytest.raises(InputError, match="exported at imgsz 160"):
        bench([onnx], BenchConfig(imgsz=640, runs=0))
    with pytest.raises(InputError, match="not found"):
        bench([tmp_path / "missing.onnx"], BenchConfig(runs=0))
    with pytest.raises(ConfigError, match="at least 50"):
        BenchConfig(runs=10)
    with pytest.raises(ConfigError, match="--interleave -1"):
        BenchConfig(interleave=-1)
    with pytest.raises(UnsupportedError, match="cannot run"):
        bench([onnx], BenchConfig(imgsz=160, runtime="torch", runs=0))


def test_torch_runner_threads_hold_for_its_calls_only(tiny_pt):
    """PyTorch's thread count is process-wide: an in-process eval at --threads 2 must not leave the process at 2
    (it oversubscribed the cores for the training that ran next in the same process)."""
    import torch

    from yolo_compress.data import preprocess, synthetic_images
    from yolo_compress.runtime.artifact import inspect_artifact
    from yolo_compress.runtime.runtimes import TorchRunner

    x, _ = preprocess(synthetic_images(1, 64), 64)
    before = torch.get_num_threads()
    seen = []
    runner = TorchRunner(inspect_artifact(tiny_pt), threads=before + 1)
    hook = runner.module.register_forward_hook(lambda *a: seen.append(torch.get_num_threads()))
    runner(x)
    hook.remove()
    assert seen == [before + 1] and torch.get_num_threads() == before
