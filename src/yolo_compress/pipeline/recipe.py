"""Recipe files: one YAML that names the model, the data and an ordered list of stages, validated before
any work with errors that point at the line and key.

```yaml
model: model.pt            # default: the built-in reference YOLOv8n
data: data.yaml            # default: the built-in 60 garbage-320 images
imgsz: 320                 # default: the model's training size (Ultralytics' train_args)
teacher: input             # for distill stages: 'input' (self-distillation from the recipe's model) or a .pt
runtimes: [onnxruntime, openvino]
targets: {max_map_drop: 1.5, max_latency_ratio: 0.35, min_size_reduction: 4}
bench: {threads: 2, runs: 50, rounds: 1}
stages:
  - prune: {target_flops: 0.5, criterion: l2}
  - distill: {epochs: 8, losses: {cls_kl: 1, ld: 1, cwd: 1}}
  - quantize: {backend: openvino}
```

``holdout: 200`` leaves 200 train images out of every stage's training (``RUN/holdout/``, a fixed draw) and
makes them the control set of ``max_drop`` quantize stages: images no stage fit. The input model may still have
trained on them, and on a YOLO26n cut they read INT8's cost low all the same (BENCHMARKS.md section 11): a split
the input never saw (``quantize: {control_split: NAME}``) is the dependable control set.

A latency budget instead of a hand-found level: ``targets: {max_latency_ms: X}`` (on the device) or
``{max_latency_ratio: R}`` (of the input's ONNX Runtime FP32 there) with ``prune: {target_flops: auto}`` and/or
``quantize: {backend: auto}``; ``device_profile: device.json`` (from ``yolo-compress profile``, e.g. made on
the target board) or, when absent, the run profiles this machine first into ``RUN/device.json``. The
decision (``profile.choose``) is made before any stage; an unattainable budget is refused then.
"""

from __future__ import annotations

import difflib
from dataclasses import dataclass, field, fields
from pathlib import Path
from typing import Any

from ..config import BenchConfig, TargetsConfig, check_types
from ..errors import ConfigError, YoloCompressError
from .stages import RECIPE_CHECKS, STAGES, Context, list_stages

TOP_KEYS = ("model", "data", "imgsz", "teacher", "runtimes", "targets", "bench", "stages", "name", "device_profile",
            "holdout")
TARGET_KEYS = tuple(f.name for f in fields(TargetsConfig))
RUNTIMES = ("onnxruntime", "openvino", "litert")  # each .pt stage is exported (FP32) and benched on every one


@dataclass(frozen=True)
class Stage:
    index: int  # 1-based
    kind: str
    options: dict  # as written in the recipe
    line: int | None = None
    config: Any = None  # the typed config (parsed once, checked at load)

    @property
    def label(self) -> str:
        return f"{self.index:02d}-{self.kind}"

    @property
    def spec(self):
        return STAGES[self.kind]

    @property
    def produces(self) -> str:
        return STAGES[self.kind].produces


@dataclass(frozen=True)
class Recipe:
    path: Path | None
    model: str
    data: str
    imgsz: int
    stages: tuple[Stage, ...]
    teacher: str | None = None
    runtimes: tuple[str, ...] = ("onnxruntime",)
    targets: dict = field(default_factory=dict)
    bench: dict = field(default_factory=dict)
    name: str = "recipe"
    device_profile: str | None = None  # a device profile JSON for the 'auto' stages (None: profile here)
    holdout: int = 0  # train images no training stage sees; a max_drop quantize stage's control images

    def as_dict(self) -> dict:
        return {"name": self.name, "model": self.model, "data": self.data, "imgsz": self.imgsz,
                **({"device_profile": self.device_profile} if self.device_profile else {}),
                **({"holdout": self.holdout} if self.holdout else {}),
                "teacher": self.teacher, "runtimes": list(self.runtimes), "targets": dict(self.targets),
                "bench": dict(self.bench), "stages": [{s.kind: dict(s.options)} for s in self.stages]}

    def context(self, threads: int | None = None, console=None) -> Context:
        return Context(self.model, self.data, self.imgsz, self.teacher, threads, console, holdout=self.holdout)


class _Lines:
    """Line numbers of keys and list items, from PyYAML's node tree."""

    def __init__(self, text: str):
        import yaml

        self.lines: dict[tuple, int] = {}
        try:
            node = yaml.compose(text)
        except yaml.YAMLError:
            node = None
        if node is not None:
            self._walk(node, ())

    def _walk(self, node, path):
        import yaml

        self.lines.setdefault(path, node.start_mark.line + 1)  # a key keeps its own line, not its value's
        if isinstance(node, yaml.MappingNode):
            for k, v in node.value:
                self.lines[path + (k.value,)] = k.start_mark.line + 1
                self._walk(v, path + (k.value,))
        elif isinstance(node, yaml.SequenceNode):
            for i, v in enumerate(node.value):
                self._walk(v, path + (i,))

    def at(self, *path) -> int | None:
        while path and path not in self.lines:
            path = path[:-1]
        return self.lines.get(path)


def _near(word: str, choices) -> str:
    m = difflib.get_close_matches(str(word), list(choices), 1, 0.5)
    return f" (did you mean '{m[0]}'?)" if m else ""


def _check_name(name) -> str | None:
    """A run name becomes a folder under runs/: one plain path part, never '..', absolute or hidden."""
    n = str(name)
    if not n or n in (".", "..") or n.startswith(".") or "/" in n or "\\" in n or Path(n).is_absolute() \
            or "\0" in n or len(n) > 100:
        return (f"name {n!r} is not a plain folder name (no '/', '\\', '..', leading '.' or absolute path); "
                "it names the run folder under runs/, e.g. 'edge-cpu'")
    return None


def load_recipe(source: str | Path, base_dir: Path | None = None, overrides: dict | None = None,
                check: bool = True) -> Recipe:
    """Read a recipe (a path, or the name of a built-in recipe), parse every stage into its typed config once
    and run every stage's ``check`` and the recipe checks (``check=False`` skips those). Raises
    ConfigError / UnsupportedError with ``file:line:`` in front of the message, before any work."""
    import yaml

    p = builtin_recipe(str(source)) or Path(source).expanduser()
    if not p.exists():
        raise ConfigError(f"recipe '{source}' not found; pass a recipe YAML or a built-in name: "
                          f"{', '.join(list_builtin())}")
    text = p.read_text()
    where = _Lines(text)

    def at(*path) -> str:
        line = where.at(*path)
        return f"{p}{f':{line}' if line else ''}"

    def fail(msg: str, *path) -> None:
        raise ConfigError(f"{at(*path)}: {msg}")

    try:
        raw = yaml.safe_load(text)
    except yaml.YAMLError as e:
        mark = getattr(e, "problem_mark", None)
        raise ConfigError(f"{p}{f':{mark.line + 1}' if mark else ''}: not valid YAML "
                          f"({getattr(e, 'problem', None) or e})") from None
    if not isinstance(raw, dict):
        fail("a recipe is a mapping with at least 'stages:'")
    from_file = set(raw)
    overrides = dict(overrides or {})
    epochs = overrides.pop("epochs", None)  # `run --epochs N`: every training stage's epochs, not a top-level key
    if epochs is not None and (isinstance(epochs, bool) or not isinstance(epochs, int) or epochs < 1):
        raise ConfigError(f"--epochs {epochs!r}: give a whole number of training epochs >= 1 for the recipe's "
                          f"training stages")
    for k, v in overrides.items():  # command-line values (absolute paths) win over the file's
        if v is not None:
            raw[k] = str(Path(v).expanduser().resolve()) if k in ("model", "data", "teacher") and v != "input" else v
            from_file.discard(k)
    for k in raw:
        if k not in TOP_KEYS:
            fail(f"unknown key '{k}'{_near(k, TOP_KEYS)}; valid keys: {', '.join(TOP_KEYS)}", k)
    if "name" in raw and (msg := _check_name(raw["name"])):
        fail(msg, "name")
    for k in ("model", "data", "teacher", "device_profile"):
        if raw.get(k) is not None and not isinstance(raw[k], str):
            fail(f"'{k}' is {raw[k]!r}; expected a path (a string)", k)
    base = base_dir or p.parent
    from ..shipped import DEFAULT_DATA, DEFAULT_IMGSZ, DEFAULT_MODEL

    def path_of(key: str, default: Path) -> str:
        v = raw.get(key)
        if v is None:
            return str(default)
        q = Path(str(v)).expanduser()
        return str(q if q.is_absolute() else (base / q).resolve())

    model, data = path_of("model", DEFAULT_MODEL), path_of("data", DEFAULT_DATA)
    imgsz = raw.get("imgsz")
    if imgsz is None:  # the model's training size, as Ultralytics trains and exports it (the built-in model: 320)
        from ..io import checkpoint_state

        imgsz = ((checkpoint_state(model) or {}).get("imgsz") if model.endswith(".pt") else None) or DEFAULT_IMGSZ
    try:
        from ..config import _check_imgsz

        _check_imgsz(imgsz, "imgsz")
    except ConfigError as e:
        fail(str(e), "imgsz")
    teacher = raw.get("teacher")
    if teacher is not None and teacher != "input":
        teacher = path_of("teacher", Path())
    device_profile = path_of("device_profile", Path()) if raw.get("device_profile") is not None else None
    if device_profile is not None and not Path(device_profile).is_file():
        fail(f"device_profile '{device_profile}' not found; make it with 'yolo-compress profile MODEL --imgsz "
             f"{imgsz} --out device.json' (on the target device), or drop the key to profile this machine",
             "device_profile")
    runtimes = raw.get("runtimes", ["onnxruntime"])
    if isinstance(runtimes, str):
        runtimes = [runtimes]
    if not isinstance(runtimes, list):
        fail(f"'runtimes' is {runtimes!r}; expected a list such as [onnxruntime, openvino]", "runtimes")
    from ..export.formats import check_export_request
    from ..runtime.runtimes import EXPORT_FORMAT as FMT

    for r in runtimes:
        if r not in RUNTIMES:
            fail(f"runtime '{r}' is unknown{_near(r, RUNTIMES)}; choose from {', '.join(RUNTIMES)}", "runtimes")
        try:  # every .pt stage is exported for each runtime: one this machine cannot produce is refused now
            check_export_request(FMT[r], False, False)
        except YoloCompressError as e:
            fail(f"runtime '{r}': {e}", "runtimes")
    def section(key: str, what: str, example: str, cls, valid, **fixed) -> dict:
        """A top-level mapping (targets, bench): its keys, their types, then the typed config's own checks."""
        sec = raw.get(key) or {}
        if not isinstance(sec, dict):
            fail(f"'{key}' must be a mapping such as {example}", key)
        for k in sec:
            if k not in valid:
                fail(f"unknown {what} '{k}'{_near(k, valid)}; valid: {', '.join(valid)}", key, k)
        if bad := check_types(cls, sec):
            fail(f"{what.split()[0]} {bad[1]}", key, bad[0])
        try:
            cls(**sec, **fixed)
        except ConfigError as e:
            fail(str(e), key)
        return sec

    targets = section("targets", "target", "{max_map_drop: 1.5}", TargetsConfig, TARGET_KEYS)
    bench = section("bench", "bench key", "{threads: 2, runs: 50}", BenchConfig,
                      [f.name for f in fields(BenchConfig) if f.name not in ("data", "imgsz")], data=data, imgsz=imgsz)
    holdout = raw.get("holdout", 0)
    if isinstance(holdout, bool) or not isinstance(holdout, int) or holdout < 0:
        fail(f"holdout is {holdout!r}; give a number of train images (e.g. 200) that the training stages leave "
             f"out and a max_drop quantize stage measures on, or 0", "holdout")
    ctx = Context(model, data, int(imgsz), teacher, holdout=holdout)
    stages_raw = raw.get("stages")
    if not isinstance(stages_raw, list) or not stages_raw:
        fail("'stages:' must be a non-empty list, e.g. '- prune: {target_flops: 0.5}'", "stages")
    stages = []
    artifact_seen = None
    trained = 0
    for i, item in enumerate(stages_raw):
        if isinstance(item, str):
            item = {item: {}}
        if not isinstance(item, dict) or len(item) != 1:
            fail("each stage is one 'name: {options}' entry", "stages", i)
        (kind, opts), = item.items()
        opts = opts or {}
        if epochs is not None and kind in STAGES and isinstance(opts, dict) and "epochs" in STAGES[kind].keys():
            opts, trained = {**opts, "epochs": epochs}, trained + 1
        if kind not in STAGES:
            fail(f"unknown stage '{kind}'{_near(kind, STAGES)}; stages: {', '.join(list_stages())}", "stages", i)
        if not isinstance(opts, dict):
            fail(f"options of stage '{kind}' must be a mapping", "stages", i, kind)
        spec = STAGES[kind]
        keys = spec.keys()
        for k in opts:
            if k not in keys:
                fail(f"stage {i + 1} '{kind}': unknown key '{k}'{_near(k, keys)}; valid: "
                     f"{', '.join(sorted(keys))}", "stages", i, kind, k)
        if bad := spec.check_types(opts):
            fail(f"stage {i + 1} '{kind}': {bad[1]}", "stages", i, kind, bad[0])
        if artifact_seen is not None and spec.produces == "pt":
            fail(f"stage {i + 1} '{kind}' changes the PyTorch model, but stage {artifact_seen[0]} "
                 f"'{artifact_seen[1]}' already turned it into a deployable artifact; move '{kind}' before "
                 f"'{artifact_seen[1]}'", "stages", i)
        if spec.produces == "artifact" and artifact_seen is None:
            artifact_seen = (i + 1, kind)
        if kind == "distill" and teacher is None:
            fail("a distill stage needs 'teacher:' at the top of the recipe ('input' for self-distillation "
                 "from the recipe's model, or a .pt path), or 'run --teacher PATH'", "stages", i)
        try:
            cfg = spec.parse(opts, ctx)
        except (YoloCompressError, TypeError, ValueError) as e:
            fail(f"stage {i + 1} '{kind}': {e}", "stages", i, kind)
        stages.append(Stage(i + 1, kind, dict(opts), where.at("stages", i), cfg))
    if epochs is not None and not trained:
        raise ConfigError(f"--epochs {epochs}: recipe '{p}' has no training stage to apply it to (stages: "
                          f"{', '.join(s.kind for s in stages)}); drop --epochs")
    if teacher not in (None, "input") and not Path(teacher).exists():
        fail(f"teacher '{teacher}' not found; give a trained .pt, or 'input' for self-distillation", "teacher")
    recipe = Recipe(p, model, data, int(imgsz), tuple(stages), teacher, tuple(runtimes), dict(targets), dict(bench),
                    str(raw.get("name") or p.stem), device_profile, holdout)
    if check:  # the recipe checks (the first: model, data and teacher load), then every stage's check
        for fn in RECIPE_CHECKS:
            try:
                fn(recipe, ctx)
            except YoloCompressError as e:
                key = getattr(e, "key", ())
                if key and key[0] in from_file:
                    e.args = (f"{at(*key)}: {e}",)
                raise e from None
        for st in stages:
            try:
                st.spec.check(st.config, ctx)
            except YoloCompressError as e:
                key = getattr(e, "key", ())
                path = ("stages", st.index - 1, st.kind, *key) if key and key[0] != "teacher" else (key or ("stages", st.index - 1))
                e.args = (f"{at(*path)}: stage {st.index} '{st.kind}': {e}",)
                raise e from None
    return recipe


def locate(recipe: Recipe, *key) -> str:
    """``file:line`` of ``key`` (e.g. ``'targets', 'max_latency_ms'``) in the recipe file, for errors raised
    after loading (the runner's latency-budget decision on a profile it made)."""
    if recipe.path is None or not recipe.path.exists():
        return "recipe"
    line = _Lines(recipe.path.read_text()).at(*key)
    return f"{recipe.path}{f':{line}' if line else ''}"


def check_recipe(source: str | Path, overrides: dict | None = None) -> Recipe:
    """``yolo-compress run --check``: parse, every stage's check, the recipe checks; no work."""
    return load_recipe(source, overrides=overrides, check=True)


def builtin_dir() -> Path:
    from ..shipped import RECIPES

    return RECIPES


def list_builtin() -> list[str]:
    return sorted(p.stem for p in builtin_dir().glob("*.yaml"))


def builtin_recipe(name: str) -> Path | None:
    p = builtin_dir() / f"{name}.yaml"
    return p if name in list_builtin() and p.exists() else None
