"""Typed errors. Every message names the input, what was wrong, and what to do.

The CLI prints ``str(error)`` as one line and exits with ``error.exit_code``; ``--debug`` shows the
traceback. Library code never ``assert``s on user input: it raises one of these.
"""

from __future__ import annotations


class YoloCompressError(Exception):
    """Base class of every error yolo-compress raises on purpose."""

    exit_code = 2


class InputError(YoloCompressError):
    """A user-supplied file, path or value is missing or invalid."""


class CheckpointError(InputError):
    """A model checkpoint or YAML cannot be loaded as a detection model."""


class DataError(InputError):
    """A dataset YAML or its image/label folders are missing or malformed."""


class ConfigError(InputError):
    """An option or config value is out of range or inconsistent."""


class UnsupportedError(YoloCompressError):
    """What was asked cannot be produced or run on this machine (format, runtime, precision)."""


class CrosscheckError(YoloCompressError):
    """Our evaluator and Ultralytics' ``val()`` disagree on the same artifact and data (``bench --crosscheck``)."""

    exit_code = 3


class ParityError(YoloCompressError):
    """An exported artifact does not reproduce the PyTorch model's outputs."""

    exit_code = 3

    def __init__(self, message: str, report=None):
        super().__init__(message)
        self.report = report
