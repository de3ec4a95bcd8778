"""The FP32-export cache that quantization starts from: a hit only for the same checkpoint bytes, settings and
libraries; a broken entry or a cache turned off falls back to a fresh export; unverified exports are not kept."""

from __future__ import annotations

import hashlib
import json

import onnx
import pytest

from conftest import TINY_IMGSZ
from yolo_compress.api import ExportConfig, QuantConfig, export, quantize
from yolo_compress.export import cache


def _sha(p) -> str:
    return hashlib.sha256(p.read_bytes()).hexdigest()


@pytest.fixture
def counted(tiny_pt):
    """A real ONNX export of ``tiny_pt`` that counts how often it ran."""
    calls = []

    def make(pt, cfg):
        def run(dest):
            calls.append(dest)
            return export(pt, cfg, out=dest).artifact.path
        return run
    return calls, make


def test_a_second_export_of_the_same_checkpoint_is_a_hit_and_anything_else_a_miss(tiny_pt, tmp_path, monkeypatch,
                                                                                   counted):
    from yolo_compress.models import load_model, save_model

    monkeypatch.setenv("YOLO_COMPRESS_CACHE", str(tmp_path / "cache"))
    calls, make = counted
    cfg = ExportConfig(format="onnx", imgsz=TINY_IMGSZ)
    a, hit = cache.cached_export(tiny_pt, cfg, tmp_path / "a" / "fp32.onnx", make(tiny_pt, cfg))
    assert not hit and len(calls) == 1
    assert len(list((tmp_path / "cache" / "fp32-exports").iterdir())) == 1
    (tmp_path / "b").mkdir()
    b, hit = cache.cached_export(tiny_pt, cfg, tmp_path / "b" / "fp32.onnx", make(tiny_pt, cfg))
    assert hit and len(calls) == 1 and b == tmp_path / "b" / "fp32.onnx" and _sha(a) == _sha(b)
    # another image size, another checkpoint: new keys, fresh exports
    cfg96 = ExportConfig(format="onnx", imgsz=96)
    _, hit = cache.cached_export(tiny_pt, cfg96, tmp_path / "c.onnx", make(tiny_pt, cfg96))
    assert not hit and len(calls) == 2
    other = save_model(load_model("yolov8n.yaml", nc=3), tmp_path / "other.pt")
    _, hit = cache.cached_export(other, cfg, tmp_path / "d.onnx", make(other, cfg))
    assert not hit and len(calls) == 3
    assert cache.cache_key(tiny_pt, cfg) != cache.cache_key(other, cfg) != cache.cache_key(other, cfg96)
    # a library upgrade is a new key too
    monkeypatch.setattr(cache, "_version", lambda lib: "99.0" if lib == "ultralytics" else "1")
    k1 = cache.cache_key(tiny_pt, cfg)
    monkeypatch.setattr(cache, "_version", lambda lib: "1")
    k2 = cache.cache_key(tiny_pt, cfg)
    assert k2 != k1
    # ...and so is a change to our own export code
    monkeypatch.setattr(cache, "OUR_CODE", cache.OUR_CODE[:-1])
    assert cache.cache_key(tiny_pt, cfg) not in (k1, k2)


def test_off_unverified_broken_and_trimmed(tiny_pt, tmp_path, monkeypatch, counted):
    calls, make = counted
    cfg = ExportConfig(format="onnx", imgsz=TINY_IMGSZ)
    monkeypatch.setenv("YOLO_COMPRESS_CACHE", "off")
    assert cache.cache_root() is None
    cache.cached_export(tiny_pt, cfg, tmp_path / "a.onnx", make(tiny_pt, cfg))
    cache.cached_export(tiny_pt, cfg, tmp_path / "b.onnx", make(tiny_pt, cfg))
    assert len(calls) == 2  # off: every call exports
    root = tmp_path / "cache"
    monkeypatch.setenv("YOLO_COMPRESS_CACHE", str(root))
    raw = ExportConfig(format="onnx", imgsz=TINY_IMGSZ, verify=False)
    cache.cached_export(tiny_pt, raw, tmp_path / "c.onnx", make(tiny_pt, raw))
    assert not (root / "fp32-exports").exists()  # parity not checked: not kept
    cache.cached_export(tiny_pt, cfg, tmp_path / "d.onnx", make(tiny_pt, cfg))
    entry = root / "fp32-exports" / cache.cache_key(tiny_pt, cfg)
    (entry / "done.json").write_text("{not json")  # a damaged entry: exported again, no error
    _, hit = cache.cached_export(tiny_pt, cfg, tmp_path / "e.onnx", make(tiny_pt, cfg))
    assert not hit and len(calls) == 5
    _, hit = cache.cached_export(tiny_pt, cfg, tmp_path / "e2.onnx", make(tiny_pt, cfg))
    assert hit and len(calls) == 5  # the damaged entry was replaced by the fresh export
    (entry / "done.json").write_text(json.dumps({"artifact": "../escaped.onnx"}))  # names a file outside the entry
    _, hit = cache.cached_export(tiny_pt, cfg, tmp_path / "g" / "x.onnx", make(tiny_pt, cfg))
    assert not hit and len(calls) == 6 and not (tmp_path / "escaped.onnx").exists()
    # the newest KEEP entries stay
    monkeypatch.setattr(cache, "KEEP", 1)
    cfg96 = ExportConfig(format="onnx", imgsz=96)
    cache.cached_export(tiny_pt, cfg96, tmp_path / "f.onnx", make(tiny_pt, cfg96))
    kept = [p.name for p in (root / "fp32-exports").iterdir() if not p.name.startswith(".")]
    assert kept == [cache.cache_key(tiny_pt, cfg96)]
    assert json.loads((root / "fp32-exports" / kept[0] / "done.json").read_text())["artifact"] == "f.onnx"
    # ...and at most MAX_BYTES in all: one byte keeps only the newest entry
    monkeypatch.setattr(cache, "KEEP", 16)
    monkeypatch.setattr(cache, "MAX_BYTES", 1)
    cache.cached_export(tiny_pt, cfg, tmp_path / "h.onnx", make(tiny_pt, cfg))
    kept = [p.name for p in (root / "fp32-exports").iterdir() if not p.name.startswith(".")]
    assert kept == [cache.cache_key(tiny_pt, cfg)]


def test_a_second_quantize_of_a_checkpoint_starts_from_the_cached_export(tiny_pt, tmp_path, monkeypatch):
    """Quantizing one checkpoint twice: the second run starts from the cached FP32 export (it cannot export: the
    exporter is made to fail) and its graph is the one made with the cache off."""
    root = tmp_path / "cache"
    monkeypatch.setenv("YOLO_COMPRESS_CACHE", str(root))
    a = quantize(tiny_pt, QuantConfig(backend="onnxruntime", mode="dynamic", imgsz=TINY_IMGSZ), tmp_path / "a.onnx")
    entries = list((root / "fp32-exports").iterdir())
    assert len(entries) == 1
    from yolo_compress.export import exporter

    def no_export(*a, **k):
        raise AssertionError("exported again: the cached FP32 export was not used")

    with monkeypatch.context() as m:
        m.setattr(exporter, "_ultralytics_export", no_export)
        b = quantize(tiny_pt, QuantConfig(backend="onnxruntime", mode="dynamic", imgsz=TINY_IMGSZ), tmp_path / "b.onnx")
    assert list((root / "fp32-exports").iterdir()) == entries
    monkeypatch.setenv("YOLO_COMPRESS_CACHE", "off")
    c = quantize(tiny_pt, QuantConfig(backend="onnxruntime", mode="dynamic", imgsz=TINY_IMGSZ), tmp_path / "c.onnx")
    assert a.parity["passed"] and b.parity["passed"] and c.parity["passed"]
    graph = lambda name: onnx.load(tmp_path / name).graph.SerializeToString()  # noqa: E731 - metadata has a date
    assert graph("b.onnx") == graph("c.onnx") == graph("a.onnx")
