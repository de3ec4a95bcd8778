import numpy as np
import pytest

from yolo_compress.data import label_path, letterbox, load_data, preprocess, read_labels
from yolo_compress.errors import DataError


def test_letterbox_matches_ultralytics():
    from ultralytics.data.augment import LetterBox

    rng = np.random.default_rng(0)
    for h, w in [(240, 320), (320, 200), (64, 64), (100, 333)]:
        im = rng.integers(0, 255, (h, w, 3), dtype=np.uint8)
        ours, lb = letterbox(im, 160)
        theirs = LetterBox(new_shape=(160, 160), auto=False, scaleup=True)(image=im)
        assert ours.shape == theirs.shape == (160, 160, 3)
        assert np.abs(ours.astype(int) - theirs.astype(int)).max() <= 1
        assert lb.gain == pytest.approx(min(160 / h, 160 / w))


def test_preprocess_layout():
    x, boxes = preprocess([np.zeros((50, 100, 3), np.uint8) + 255], 64)
    assert x.shape == (1, 3, 64, 64) and x.dtype == np.float32 and x.max() == 1.0
    assert boxes[0].pad == (0, 16)


def test_load_shipped_data(default_data):
    d = load_data(default_data)
    assert d.nc == 3 and len(d.images("val")) == 60
    s = next(d.samples("val", 1))
    assert s.image.shape == (320, 320, 3) and s.labels.shape[1] == 5
    assert label_path(s.path).exists()


def test_relative_yaml_path_without_path_key(tmp_path, monkeypatch, default_data):
    import shutil

    root = tmp_path / "ds"
    shutil.copytree(default_data.parent, root)
    (root / "data.yaml").write_text("val: images/val\nnames: [a, b, c]\n")  # no 'path:' key
    monkeypatch.chdir(tmp_path)
    d = load_data("ds/data.yaml")
    assert d.root == root.resolve() and len(d.images("val")) == 60


def test_missing_yaml(tmp_path):
    with pytest.raises(DataError, match="not found"):
        load_data(tmp_path / "nope.yaml")


def test_image_folder_missing(tmp_path):
    y = tmp_path / "d.yaml"
    y.write_text("path: .\nval: images/val\nnames: [a, b]\n")
    with pytest.raises(DataError, match="do not exist"):
        load_data(y)


def test_bad_yaml_and_no_names(tmp_path):
    y = tmp_path / "d.yaml"
    y.write_text("val: [unclosed\n")
    with pytest.raises(DataError, match="does not parse"):
        load_data(y)
    y.write_text("val: images\n")
    with pytest.raises(DataError, match="names"):
        load_data(y)


def test_bad_label_file(tmp_path):
    f = tmp_path / "x.txt"
    f.write_text("0 0.5 0.5 zero 0.1\n")
    with pytest.raises(DataError, match="YOLO format"):
        read_labels(f)


def test_ultralytics_yaml_has_absolute_paths(default_data, tmp_path):
    import yaml

    out = load_data(default_data).to_ultralytics_yaml(tmp_path)
    cfg = yaml.safe_load(out.read_text())
    assert cfg["val"].startswith("/") and cfg["names"][0] == "garbage"


def test_import_stays_torch_free():
    """Runtime workers import the data adapter's neighbours; labels pull Ultralytics (and torch) only when read."""
    import subprocess
    import sys

    code = "import sys, yolo_compress.data; print(sorted(m for m in ('torch', 'ultralytics') if m in sys.modules))"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "[]"


def test_class_index_checked_at_load_for_every_split(tmp_path, default_data):
    import shutil

    root = tmp_path / "ds"
    shutil.copytree(default_data.parent / "images" / "val", root / "images" / "train")
    shutil.copytree(default_data.parent / "images" / "val", root / "images" / "val")
    shutil.copytree(default_data.parent / "labels" / "val", root / "labels" / "val",
                    ignore=shutil.ignore_patterns("*.cache"))
    shutil.copytree(root / "labels" / "val", root / "labels" / "train")
    bad = sorted((root / "labels" / "train").glob("*.txt"))[5]
    bad.write_text(bad.read_text().rstrip("\n") + "\n3 0.5 0.5 0.2 0.2\n")  # shipped files lack a final newline
    line = len(bad.read_text().splitlines())
    y = root / "data.yaml"
    y.write_text("path: .\ntrain: images/train\nval: images/val\nnames: [a, b, c]\n")
    assert load_data(y).nc == 3  # val alone is clean
    with pytest.raises(DataError, match=rf"{bad.name}' line {line}: class index 3 is outside 0..2"):
        load_data(y, splits=("train", "val"))
    bad.write_text("-1 0.5 0.5 0.2 0.2\n")
    with pytest.raises(DataError, match="line 1: class index -1"):
        load_data(y, splits=("train",))
