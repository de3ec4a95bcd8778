"""Recipe files: one YAML that names the model, the data and an ordered list of stages, validated before
any work with errors that point at the line and key.

```yaml
model: model.pt            # default: the built-in reference YOLOv8n
data: data.yaml            # default: the built-in 60 garbage-320 images
imgsz: 320
teacher: input             # for distill stages: 'input' (self-distillation from the recipe's model) or a .pt
runtimes: [onnxruntime, openvino]
targets: {max_map_drop: 1.5, max_latency_ratio: 0.35, min_size_reduction: 4}
bench: {threads: 2, runs: 50, rounds: 1}
stages:
  - prune: {target_flops: 0.5, criterion: l2}
  - distill: {epochs: 8, losses: {cls_kl: 1, ld: 1, cwd: 1}}
  - quantize: {backend: openvino}
```
"""

from __future__ import annotations

import difflib
from dataclasses import dataclass, field, fields
from pathlib import Path
from typing import Any

from ..config import BenchConfig, DistillConfig, ExportConfig, PruneConfig, QuantConfig
from ..errors import ConfigError, YoloCompressError

TOP_KEYS = ("model", "data", "imgsz", "teacher", "runtimes", "targets", "bench", "stages", "name")
TARGET_KEYS = ("max_map_drop", "max_latency_ratio", "min_size_reduction")
RUNTIMES = ("onnxruntime", "openvino")


def _train_keys() -> set[str]:
    from ..train import FinetuneConfig

    return {f.name for f in fields(FinetuneConfig)} - {"imgsz"}


@dataclass(frozen=True)
class StageKind:
    name: str
    produces: str  # "pt" (a checkpoint further stages can change) or "artifact" (a deployable, final)
    keys: frozenset[str]
    doc: str


def _keys(cls, drop=("imgsz", "data")) -> frozenset[str]:
    return frozenset(f.name for f in fields(cls)) - set(drop)


STAGES: dict[str, StageKind] = {}


def _register(kind: StageKind) -> None:
    STAGES[kind.name] = kind


_register(StageKind("prune", "pt", _keys(PruneConfig), "structured pruning (PruneConfig)"))
_register(StageKind("finetune", "pt", frozenset(_train_keys()), "fine-tune keeping the architecture"))
_register(StageKind("distill", "pt", frozenset(_train_keys()) | _keys(DistillConfig), "KD from the teacher"))
_register(StageKind("surgery", "pt", frozenset({"kind", "layers"}), "replace k x k convs (dwsep/factorized/dynamic)"))
_register(StageKind("reparam", "pt", frozenset({"tolerance"}), "BN folding + RepConv fusion, checked exact"))
_register(StageKind("quantize", "artifact", _keys(QuantConfig), "INT8 / FP16 artifact (QuantConfig)"))
_register(StageKind("export", "artifact", _keys(ExportConfig), "FP32 / FP16 export (ExportConfig)"))


@dataclass(frozen=True)
class Stage:
    index: int  # 1-based
    kind: str
    options: dict
    line: int | None = None

    @property
    def label(self) -> str:
        return f"{self.index:02d}-{self.kind}"


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

    def as_dict(self) -> dict:
        return {"name": self.name, "model": self.model, "data": self.data, "imgsz": self.imgsz,
                "teacher": self.teacher, "runtimes": list(self.runtimes), "targets": dict(self.targets),
                "bench": dict(self.bench), "stages": [{s.kind: dict(s.options)} for s in self.stages]}


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


def load_recipe(source: str | Path, base_dir: Path | None = None, overrides: dict | None = None) -> Recipe:
    """Read and validate a recipe (a path, or the name of a built-in recipe). Raises ConfigError with
    ``file:line:`` in front of the message."""
    import yaml

    p = builtin_recipe(str(source)) or Path(source).expanduser()
    if not p.exists():
        raise ConfigError(f"recipe '{source}' not found; pass a recipe YAML or a built-in name: "
                          f"{', '.join(list_builtin())}")
    text = p.read_text()
    where = _Lines(text)

    def fail(msg: str, *path) -> None:
        line = where.at(*path)
        raise ConfigError(f"{p}{f':{line}' if line else ''}: {msg}")

    try:
        raw = yaml.safe_load(text)
    except yaml.YAMLError as e:
        mark = getattr(e, "problem_mark", None)
        raise ConfigError(f"{p}{f':{mark.line + 1}' if mark else ''}: not valid YAML "
                          f"({getattr(e, 'problem', None) or e})") from None
    if not isinstance(raw, dict):
        fail("a recipe is a mapping with at least 'stages:'")
    for k, v in (overrides or {}).items():  # command-line values (absolute paths) win over the file's
        if v is not None:
            raw[k] = str(Path(v).expanduser().resolve()) if k in ("model", "data", "teacher") and v != "input" else v
    for k in raw:
        if k not in TOP_KEYS:
            fail(f"unknown key '{k}'{_near(k, TOP_KEYS)}; valid keys: {', '.join(TOP_KEYS)}", k)
    base = base_dir or p.parent
    from ..demo import DEFAULT_DATA, DEFAULT_IMGSZ, DEFAULT_MODEL

    def path_of(key: str, default: Path) -> str:
        v = raw.get(key)
        if v is None:
            return str(default)
        q = Path(str(v)).expanduser()
        return str(q if q.is_absolute() else (base / q).resolve())

    model, data = path_of("model", DEFAULT_MODEL), path_of("data", DEFAULT_DATA)
    imgsz = raw.get("imgsz", DEFAULT_IMGSZ)
    try:
        from ..config import _check_imgsz

        _check_imgsz(imgsz, "imgsz")
    except ConfigError as e:
        fail(str(e), "imgsz")
    teacher = raw.get("teacher")
    if teacher is not None and teacher != "input":
        teacher = path_of("teacher", Path())
    runtimes = raw.get("runtimes", ["onnxruntime"])
    if isinstance(runtimes, str):
        runtimes = [runtimes]
    for r in runtimes:
        if r not in RUNTIMES:
            fail(f"runtime '{r}' is unknown{_near(r, RUNTIMES)}; choose from {', '.join(RUNTIMES)}", "runtimes")
    targets = raw.get("targets") or {}
    for k in targets:
        if k not in TARGET_KEYS:
            fail(f"unknown target '{k}'{_near(k, TARGET_KEYS)}; valid: {', '.join(TARGET_KEYS)}", "targets", k)
    bench = raw.get("bench") or {}
    try:
        BenchConfig(**{**bench, "data": data, "imgsz": imgsz})
    except TypeError:
        bad = next(k for k in bench if k not in {f.name for f in fields(BenchConfig)})
        fail(f"unknown bench key '{bad}'{_near(bad, [f.name for f in fields(BenchConfig)])}", "bench", bad)
    except ConfigError as e:
        fail(str(e), "bench")
    stages_raw = raw.get("stages")
    if not isinstance(stages_raw, list) or not stages_raw:
        fail("'stages:' must be a non-empty list, e.g. '- prune: {target_flops: 0.5}'", "stages")
    stages = []
    artifact_seen = None
    for i, item in enumerate(stages_raw):
        if isinstance(item, str):
            item = {item: {}}
        if not isinstance(item, dict) or len(item) != 1:
            fail("each stage is one 'name: {options}' entry", "stages", i)
        (kind, opts), = item.items()
        opts = opts or {}
        if kind not in STAGES:
            fail(f"unknown stage '{kind}'{_near(kind, STAGES)}; stages: {', '.join(STAGES)}", "stages", i)
        if not isinstance(opts, dict):
            fail(f"options of stage '{kind}' must be a mapping", "stages", i, kind)
        spec = STAGES[kind]
        for k in opts:
            if k not in spec.keys:
                fail(f"stage {i + 1} '{kind}': unknown key '{k}'{_near(k, spec.keys)}; valid: "
                     f"{', '.join(sorted(spec.keys))}", "stages", i, kind, k)
        if artifact_seen is not None and spec.produces == "pt":
            fail(f"stage {i + 1} '{kind}' changes the PyTorch model, but stage {artifact_seen[0]} "
                 f"'{artifact_seen[1]}' already turned it into a deployable artifact; move '{kind}' before "
                 f"'{artifact_seen[1]}'", "stages", i)
        if spec.produces == "artifact" and artifact_seen is None:
            artifact_seen = (i + 1, kind)
        if kind == "distill" and teacher is None:
            fail("a distill stage needs 'teacher:' at the top of the recipe ('input' for self-distillation "
                 "from the recipe's model, or a .pt path)", "stages", i)
        stage = Stage(i + 1, kind, dict(opts), where.at("stages", i))
        try:
            stage_configs(stage, imgsz, data)
        except YoloCompressError as e:
            fail(f"stage {i + 1} '{kind}': {e}", "stages", i, kind)
        stages.append(stage)
    if teacher not in (None, "input") and not Path(teacher).exists():
        fail(f"teacher '{teacher}' not found; give a trained .pt, or 'input' for self-distillation", "teacher")
    return Recipe(p, model, data, int(imgsz), tuple(stages), teacher, tuple(runtimes), dict(targets), dict(bench),
                  str(raw.get("name") or p.stem))


def stage_configs(stage: Stage, imgsz: int, data: str) -> dict[str, Any]:
    """The typed configs a stage runs with (validated: a bad value fails here, before any work)."""
    from ..train import FinetuneConfig

    o = dict(stage.options)
    if stage.kind == "prune":
        from ..prune.importance import CRITERIA

        crit = o.get("criterion", "l2")
        needs = crit in CRITERIA and CRITERIA[crit].needs_gradients
        if "ignore" in o:
            o["ignore"] = tuple(o["ignore"])
        return {"prune": PruneConfig(**o, imgsz=imgsz, data=data if needs else None)}
    if stage.kind == "finetune":
        return {"train": FinetuneConfig(**o, imgsz=imgsz)}
    if stage.kind == "distill":
        kd_keys = _keys(DistillConfig)
        kd = {k: v for k, v in o.items() if k in kd_keys}
        if "stages" in kd:
            kd["stages"] = tuple(kd["stages"])
        return {"distill": DistillConfig(**kd),
                "train": FinetuneConfig(**{k: v for k, v in o.items() if k not in kd_keys}, imgsz=imgsz)}
    if stage.kind == "surgery":
        from ..surgery import KINDS

        if o.get("kind") not in KINDS:
            raise ConfigError(f"surgery needs kind: one of {', '.join(KINDS)}")
        return {"kind": o["kind"], "layers": tuple(o.get("layers") or ())}
    if stage.kind == "reparam":
        tol = o.get("tolerance", 1e-4)
        if not isinstance(tol, (int, float)) or tol <= 0:
            raise ConfigError(f"tolerance {tol!r} must be a positive number such as 1e-4")
        return {"tolerance": float(tol)}
    if stage.kind == "quantize":
        if "ignore" in o:
            o["ignore"] = tuple(o["ignore"])
        return {"quantize": QuantConfig(**o, imgsz=imgsz, data=data)}
    if stage.kind == "export":
        return {"export": ExportConfig(**o, imgsz=imgsz)}
    raise ConfigError(f"unknown stage '{stage.kind}'")  # pragma: no cover - validated before


def builtin_dir() -> Path:
    from ..demo import ASSETS

    return ASSETS / "recipes"


def list_builtin() -> list[str]:
    return sorted(p.stem for p in builtin_dir().glob("*.yaml"))


def builtin_recipe(name: str) -> Path | None:
    p = builtin_dir() / f"{name}.yaml"
    return p if name in list_builtin() and p.exists() else None
