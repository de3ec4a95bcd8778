"""The files shipped in ``assets/`` (CC BY 4.0, see ``assets/ATTRIBUTION.md``): a YOLOv8n trained on
garbage-320 for 200 epochs, 60 of its val images, and the built-in recipes. The defaults a recipe falls back
on and the images export and reparam check parity on when the user gives no dataset."""

from __future__ import annotations

from importlib import resources
from pathlib import Path

import numpy as np

ASSETS = Path(str(resources.files("yolo_compress") / "assets"))
DEFAULT_MODEL = ASSETS / "yolov8n-garbage320-200ep.pt"
DEFAULT_DATA = ASSETS / "garbage60" / "data.yaml"
DEFAULT_IMGSZ = 320
RECIPES = ASSETS / "recipes"


def demo_images(n: int = 8) -> list[np.ndarray]:
    """Real images for parity checks when the user gives no dataset."""
    from .data import load_data

    return [s.image for s in load_data(DEFAULT_DATA).samples("val", n)]
