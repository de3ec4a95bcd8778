"""Process-wide settings that must be in place before Ultralytics is imported.

Ultralytics downloads weights, fonts and runs an AMP check from the network; yolo-compress never does.
``YOLO_OFFLINE=1`` turns its online checks off; we also keep its settings file out of the user's home
when ``YOLO_CONFIG_DIR`` is unset and make sure plotting is never reached from our code paths
(``plots=False`` everywhere).
"""

from __future__ import annotations

import os

os.environ.setdefault("YOLO_OFFLINE", "1")
os.environ.setdefault("YOLO_VERBOSE", "False")
# Ultralytics' analytics/sync and hub checks: off.
os.environ.setdefault("ULTRALYTICS_SYNC", "False")


def quiet_ultralytics(verbose: bool = False) -> None:
    """Lower Ultralytics' logger unless the user asked for verbose output."""
    import logging

    for name in ("ultralytics", "nncf"):
        logging.getLogger(name).setLevel(logging.INFO if verbose else logging.WARNING)
