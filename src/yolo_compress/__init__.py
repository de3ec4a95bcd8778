"""yolo-compress: make trained Ultralytics YOLO detectors small and fast, measured the same way."""

from . import env  # noqa: F401  (offline settings first)

__version__ = "0.1.0"


def __getattr__(name):  # lazy: `import yolo_compress` stays cheap (the timing worker relies on it)
    import importlib

    if name.startswith("__"):
        raise AttributeError(name)
    api = importlib.import_module("yolo_compress.api")
    if name in api.__all__:
        return getattr(api, name)
    raise AttributeError(name)
