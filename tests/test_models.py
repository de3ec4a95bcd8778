import zipfile

import numpy as np
import pytest

from yolo_compress.errors import CheckpointError
from yolo_compress.models import load_model, save_model
from yolo_compress.runtime.graphstats import model_info

FAMILIES = ["yolov8n.yaml", "yolo11n.yaml", "yolov5nu.yaml", "yolov9t.yaml", "yolov10n.yaml", "yolo26n.yaml"]


@pytest.mark.parametrize("yaml_name", FAMILIES)
def test_families_build_and_report_info(yaml_name):
    m = load_model(yaml_name, nc=3)
    info = model_info(m, 64)
    assert info.nc == 3 and info.params > 1e6
    assert 0 < info.gflops < 1  # ~8 GFLOPs at 640 -> ~0.1 at 64


def test_gflops_agree_with_ultralytics():
    from ultralytics.utils.torch_utils import get_flops

    m = load_model("yolo11n.yaml", nc=3)
    m.model.fuse()
    ours = model_info(m, 320).gflops
    theirs = get_flops(m.model, 320)
    assert ours == pytest.approx(theirs, rel=0.05)


def test_save_load_roundtrip(tmp_path):
    m = load_model("yolov8n.yaml", nc=2)
    p = save_model(m, tmp_path / "m.pt")
    again = load_model(p)
    a = dict(again.model.state_dict())
    for k, v in m.model.state_dict().items():
        assert np.allclose(v.float().numpy(), a[k].float().numpy(), atol=1e-3), k  # saved in FP16
    assert not list(tmp_path.glob(".*"))  # no temp file left behind


def test_missing_checkpoint(tmp_path):
    with pytest.raises(CheckpointError, match="not found"):
        load_model(tmp_path / "nope.pt")


def test_truncated_checkpoint(tiny_pt, tmp_path):
    bad = tmp_path / "trunc.pt"
    bad.write_bytes(tiny_pt.read_bytes()[: tiny_pt.stat().st_size // 2])
    with pytest.raises(CheckpointError, match="truncated|corrupt"):
        load_model(bad)


def test_classification_checkpoint_rejected(tmp_path):
    from ultralytics import YOLO

    p = tmp_path / "cls.pt"
    YOLO("yolov8n-cls.yaml").save(p)
    with pytest.raises(CheckpointError, match="'classify' model"):
        load_model(p)


def test_unknown_yaml():
    with pytest.raises(CheckpointError, match="not found"):
        load_model("yolov99z.yaml")


def test_a_checkpoint_loaded_again_is_unpickled_once_and_each_load_is_its_own(tmp_path, monkeypatch):
    """The process keeps what it unpickled (a recipe run loads one checkpoint ~30 times; the weights-only
    unpickler is pure Python): a second load does not unpickle, mutating one load leaves the next untouched, a
    rewritten file is read anew, the trust setting is part of the key, and bytes changed in place still fail."""
    import torch
    import ultralytics.nn.tasks as tasks

    from yolo_compress import models

    calls = []
    real = tasks.torch_safe_load
    monkeypatch.setattr(tasks, "torch_safe_load", lambda *a, **k: calls.append(a[0]) or real(*a, **k))  # counts
    p = save_model(load_model("yolov8n.yaml", nc=2), tmp_path / "m.pt")
    first = load_model(p)
    with torch.no_grad():
        first.model.model[0].conv.weight.zero_()  # as a pruning or a training would change it
    second = load_model(p)
    assert len(calls) == 1 and second.model.model[0].conv.weight.abs().sum() > 0
    assert second.model is not first.model and second.ckpt is not first.ckpt
    load_model(p, trust_checkpoint=True)  # another trust setting: unpickled on its own
    assert len(calls) == 2

    save_model(load_model("yolov8n.yaml", nc=3), p)  # rewritten (atomically, as save_model writes)
    assert load_model(p).model.model[-1].nc == 3 and len(calls) == 3
    data = bytearray(p.read_bytes())  # the same size, one byte of a stored tensor flipped in place
    with zipfile.ZipFile(p) as z:
        info = max(z.infolist(), key=lambda i: i.file_size)
    off = info.header_offset + 30 + len(info.filename.encode()) + len(info.extra) + info.file_size // 2
    data[off] ^= 0xFF
    p.write_bytes(bytes(data))
    with pytest.raises(CheckpointError, match="corrupt"):
        load_model(p)
    assert len(models._LOADED) <= models._LOADED_MAX
