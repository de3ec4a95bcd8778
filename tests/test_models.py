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
