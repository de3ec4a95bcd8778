"""benchmarks/converged.py (issue 20's convergence tests): the curve verdict and which weights test 2 trains on.
On a fresh checkout a finished zoo run has no weights/ folder (not in git); its last epoch is kept as
``<run>.pt`` beside the folder (zoo.py) or ``<run>/final.pt`` (a benchmark row), and test 2 must use those."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "benchmarks"))


def _run(tmp_path: Path, maps: list[float], epochs: int) -> Path:
    run = tmp_path / "m-garbage320-200ep"
    run.mkdir(parents=True)
    lines = ["epoch,time,metrics/mAP50-95(B)"] + [f"{i + 1},{i},{m}" for i, m in enumerate(maps)]
    (run / "results.csv").write_text("\n".join(lines) + "\n")
    (run / "args.yaml").write_text(f"epochs: {epochs}\n")
    return run


def test_last_epoch_weights_prefers_the_training_then_the_kept_copies(tmp_path):
    import converged

    run = _run(tmp_path, [0.1] * 5, 5)
    with pytest.raises(SystemExit) as e:
        converged.last_epoch_weights(run)
    assert "m-garbage320-200ep" in str(e.value) and "weights/last.pt" in str(e.value)
    beside = tmp_path / "m-garbage320-200ep.pt"
    beside.write_bytes(b"zoo copy")
    assert converged.last_epoch_weights(run) == beside
    (run / "final.pt").write_bytes(b"row copy")
    assert converged.last_epoch_weights(run) == run / "final.pt"
    (run / "weights").mkdir()
    (run / "weights" / "last.pt").write_bytes(b"training")
    assert converged.last_epoch_weights(run) == run / "weights" / "last.pt"


def test_curve_verdicts(tmp_path):
    import converged

    flat = converged.curve(_run(tmp_path / "a", [0.40] * 40 + [0.401] * 30, 70))
    assert flat["passed"] and flat["gain_pt"] == pytest.approx(0.1)
    rising = converged.curve(_run(tmp_path / "b", [0.40] * 40 + [0.41] * 30, 70))
    assert not rising["passed"] and rising["gain_pt"] == pytest.approx(1.0)
    unfinished = converged.curve(_run(tmp_path / "c", [0.40] * 40, 200))
    assert not unfinished["finished"] and "not a verdict" in unfinished["verdict"]
    assert "too short" in converged.curve(_run(tmp_path / "d", [0.4] * 30, 30))["verdict"]
