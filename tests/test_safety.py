"""Safe by default (issue 23): a checkpoint never runs code on load unless trusted, an output never
overwrites an input, ``--max-drop`` is mAP50-95 points everywhere. Every test here failed on the code before."""

from __future__ import annotations

import os
import shutil
import sys
from pathlib import Path

import pytest
import torch

from conftest import run_cli
from yolo_compress.cli import main
from yolo_compress.errors import CheckpointError, ConfigError
from yolo_compress.models import TRUST_ENV, load_checkpoint, load_model, save_model

REPO = Path(__file__).resolve().parents[1]


@pytest.fixture(autouse=True)
def untrusted(monkeypatch):
    monkeypatch.delenv(TRUST_ENV, raising=False)


class _Payload:
    """What a malicious checkpoint pickles: unpickling it calls ``os.system``."""

    def __init__(self, command: str):
        self.command = command

    def __reduce__(self):
        return os.system, (self.command,)


def _evil(tmp_path: Path) -> tuple[Path, Path]:
    marker = tmp_path / "PWNED"
    p = tmp_path / "evil.pt"
    torch.save({"model": _Payload(f"touch {marker}"), "train_args": {}}, p)
    return p, marker


# ------------------------------------------------------------------------------------------ safe loading
def test_malicious_pickle_runs_nothing(tmp_path):
    p, marker = _evil(tmp_path)
    r = run_cli("info", str(p), cwd=tmp_path)
    assert not marker.exists(), "loading the checkpoint ran its code"
    assert r.returncode != 0
    err = r.stderr.strip().splitlines()
    assert len(err) == 1 and "system" in err[0] and "--trust-checkpoint" in err[0], r.stderr


@pytest.mark.parametrize("loader", [load_model, load_checkpoint])
def test_malicious_pickle_refused_in_python(tmp_path, loader):
    p, marker = _evil(tmp_path)
    with pytest.raises(CheckpointError, match=r"holds type '(posix|os)\.system'.*nothing in it was run"):
        loader(p)
    assert not marker.exists()


@pytest.fixture
def custom_pkg(tmp_path, monkeypatch) -> Path:
    """A small importable package with a harmless module class that is on no allow-list."""
    root = tmp_path / "pkgs"
    (root / "ycustom").mkdir(parents=True)
    (root / "ycustom" / "__init__.py").write_text(
        "import torch\n\n\nclass Scale(torch.nn.Module):\n"
        "    def __init__(self, s=1.0):\n        super().__init__()\n        self.s = s\n\n"
        "    def forward(self, x):\n        return x * self.s\n")
    monkeypatch.syspath_prepend(str(root))
    return root


@pytest.fixture
def custom_pt(custom_pkg, tmp_path) -> Path:
    import ycustom

    y = load_model("yolov8n.yaml", nc=3)
    y.model.model[1].act = ycustom.Scale(1.0)  # an activation of our own: harmless, but not allow-listed
    return save_model(y, tmp_path / "custom.pt")


def test_custom_module_needs_trust_checkpoint(custom_pt, custom_pkg, tmp_path, monkeypatch):
    from yolo_compress.models import trusted_checkpoints

    with pytest.raises(CheckpointError, match=r"holds type 'ycustom\.Scale'"):
        load_model(custom_pt)
    assert type(load_model(custom_pt, trust_checkpoint=True).model.model[1].act).__name__ == "Scale"
    with trusted_checkpoints():
        assert type(load_model(custom_pt).model.model[1].act).__name__ == "Scale"
    with pytest.raises(CheckpointError):  # the context is left as it was
        load_model(custom_pt)

    monkeypatch.setenv("PYTHONPATH", os.pathsep.join([str(custom_pkg), os.environ.get("PYTHONPATH", "")]))
    refused = run_cli("info", str(custom_pt), "--imgsz", "64", cwd=tmp_path)
    assert refused.returncode != 0 and len(refused.stderr.strip().splitlines()) == 1
    assert "ycustom.Scale" in refused.stderr
    ok = run_cli("info", str(custom_pt), "--imgsz", "64", "--trust-checkpoint", cwd=tmp_path)  # per command
    assert ok.returncode == 0, ok.stderr
    ok = run_cli("--trust-checkpoint", "info", str(custom_pt), "--imgsz", "64", cwd=tmp_path)  # global
    assert ok.returncode == 0, ok.stderr


def _shipped() -> list:
    cands = [REPO / "src/yolo_compress/assets/yolov8n-garbage320-200ep.pt", Path("/work/shared/models/yolov8n-garbage320.pt"),
             REPO / "benchmarks/zoo/yolov8s-garbage320.pt"]
    return [pytest.param(p, marks=pytest.mark.skipif(not p.exists(), reason=f"{p} not here"), id=p.name + str(i))
            for i, p in enumerate(cands)]


@pytest.mark.parametrize("path", _shipped())
def test_real_checkpoints_load_safely(path):
    module, ckpt = load_checkpoint(path, trust_checkpoint=False)
    assert type(module).__name__ == "DetectionModel" and load_model(path).task == "detect"


def _pruned(tmp_path):
    from yolo_compress.config import PruneConfig
    from yolo_compress.prune import prune

    return save_model(prune(load_model("yolov8n.yaml", nc=3), PruneConfig(ratio=0.3, imgsz=64)).model,
                      tmp_path / "pruned.pt"), None


def _surgery(kind):
    def make(tmp_path):
        from yolo_compress.surgery import surgery

        res = surgery(load_model("yolov8n.yaml", nc=3), kind, ("model.1",), imgsz=64)
        return save_model(res.model, tmp_path / f"{kind}.pt"), "yolo_compress.surgery."
    return make


def _qat(tmp_path):
    from yolo_compress.quant import qat

    y = load_model("yolov8n.yaml", nc=3)
    y.model = qat.prepare(y.model)  # what the QAT run's last.pt holds: fake-quant wrappers and observers
    return save_model(y, tmp_path / "qat.pt"), "yolo_compress.quant.qat.FakeQuantConv"


def _distill_last(tmp_path):
    """A distillation run's mid-run last.pt holds our KDModel (losses, adapters) as its EMA."""
    import copy

    from ultralytics.cfg import get_cfg
    from ultralytics.utils.torch_utils import ModelEMA

    from yolo_compress.config import DistillConfig
    from yolo_compress.distill.model import KDModel

    student = load_model("yolov8n.yaml", nc=3).model
    student.args = get_cfg(overrides={"imgsz": 64})
    kd = KDModel(copy.deepcopy(student), student, DistillConfig(losses=(("cls_kl", 1.0), ("cwd", 10.0))))
    p = tmp_path / "last.pt"
    ema = copy.deepcopy(ModelEMA(kd).ema).half()  # as Ultralytics' trainer saves it: the teacher stripped
    torch.save({"epoch": 0, "model": None, "ema": ema, "train_args": {"imgsz": 64}}, p)
    return p, "yolo_compress.distill."


@pytest.mark.parametrize("make", [_pruned, _surgery("dwsep"), _surgery("factorized"), _surgery("dynamic"), _qat,
                                  _distill_last], ids=["pruned", "dwsep", "factorized", "dynamic", "qat", "distill"])
def test_our_checkpoints_load_safely(make, tmp_path):
    p, ours = make(tmp_path)
    module, _ = load_checkpoint(p, trust_checkpoint=False)
    assert isinstance(module, torch.nn.Module)
    if ours:  # the case exercises a class of ours
        assert any(f"{type(m).__module__}.{type(m).__qualname__}".startswith(ours) for m in module.modules())
    if ours and "distill" in ours:
        from yolo_compress.distill.distill import student_only

        assert type(module).__name__ == "KDModel" and not student_only(p)
    else:
        assert load_model(p).task == "detect"


# ------------------------------------------------------------------------------ never overwrite an input
@pytest.fixture
def work(tiny_pt, tmp_path) -> Path:
    d = tmp_path / "work"
    d.mkdir()
    shutil.copy2(tiny_pt, d / "m.pt")
    os.link(d / "m.pt", d / "hard.pt")  # another name for the same file
    return d


def _images(tmp_path, default_data) -> Path:
    src = tmp_path / "photos"
    src.mkdir()
    for f in sorted((default_data.parent / "images" / "val").glob("*.jpg"))[:2]:
        shutil.copy2(f, src / f.name)
    return src


OVERWRITES = {
    # the checkpoint became a TorchScript archive
    "export-same-file": lambda w, d: ["export", f"{w}/m.pt", "--format", "torchscript", "--imgsz", "64",
                                      "--no-verify", "--out", f"{w}/m.pt"],
    # a folder output replaces the whole folder, the model in it too
    "export-folder-holding-model": lambda w, d: ["export", f"{w}/m.pt", "--format", "openvino", "--imgsz", "64",
                                                 "--no-verify", "--out", str(w)],
    "quantize-folder-holding-model": lambda w, d: ["quantize", f"{w}/m.pt", "--mode", "fp16", "--backend",
                                                   "openvino", "--imgsz", "64", "--no-verify", "--out", str(w)],
    "prune-hard-link": lambda w, d: ["prune", f"{w}/m.pt", "--ratio", "0.3", "--imgsz", "64", "--out", f"{w}/hard.pt"],
    # refused only after hours of steps before
    "prune-steps-same-file": lambda w, d: ["prune", f"{w}/m.pt", "--ratio", "0.3", "--imgsz", "64", "--steps", "2",
                                           "--data", str(d), "--workdir", f"{w}/steps", "--out", f"{w}/m.pt"],
    "reparam-hard-link": lambda w, d: ["reparam", f"{w}/m.pt", "--imgsz", "64", "--out", f"{w}/hard.pt"],
    "surgery-hard-link": lambda w, d: ["surgery", f"{w}/m.pt", "--kind", "dwsep", "--imgsz", "64",
                                       "--out", f"{w}/hard.pt"],
    "run-out-is-model": lambda w, d: ["run", "prune-only", "--model", f"{w}/m.pt", "--data", str(d), "--imgsz", "64",
                                      "--out", f"{w}/m.pt"],
    # resuming a run whose folder holds the model (its stage folders are set aside or replaced)
    "run-folder-holding-model": lambda w, d: _as_run_folder(w) + ["run", "prune-only", "--model", f"{w}/m.pt",
                                                                  "--data", str(d), "--imgsz", "64", "--resume",
                                                                  "--out", str(w)],
}


def _as_run_folder(w: Path) -> list:
    (w / "recipe.yaml").write_text("{}\n")  # what marks a run folder
    return []


@pytest.mark.parametrize("case", list(OVERWRITES))
def test_output_that_is_an_input_is_refused_before_work(case, work, val_as_train_data, capsys):
    args = OVERWRITES[case](work, val_as_train_data)
    before = (work / "m.pt").read_bytes()
    listing = sorted(p.name for p in work.iterdir())
    rc = main(args)
    err = capsys.readouterr().err.strip().splitlines()
    assert rc != 0 and len(err) == 1 and "input model" in err[0], err
    assert (work / "m.pt").read_bytes() == before and (work / "hard.pt").read_bytes() == before
    assert sorted(p.name for p in work.iterdir()) == listing  # nothing written beside it either (no work done)


def test_predict_into_the_source_folder_is_refused(tiny_pt, tmp_path, default_data, capsys):
    src = _images(tmp_path, default_data)
    before = {f.name: f.read_bytes() for f in src.iterdir()}
    rc = main(["predict", str(tiny_pt), str(src), "--imgsz", "64", "--out", str(src)])
    err = capsys.readouterr().err.strip().splitlines()
    assert rc != 0 and len(err) == 1 and "would overwrite" in err[0], err
    assert {f.name: f.read_bytes() for f in src.iterdir()} == before  # the originals, nothing added
    one = next(iter(sorted(src.iterdir())))
    assert main(["predict", str(tiny_pt), str(one), "--imgsz", "64", "--out", str(src)]) != 0  # one image, same
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "would overwrite" in err[0], err
    assert main(["predict", str(tiny_pt), str(src), "--imgsz", "64", "--no-save", "--out", str(src)]) == 0  # json only
    assert {f.name: f.read_bytes() for f in src.iterdir() if f.suffix == ".jpg"} == before


# ------------------------------------------------------------------------------ --max-drop in points
@pytest.mark.parametrize("value", ["-1", "100", "nan"])
def test_prune_max_drop_out_of_range_is_one_line(value, work, val_as_train_data, capsys):
    rc = main(["prune", f"{work}/m.pt", "--ratio", "0.3", "--imgsz", "64", "--steps", "2", "--data",
               str(val_as_train_data), "--workdir", f"{work}/steps", "--out", f"{work}/p.pt", "--max-drop", value])
    err = capsys.readouterr().err.strip().splitlines()
    assert rc != 0 and len(err) == 1 and "mAP50-95 points" in err[0], err
    assert not (work / "steps").exists()  # before any work


@pytest.mark.parametrize("extra, msg", [([], "add --steps N"), (["--steps", "2", "--teacher", "nowhere.pt"], "'nowhere.pt' not found")])
def test_prune_teacher_is_checked_before_any_step(extra, msg, work, val_as_train_data, capsys):
    rc = main(["prune", f"{work}/m.pt", "--ratio", "0.3", "--imgsz", "64", "--data", str(val_as_train_data),
               "--workdir", f"{work}/steps", "--out", f"{work}/p.pt", *(extra or ["--teacher", "input"])])
    err = capsys.readouterr().err.strip().splitlines()
    assert rc != 0 and len(err) == 1 and msg in err[0], err
    assert not (work / "steps").exists() and not (work / "p.pt").exists()


def test_prune_iterative_max_drop_is_checked(tiny_pt, val_as_train_data, tmp_path):
    from yolo_compress.config import PruneConfig
    from yolo_compress.prune.schedule import prune_iterative
    from yolo_compress.train import FinetuneConfig

    with pytest.raises(ConfigError, match="mAP50-95 points"):
        prune_iterative(tiny_pt, str(val_as_train_data), PruneConfig(ratio=0.3, imgsz=64), 2, FinetuneConfig(),
                        tmp_path / "it", max_drop=-0.5)
    assert not (tmp_path / "it").exists()


def test_quantize_max_drop_is_points():
    from yolo_compress.config import QuantConfig

    for bad in (-1.0, 100.0):
        with pytest.raises(ConfigError, match="mAP50-95 points"):
            QuantConfig(max_drop=bad, data="d.yaml")


def test_default_outputs_never_land_in_the_installed_package(tmp_path, monkeypatch):
    """Without --out an output goes beside its input, except for the built-in model: exporting or pruning it
    must not write into the package folder (site-packages), so those outputs go to the working directory."""
    from yolo_compress.config import QuantConfig
    from yolo_compress.export.exporter import default_output as export_out
    from yolo_compress.io import beside
    from yolo_compress.quant.quantize import default_output as quant_out
    from yolo_compress.shipped import DEFAULT_MODEL

    monkeypatch.chdir(tmp_path)
    assert beside(DEFAULT_MODEL, "m-pruned.pt") == tmp_path / "m-pruned.pt"
    assert export_out(DEFAULT_MODEL, "onnx") == tmp_path / f"{DEFAULT_MODEL.stem}.onnx"
    assert quant_out(DEFAULT_MODEL, QuantConfig(mode="fp16")).parent == tmp_path
    mine = tmp_path / "models" / "m.pt"
    assert beside(mine, "m-fused.pt") == mine.with_name("m-fused.pt")
    assert export_out(mine, "onnx") == mine.with_suffix(".onnx")
