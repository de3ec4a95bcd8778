"""Shared fixtures: tiny models built from Ultralytics YAMLs, small real data shipped in the package.

No test downloads anything: in-process network connections are refused (see ``no_network``), and
Ultralytics runs with YOLO_OFFLINE=1.
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
from pathlib import Path

import pytest

os.environ["YOLO_OFFLINE"] = "1"
os.environ["YOLO_COMPRESS_PROGRESS"] = "0"
# OpenVINO's and NNCF's usage telemetry is on by default and forks a process per event (in a process that may hold
# JAX's threads after a LiteRT export: "os.fork() ... will likely lead to a deadlock"); both skip it under CI=true,
# their documented switch besides the user's consent file (`opt_in_out --opt_out`), which a test must not write.
os.environ.setdefault("CI", "true")
# `make test` runs 2 xdist workers on 2 cores: one training thread each (AllCoresTrainer would take every core)
os.environ.setdefault("YOLO_COMPRESS_THREADS", "1")

from yolo_compress.shipped import DEFAULT_DATA, DEFAULT_MODEL  # noqa: E402

TINY_IMGSZ = 64

# The suite's longest tests (seconds each on a 2-core VM, `make test`'s --durations, 2026-12-07 00:10 UTC), first:
# xdist hands the first quarter of the collection out round-robin, so these are split between the two workers from
# the start instead of one of them running a 100-s test at the end while the other idles (longest first). Only the
# order changes; a test missing from here runs where it is collected.
HEAVY_FIRST = (
    "tests/test_resume.py::test_killed_at_many_points_always_resumes_to_the_same_report",  # ~98 s
    "tests/test_seed_chain.py::test_seed_chain_end_to_end_on_yolov9",  # ~39 s
    "tests/test_resume.py::test_fixed_recipe_keeps_finished_stages_and_changed_inputs_are_redone",  # ~32 s
    "tests/test_train.py::test_iterative_schedule_resumes_and_reaches_target",  # ~23 s
    "tests/test_quant.py::test_openvino_full_bias_correction_reaches_nncf",  # ~21 s
    "tests/test_quant.py::test_max_drop_tries_the_detect_head_in_float_first",  # ~20 s each, 2 runtimes
    "tests/test_quant.py::test_qat_trains_with_fake_quant_and_exports_int8",  # ~19 s
    "tests/test_surgery.py::test_surgery_on_reference_v8n_changes_cost_and_stays_a_valid_model",  # ~18 s
    "tests/test_train.py::test_iterative_prune_and_distill",  # ~16 s
)


def pytest_collection_modifyitems(session, config, items):
    """Start the longest tests first (HEAVY_FIRST's order), the rest in collection order. Deterministic, as xdist
    needs: every worker collects and sorts the same list."""
    def rank(item) -> int:
        for i, prefix in enumerate(HEAVY_FIRST):
            if item.nodeid == prefix or item.nodeid.startswith(prefix + "["):
                return i
        return len(HEAVY_FIRST)

    items[:] = sorted(items, key=rank)  # stable: equal ranks keep their collection order


@pytest.fixture(autouse=True)
def no_network(monkeypatch):
    """Any attempt to open an internet socket from the code under test fails the test."""
    real_connect = socket.socket.connect

    def guarded(self, address):
        if self.family in (socket.AF_INET, socket.AF_INET6):
            raise RuntimeError(f"test tried to reach the network: {address}")
        return real_connect(self, address)

    monkeypatch.setattr(socket.socket, "connect", guarded)


@pytest.fixture(scope="session", autouse=True)
def export_cache(tmp_path_factory) -> Path:
    """The FP32-export cache (export/cache.py) of this test session, shared by the xdist workers (and the CLI
    subprocesses, through the environment): never the user's ~/.cache, and empty at the start of every session."""
    base = tmp_path_factory.getbasetemp()
    root = (base.parent if os.environ.get("PYTEST_XDIST_WORKER") else base) / "yc-export-cache"
    os.environ["YOLO_COMPRESS_CACHE"] = str(root)
    return root


@pytest.fixture(scope="session")
def tiny_pt(tmp_path_factory) -> Path:
    """An untrained YOLOv8n with 3 classes saved as a normal Ultralytics checkpoint."""
    from yolo_compress.models import load_model, save_model

    return save_model(load_model("yolov8n.yaml", nc=3), tmp_path_factory.mktemp("tiny") / "tiny-v8n.pt")


@pytest.fixture(scope="session")
def tiny_onnx(tiny_pt, tmp_path_factory) -> Path:
    from yolo_compress.api import ExportConfig, export

    out = tmp_path_factory.mktemp("tiny-onnx") / "tiny-v8n.onnx"
    return export(tiny_pt, ExportConfig(format="onnx", imgsz=TINY_IMGSZ), out=out).artifact.path


@pytest.fixture(scope="session")
def default_model() -> Path:
    return DEFAULT_MODEL


@pytest.fixture(scope="session")
def default_data() -> Path:
    return DEFAULT_DATA


@pytest.fixture(scope="session")
def val_as_train_data(tmp_path_factory) -> Path:
    """The 60 shipped val images as both train and val split: the quick data for training, calibration and
    recipe tests (tests that need disjoint splits use ``default_data``, whose train split is separate)."""
    d = tmp_path_factory.mktemp("val-as-train")
    imgs = (DEFAULT_DATA.parent / "images" / "val").resolve()
    y = d / "data.yaml"
    y.write_text(f"train: {imgs}\nval: {imgs}\nnames: {{0: garbage, 1: garbage_bin, 2: overflow}}\n")
    return y


@pytest.fixture(scope="session")
def small_dataset(tmp_path_factory) -> Path:
    """The 60 shipped val images as a train+val set in a writable copy (Ultralytics writes label caches beside
    the labels, and the shipped folder must stay untouched)."""
    root = tmp_path_factory.mktemp("ds")
    shutil.copytree(DEFAULT_DATA.parent / "images", root / "images")
    shutil.copytree(DEFAULT_DATA.parent / "labels", root / "labels")
    y = root / "data.yaml"
    y.write_text("train: images/val\nval: images/val\nnames: [garbage, garbage_bin, overflow]\n")
    return y


@pytest.fixture(scope="session")
def few_images_data(tmp_path_factory) -> Path:
    """16 of the shipped val images (every 3rd, by name) as both splits, listed in a .txt: for end-to-end runs
    whose checks do not depend on how many images train or score (keeps the suite inside its budget)."""
    d = tmp_path_factory.mktemp("few-images")
    imgs = sorted((DEFAULT_DATA.parent / "images" / "val").resolve().glob("*.jpg"))[::3][:16]
    assert len(imgs) == 16
    (d / "few.txt").write_text("".join(f"{p}\n" for p in imgs))
    y = d / "data.yaml"
    y.write_text(f"train: {d / 'few.txt'}\nval: {d / 'few.txt'}\nnames: {{0: garbage, 1: garbage_bin, 2: overflow}}\n")
    return y


def run_cli(*args: str, cwd: Path | None = None, isolated: bool = False) -> subprocess.CompletedProcess:
    """Run the real CLI as a user would, by its entry point ``main(argv)``: its exit code, and its stdout and stderr
    captured at the file-descriptor level (so C-level output from ONNX Runtime or OpenVINO is caught too).

    In this process by default: a fresh interpreter costs 2-3 s of imports per call, a quarter of the suite's 10
    minutes. The global state a run may touch (environment, working folder, warning filters, logger levels,
    PyTorch threads, the progress console) is restored after it. ``isolated=True``, or YC_TEST_CLI_SUBPROCESS=1
    for the whole suite, runs it in a subprocess instead: for checks on what a process imports or inherits."""
    if isolated or os.environ.get("YC_TEST_CLI_SUBPROCESS") == "1":
        env = {**os.environ, "YOLO_OFFLINE": "1", "YOLO_COMPRESS_PROGRESS": "0"}
        return subprocess.run([sys.executable, "-m", "yolo_compress.cli", *args], capture_output=True, text=True,
                              cwd=cwd, env=env, timeout=600)
    return _cli_in_process([str(a) for a in args], cwd)


def _cli_in_process(argv: list[str], cwd: Path | None) -> subprocess.CompletedProcess:
    import contextlib
    import io
    import logging
    import tempfile
    import traceback
    import warnings

    from yolo_compress import cli, progress

    torch = sys.modules.get("torch")
    threads = torch.get_num_threads() if torch else None
    saved = dict(os.environ), os.getcwd(), progress._CONSOLE
    levels = {n: logging.getLogger(n).level for n in ("ultralytics", "nncf")}
    py_out, py_err = io.StringIO(), io.StringIO()
    with tempfile.TemporaryFile() as fd_out, tempfile.TemporaryFile() as fd_err:
        sys.stdout.flush()
        sys.stderr.flush()
        keep = os.dup(1), os.dup(2)
        os.dup2(fd_out.fileno(), 1)
        os.dup2(fd_err.fileno(), 2)
        try:
            with warnings.catch_warnings(), contextlib.redirect_stdout(py_out), contextlib.redirect_stderr(py_err):
                os.environ.update(YOLO_OFFLINE="1", YOLO_COMPRESS_PROGRESS="0")
                if cwd is not None:
                    os.chdir(cwd)
                try:
                    code = cli.main(argv)
                except SystemExit as e:  # argparse, or a command that exits
                    code = e.code if isinstance(e.code, int) else 0 if e.code is None else 1
                    if not isinstance(e.code, (int, type(None))):
                        print(e.code, file=sys.stderr)
                except BaseException:  # noqa: BLE001 - what the interpreter would print: a traceback, exit 1
                    traceback.print_exc()
                    code = 1
        finally:
            os.dup2(keep[0], 1)
            os.dup2(keep[1], 2)
            os.close(keep[0])
            os.close(keep[1])
            os.environ.clear()
            os.environ.update(saved[0])
            os.chdir(saved[1])
            progress.use_console(saved[2])
            for n, level in levels.items():
                logging.getLogger(n).setLevel(level)
            if torch is not None or "torch" in sys.modules:
                sys.modules["torch"].set_num_threads(threads or int(os.environ.get("YOLO_COMPRESS_THREADS", "1")))
        fd_out.seek(0)
        fd_err.seek(0)
        out = py_out.getvalue() + fd_out.read().decode(errors="replace")
        err = py_err.getvalue() + fd_err.read().decode(errors="replace")
    return subprocess.CompletedProcess([sys.executable, "-m", "yolo_compress.cli", *argv], code, out, err)


def kill_after(args: list[str], marker: Path, timeout: float = 300, epoch: int = 1) -> None:
    """Start the CLI with ``args`` and SIGKILL its whole process group once its training has saved epoch
    ``epoch``'s checkpoint ``marker``: a hard interruption, as a power cut or an OOM kill would be. The trainer
    holds there ($YOLO_COMPRESS_HOLD_AFTER_EPOCH) until killed, so the kill lands mid-run on any CPU."""
    import signal
    import tempfile
    import time

    held = Path(tempfile.mkdtemp(prefix="yc-hold-")) / "held"
    env = {**os.environ, "YOLO_OFFLINE": "1", "YOLO_COMPRESS_PROGRESS": "0",
           "YOLO_COMPRESS_HOLD_AFTER_EPOCH": f"{epoch}:{held}"}
    proc = subprocess.Popen([sys.executable, "-m", "yolo_compress.cli", *args], stdout=subprocess.DEVNULL,
                            stderr=subprocess.DEVNULL, start_new_session=True, env=env)
    deadline = time.time() + timeout
    while not held.exists() and time.time() < deadline and proc.poll() is None:
        time.sleep(0.1)
    os.killpg(proc.pid, signal.SIGKILL)
    proc.wait()
    assert held.exists() and marker.exists(), f"the training never reached epoch {epoch}'s checkpoint {marker}"
