"""Calibration and control images for quantization, drawn from the *train* split.

Calibration images set the INT8 ranges; control images (disjoint from them) measure the mAP drop that
accuracy-aware mixed precision works against. Neither touches the val split, so the mAP we report on val
is not tuned on. Train images understate INT8's cost (the model has fit them: BENCHMARKS.md section 11), so
a dataset with a split the model never trained on and that is not reported on can give the control images
instead (``control_split``). Both go through the one ``data.preprocess`` path used by the bench.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ..data import DataSpec, Sample, preprocess, read_image
from ..errors import DataError

RECOMMENDED_CALIB = 300


@dataclass(frozen=True)
class QuantData:
    calib: list[np.ndarray]  # preprocessed (1, 3, H, W) float32 tensors
    control: list[Sample]
    names: dict[int, str]
    warnings: tuple[str, ...] = ()


def split_train(spec: DataSpec, calib_images: int, control_images: int, imgsz: int, seed: int = 0,
                need_control: bool = False, control_split: str = "train") -> QuantData:
    """Draw ``calib_images`` and (if asked) ``control_images`` disjoint train images, deterministically; with
    ``control_split`` another split of the YAML (e.g. ``test``, or ``val`` when you report on ``test``), the
    control images are drawn from it instead and every train image can calibrate."""
    chk = spec.check("train")  # Ultralytics' rules: corrupt images and bad label files are left out
    files = list(chk.labels)
    if not files:
        raise DataError(f"dataset '{spec.yaml_path}' has no train images for calibration; add images to its train split")
    order = np.random.default_rng(seed).permutation(len(files))
    own = need_control and control_split != "train"
    n_control = min(control_images, len(files) // 2) if need_control and not own else 0
    control_idx = order[:n_control]
    rest = order[n_control:]
    calib_idx = rest[: min(calib_images, len(rest))]
    warnings = []
    if len(calib_idx) < min(calib_images, RECOMMENDED_CALIB):
        warnings.append(f"only {len(calib_idx)} calibration images (asked {calib_images}); "
                        f"{RECOMMENDED_CALIB}+ are recommended")
    elif calib_images < RECOMMENDED_CALIB:
        warnings.append(f"{calib_images} calibration images; {RECOMMENDED_CALIB}+ are recommended")
    if own:
        cchk = spec.check(control_split)
        cfiles = list(cchk.labels)
        if not cfiles:
            raise DataError(f"dataset '{spec.yaml_path}' has no '{control_split}' images for --control-split; "
                            f"add images to it or leave --control-split at train")
        pick = np.random.default_rng(seed).permutation(len(cfiles))[:control_images]
        control = [Sample(cfiles[i], read_image(cfiles[i]), cchk.labels[cfiles[i]]) for i in pick]
        if len(control) < control_images:
            warnings.append(f"only {len(control)} control images (asked {control_images}) in the "
                            f"'{control_split}' split")
    else:
        if need_control and n_control < control_images:
            warnings.append(f"only {n_control} control images (asked {control_images}): the train split is small")
        control = [Sample(files[i], read_image(files[i]), chk.labels[files[i]]) for i in control_idx]
    calib = [preprocess([read_image(files[i])], imgsz)[0] for i in calib_idx]
    return QuantData(calib, control, spec.names, tuple(warnings))
