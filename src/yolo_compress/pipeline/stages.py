"""The stage contract: every pipeline stage registers one :class:`StageDef` with

- ``config``: the typed config its recipe options parse into (``parse``), once, at load time;
- ``produces``: ``"pt"`` (a checkpoint later stages can change) or ``"artifact"`` (a deployable, final);
- ``check(cfg, ctx)``: everything that can be refused before any work (backend / format capability on this
  machine, layer names against the model, teacher file) - run for every stage when the recipe loads;
- ``inputs(cfg, ctx)``: the files besides the input model whose bytes the result depends on (data YAML,
  teacher): hashed into the stage's fingerprint, so a resumed run redoes a stage whose inputs changed;
- ``run(input, cfg, ctx)``: the work, in ``ctx.work`` (a scratch folder renamed into place when done);
  returns ``(output path, info dict)``;
- ``uses_budget(cfg)`` / ``resolve(cfg, ctx)``: a stage whose options say ``auto`` (``prune: {target_flops:
  auto}``, ``quantize: {backend: auto}``) is settled by the run's latency-budget decision (``ctx.decision``,
  from the device profile) before any work: ``resolve`` returns the concrete config, or None to skip the stage.

Add a stage with ``@register_stage`` on a ``StageDef`` subclass; ``list_stages()`` names them in order.
A check that is not about one stage (e.g. a latency target against the runtimes) goes in
:data:`RECIPE_CHECKS` with ``@register_recipe_check``: ``fn(recipe, ctx)`` raising ``ConfigError`` /
``UnsupportedError``; the recipe loader prefixes ``file:line`` of the key it names (``error.key``).
"""

from __future__ import annotations

import shutil
from dataclasses import asdict, dataclass, field, fields
from pathlib import Path
from typing import Any, Callable, ClassVar

from ..config import AUTO, DistillConfig, ExportConfig, PruneConfig, QuantConfig, check_types
from ..errors import ConfigError, InputError


@dataclass
class Context:
    """What every stage sees: the recipe's model / data / imgsz / teacher, the threads, the console, and
    while it runs its scratch folder ``work``."""

    model: str
    data: str
    imgsz: int
    teacher: str | None = None
    threads: int | None = None
    console: Any = None
    work: Path | None = None
    device_profile: str | None = None  # the profile the latency-budget decision read (hashed by 'auto' stages)
    decision: Any = None  # profile.Decision, set by the runner before any stage when a stage says 'auto'
    holdout: int = 0  # the recipe's held-out train images (data.holdout_data): a max_drop quantize's control set
    _layers: set | None = field(default=None, repr=False)

    @property
    def teacher_path(self) -> str | None:
        return self.model if self.teacher == "input" else self.teacher

    def layer_names(self) -> set[str]:
        """Module names of the recipe's model (``model.22.cv2.0``), loaded once."""
        if self._layers is None:
            from ..models import load_model

            self._layers = {n for n, _ in load_model(self.model).model.named_modules() if n}
        return self._layers


class StageDef:
    name: ClassVar[str]
    config: ClassVar[type]
    produces: ClassVar[str] = "pt"
    doc: ClassVar[str] = ""
    option_types: ClassVar[tuple[type, ...]] = ()  # dataclasses whose field types the options are checked against
    drop: ClassVar[tuple[str, ...]] = ("imgsz", "data")  # config fields the recipe sets, not the stage options

    def keys(self) -> frozenset[str]:
        out: set[str] = set()
        for cls in self.option_types or (self.config,):
            out |= {f.name for f in fields(cls)}
        return frozenset(out - set(self.drop))

    def check_types(self, opts: dict) -> tuple[str, str] | None:
        for cls in self.option_types or (self.config,):
            names = {f.name for f in fields(cls)}
            bad = check_types(cls, {k: v for k, v in opts.items() if k in names})
            if bad:
                return bad
        return None

    def parse(self, opts: dict, ctx: Context):
        raise NotImplementedError

    def check(self, cfg, ctx: Context) -> None:
        pass

    def inputs(self, cfg, ctx: Context) -> dict[str, str]:
        return {}

    def uses_budget(self, cfg) -> str | None:
        """The option key that says ``auto`` (decided from the latency budget), or None."""
        return None

    def resolve(self, cfg, ctx: Context):
        """The config to run once ``ctx.decision`` is known; None skips the stage. Default: ``cfg`` as is."""
        return cfg

    def run(self, input: Path, cfg, ctx: Context) -> tuple[Path, dict]:
        raise NotImplementedError


STAGES: dict[str, StageDef] = {}


def register_stage(cls: type[StageDef]) -> type[StageDef]:
    STAGES[cls.name] = cls()
    return cls


def list_stages() -> list[str]:
    return list(STAGES)


def get_stage(name: str) -> StageDef:
    return STAGES[name]


RECIPE_CHECKS: list[Callable] = []


def register_recipe_check(fn: Callable) -> Callable:
    """``fn(recipe, ctx)``: a load-time check of the recipe as a whole; raise with ``error.key = 'targets'``
    (a top-level key, or a tuple path) so the message gets that key's ``file:line``."""
    RECIPE_CHECKS.append(fn)
    return fn


def keyed(err: Exception, *key) -> Exception:
    err.key = key  # type: ignore[attr-defined]
    return err


def _check_nms_free(cfg, ctx: Context) -> None:
    """``nms_free: true`` needs an end-to-end head (YOLOv10, YOLO26): refused before any stage runs."""
    if getattr(cfg, "nms_free", False) and not any(".one2one_cv2" in n for n in ctx.layer_names()):
        raise keyed(ConfigError(f"nms_free: the model '{ctx.model}' has no NMS-free (end-to-end) head, only YOLOv10 "
                                f"and YOLO26 do; drop nms_free"), "nms_free")


def _check_layers(names, ctx: Context, option: str) -> None:
    if not names:
        return
    layers = ctx.layer_names()
    for n in names:
        if n not in layers and not any(x.startswith(n + ".") for x in layers):
            import difflib

            near = difflib.get_close_matches(n, sorted(layers), 1, 0.6)
            raise keyed(ConfigError(f"{option} '{n}' is not a layer of the model '{ctx.model}'"
                                    f"{f' (did you mean {near[0]!r}?)' if near else ''}; see `yolo-compress info --layers`"),
                        option)


def _train_result(train_dir: Path, work: Path) -> tuple[Path, dict]:
    dest = work / "model.pt"
    shutil.copy2(train_dir / "weights" / "last.pt", dest)  # the last epoch: val is the test split
    rows = (train_dir / "results.csv").read_text().splitlines()
    head = [h.strip() for h in rows[0].split(",")]
    last = dict(zip(head, (v.strip() for v in rows[-1].split(","))))
    return dest, {"epochs": int(float(last.get("epoch", 0))), "val_map50_95": float(last.get("metrics/mAP50-95(B)", "nan"))}


# ------------------------------------------------------------------------------------------ stages
@register_stage
class Prune(StageDef):
    name, config, produces, doc = "prune", PruneConfig, "pt", "structured pruning (PruneConfig)"

    def parse(self, opts, ctx):
        from ..prune.importance import CRITERIA

        o = dict(opts)
        crit = o.get("criterion", "l2")
        needs = ((crit in CRITERIA and CRITERIA[crit].needs_gradients) or o.get("allocation") == "sensitivity"
                 or bool(o.get("soft_epochs")))
        if "ignore" in o:
            o["ignore"] = tuple(o["ignore"])
        return PruneConfig(**o, imgsz=ctx.imgsz, data=ctx.data if needs else None)

    def check(self, cfg, ctx):
        from ..prune.importance import check_criterion

        try:
            check_criterion(cfg.criterion)
        except ConfigError as e:
            raise keyed(e, "criterion") from None
        if cfg.target_flops == AUTO:  # the level is the profiled architecture: uniform, nothing kept whole
            if cfg.ignore:
                raise keyed(ConfigError("target_flops: auto prunes to an architecture timed in the device profile "
                                        "(uniform, no layer kept whole); drop 'ignore' or give target_flops: 0.x"),
                            "ignore")
            if cfg.global_pruning:
                raise keyed(ConfigError("target_flops: auto prunes to an architecture timed in the device profile "
                                        "(uniform channel ratio); drop 'global_pruning' or give target_flops: 0.x"),
                            "global_pruning")
        _check_layers(cfg.ignore, ctx, "ignore")

    def inputs(self, cfg, ctx):
        out = {"data": cfg.data} if cfg.data else {}
        if cfg.target_flops == AUTO and ctx.device_profile:
            out["device_profile"] = ctx.device_profile
        return out

    def uses_budget(self, cfg):
        return "target_flops" if cfg.target_flops == AUTO else None

    def resolve(self, cfg, ctx):
        from dataclasses import replace

        if cfg.target_flops != AUTO:
            return cfg
        if ctx.decision.prune is None:  # the input itself meets the budget: no pruning
            return None
        return replace(cfg, target_flops=None, **ctx.decision.prune)

    def run(self, input, cfg, ctx):
        from ..prune import prune_checkpoint

        if cfg.target_flops == AUTO:
            raise ConfigError("target_flops: auto is decided by a recipe's latency budget; give a number here")

        dest = ctx.work / "model.pt"
        if dest.exists():
            dest.unlink()
        res, _ = prune_checkpoint(input, cfg, dest, soft_dir=ctx.work / "soft", console=ctx.console)
        return dest, {"summary": res.summary()}


def _finetune_config():
    from ..train import FinetuneConfig

    return FinetuneConfig


@register_stage
class Finetune(StageDef):
    name, produces, doc = "finetune", "pt", "fine-tune keeping the architecture"

    @property
    def config(self):  # type: ignore[override]
        return _finetune_config()

    @property
    def option_types(self):  # type: ignore[override]
        return (_finetune_config(),)

    def parse(self, opts, ctx):
        return _finetune_config()(**opts, imgsz=ctx.imgsz)

    def inputs(self, cfg, ctx):
        return {"data": ctx.data}

    def run(self, input, cfg, ctx):
        from ..train import finetune, finished_run

        train_dir = (ctx.work / "train").resolve()
        if not finished_run(train_dir, cfg.epochs):
            finetune(input, ctx.data, cfg, train_dir, resume=(train_dir / "weights" / "last.pt").exists())
        return _train_result(train_dir, ctx.work)


@dataclass(frozen=True)
class DistillStageConfig:
    distill: DistillConfig
    train: Any  # FinetuneConfig

    def as_dict(self) -> dict:
        return {"distill": self.distill.as_dict(), "train": self.train.as_dict()}

    def fingerprint_dict(self) -> dict:  # as resumes compare it: fields added later are left out at their default
        return {"distill": self.distill.fingerprint_dict(), "train": self.train.fingerprint_dict()}


@register_stage
class Distill(StageDef):
    name, config, produces, doc = "distill", DistillStageConfig, "pt", "KD from the teacher"

    @property
    def option_types(self):  # type: ignore[override]
        return (_finetune_config(), DistillConfig)

    def parse(self, opts, ctx):
        kd_keys = {f.name for f in fields(DistillConfig)}
        kd = {k: v for k, v in opts.items() if k in kd_keys}
        if "stages" in kd:
            kd["stages"] = tuple(kd["stages"])
        train = _finetune_config()(**{k: v for k, v in opts.items() if k not in kd_keys}, imgsz=ctx.imgsz)
        from ..distill.distill import check_kd_warmup

        cfg = DistillStageConfig(DistillConfig(**kd), train)
        check_kd_warmup(cfg.distill, train, "warmup_epochs", "epochs")
        return cfg

    def check(self, cfg, ctx):
        from ..distill.losses import check_losses

        try:
            check_losses(cfg.distill.losses)
        except ConfigError as e:
            raise keyed(e, "losses") from None
        if ctx.teacher is None:
            raise keyed(ConfigError("a distill stage needs 'teacher:' at the top of the recipe ('input' for "
                                    "self-distillation from the recipe's model, or a .pt path)"))
        if ctx.teacher != "input" and not Path(ctx.teacher).exists():
            raise keyed(ConfigError(f"teacher '{ctx.teacher}' not found; give a trained .pt, or 'input' for "
                                    "self-distillation"), "teacher")

    def inputs(self, cfg, ctx):
        return {"data": ctx.data, "teacher": ctx.teacher_path}

    def run(self, input, cfg, ctx):
        from ..distill.distill import distill
        from ..train import finished_run

        train_dir = (ctx.work / "train").resolve()
        if not finished_run(train_dir, cfg.train.epochs):
            distill(input, ctx.teacher_path, ctx.data, cfg.distill, cfg.train, train_dir,
                    resume=(train_dir / "weights" / "last.pt").exists())
        dest, info = _train_result(train_dir, ctx.work)
        info["teacher"] = str(ctx.teacher_path)
        return dest, info


@dataclass(frozen=True)
class SurgeryConfig:
    kind: str | None = None
    layers: tuple[str, ...] = ()

    def as_dict(self) -> dict:
        return asdict(self)


@register_stage
class Surgery(StageDef):
    name, config, produces, doc = "surgery", SurgeryConfig, "pt", "replace k x k convs (dwsep/factorized/dynamic)"
    drop = ()

    def parse(self, opts, ctx):
        return SurgeryConfig(opts.get("kind"), tuple(opts.get("layers") or ()))

    def check(self, cfg, ctx):
        from ..surgery import KINDS

        if cfg.kind not in KINDS:
            raise keyed(ConfigError(f"surgery needs kind: one of {', '.join(KINDS)}"), "kind")
        _check_layers(cfg.layers, ctx, "layers")

    def run(self, input, cfg, ctx):
        from ..surgery import surgery_checkpoint

        res, dest = surgery_checkpoint(input, ctx.work / "model.pt", cfg.kind, cfg.layers, ctx.imgsz)
        return dest, {"summary": res.summary(), "fit_error": res.replaced}


@dataclass(frozen=True)
class ReparamConfig:
    tolerance: float = 1e-4

    def __post_init__(self):
        if self.tolerance <= 0:
            raise ConfigError(f"tolerance {self.tolerance!r} must be a positive number such as 1e-4")

    def as_dict(self) -> dict:
        return asdict(self)


@register_stage
class Reparam(StageDef):
    name, config, produces, doc = "reparam", ReparamConfig, "pt", "BN folding + RepConv fusion, checked exact"
    drop = ()

    def parse(self, opts, ctx):
        return ReparamConfig(**opts)

    def run(self, input, cfg, ctx):
        from ..reparam import reparam_checkpoint

        res, dest = reparam_checkpoint(input, ctx.work / "model.pt", ctx.imgsz, cfg.tolerance)
        return dest, {"summary": res.summary()}


@register_stage
class Quantize(StageDef):
    name, config, produces, doc = "quantize", QuantConfig, "artifact", "INT8 / FP16 artifact (QuantConfig)"

    def parse(self, opts, ctx):
        o = dict(opts)
        if "ignore" in o:
            o["ignore"] = tuple(o["ignore"])
        if ctx.holdout and o.get("max_drop") is not None and "control_split" not in o:
            from ..data import HOLDOUT_SPLIT

            o["control_split"] = HOLDOUT_SPLIT  # the recipe's held-out train images (the runner writes the split)
        return QuantConfig(**o, imgsz=ctx.imgsz, data=ctx.data)

    def check(self, cfg, ctx):
        from ..quant.backends import check_backend

        if cfg.backend == AUTO:  # the runtime and precision come from the profile; checked once resolved
            if cfg.mode not in ("ptq", "qat"):
                raise keyed(ConfigError(f"backend: auto picks INT8 (your mode: ptq or qat) or FP16 from the device "
                                        f"profile; mode: {cfg.mode} cannot go with it: drop 'mode' or name a backend"),
                            "mode")
        else:
            try:
                check_backend(cfg)
            except Exception as e:
                raise keyed(e, "backend")
        _check_layers(cfg.ignore, ctx, "ignore")
        _check_nms_free(cfg, ctx)
        from ..data import HOLDOUT_SPLIT

        if cfg.control_split != "train" and ctx.data and not (ctx.holdout and cfg.control_split == HOLDOUT_SPLIT):
            from ..data import load_data

            try:
                load_data(ctx.data, splits=(cfg.control_split,))
            except Exception as e:
                raise keyed(e, "control_split")

    def inputs(self, cfg, ctx):
        out = {"data": ctx.data} if cfg.mode in ("ptq", "qat") else {}
        if cfg.backend == AUTO and ctx.device_profile:
            out["device_profile"] = ctx.device_profile
        return out

    def uses_budget(self, cfg):
        return "backend" if cfg.backend == AUTO else None

    def resolve(self, cfg, ctx):
        from dataclasses import replace

        if cfg.backend != AUTO:
            return cfg
        q = ctx.decision.quantize
        if q is None:  # FP32 is fastest (or INT8 does not pay) on this device: no quantize stage
            return None
        return replace(cfg, backend=q["backend"], mode=cfg.mode if q["mode"] == "ptq" else q["mode"])

    def run(self, input, cfg, ctx):
        from ..quant.quantize import SUFFIX, quantize

        dest = ctx.work / f"model{SUFFIX[(cfg.backend, cfg.mode)]}"
        res = quantize(input, cfg, dest, threads=ctx.threads)
        return dest, {"quant": res.as_dict()}


@register_stage
class Export(StageDef):
    name, config, produces, doc = "export", ExportConfig, "artifact", "FP32 / FP16 export (ExportConfig)"

    def parse(self, opts, ctx):
        return ExportConfig(**opts, imgsz=ctx.imgsz)

    def check(self, cfg, ctx):
        from ..export.formats import check_export_request

        try:
            check_export_request(cfg.format, cfg.half, cfg.dynamic)
        except Exception as e:
            raise keyed(e, "format")
        _check_nms_free(cfg, ctx)

    def run(self, input, cfg, ctx):
        from ..export.exporter import default_output, export

        dest = default_output(ctx.work / "model.pt", cfg.format)
        res = export(input, cfg, out=dest, threads=ctx.threads)
        return dest, {"parity": res.parity.as_dict() if res.parity else None}


# ------------------------------------------------------------------------------------ recipe checks
@register_recipe_check
def inputs_load(recipe, ctx: Context) -> None:
    """The model and the teacher load, and the data has the splits the stages read."""
    from ..data import load_data
    from ..models import load_model

    try:
        model = load_model(recipe.model)
    except Exception as e:
        raise keyed(e, "model")
    needs_train = any(s.kind in ("finetune", "distill") or (s.kind == "quantize" and s.config.mode in ("ptq", "qat"))
                      or (s.kind == "prune" and s.config.data) for s in recipe.stages)
    try:
        from ..runtime.evaluator import checked_split

        spec = load_data(recipe.data, splits=("train", "val") if needs_train else ("val",))
        checked_split(spec, "val")  # every label file verified now: a split without boxes fails before any work
    except Exception as e:
        raise keyed(e, "data")
    if recipe.holdout:
        if not needs_train:
            raise keyed(ConfigError(f"holdout {recipe.holdout}: no stage of this recipe reads train images (finetune, "
                                    f"distill, quantize with calibration); drop 'holdout'"), "holdout")
        from ..data import check_holdout

        try:
            check_holdout(recipe.holdout, len(spec.images("train")), spec.yaml_path)
        except ConfigError as e:
            raise keyed(e, "holdout")
    if recipe.teacher not in (None, "input") and any(s.kind == "distill" for s in recipe.stages):
        from ..distill.distill import check_pair

        try:  # loads, is a detector, predicts the dataset's classes, same head layout and imgsz as the student
            check_pair(model, recipe.teacher, spec.names, recipe.imgsz)  # the model loaded above, not again
        except Exception as e:
            raise keyed(e, "teacher")


def budget_stages(recipe) -> list[tuple[Any, str]]:
    """(stage, option key) of every stage whose option says ``auto`` (decided by the latency budget)."""
    return [(st, key) for st in recipe.stages if (key := st.spec.uses_budget(st.config))]


def _candidate_filter(recipe) -> tuple[tuple[str, ...], tuple[str, ...] | None]:
    """(runtimes, precisions) a decision may pick: the recipe's runtimes; with a ``backend: auto`` quantize any
    precision, else the precision and backends the recipe's own quantize stages produce (FP32 without one)."""
    quants = [st.config for st in recipe.stages if st.kind == "quantize"]
    if not quants or any(q.backend == AUTO for q in quants):
        return tuple(recipe.runtimes), (None if quants else ("fp32",))
    runtimes = tuple(dict.fromkeys(q.backend for q in quants if q.backend in recipe.runtimes)) or tuple(recipe.runtimes)
    return runtimes, tuple(dict.fromkeys("fp16" if q.mode == "fp16" else "int8" for q in quants))


def budget_decision(recipe, profile):
    """The latency-budget decision for ``recipe`` from ``profile`` (a device profile JSON): raises a one-line
    :class:`~yolo_compress.profile.BudgetError` (keyed to the budget) when no profiled candidate meets it, and
    InputError (keyed to ``device_profile``) for a profile of another image size or model."""
    from ..models import load_model
    from ..runtime.graphstats import model_info
    from ..profile import Budget, BudgetError, check_budget

    t = recipe.targets
    key = "max_latency_ms" if t.get("max_latency_ms") is not None else "max_latency_ratio"
    try:
        budget = Budget.from_targets(t)
    except ConfigError as e:
        raise keyed(e, "targets", key)
    gflops = model_info(load_model(recipe.model), recipe.imgsz).gflops
    runtimes, precisions = _candidate_filter(recipe)
    try:
        return check_budget(profile, budget, imgsz=recipe.imgsz, input_gflops=gflops, runtimes=runtimes,
                            precisions=precisions)
    except BudgetError as e:
        raise keyed(e, "targets", key)
    except (InputError, ConfigError) as e:
        raise keyed(e, "device_profile")


@register_recipe_check
def latency_budget(recipe, ctx: Context) -> None:
    """``auto`` stages need one latency budget; with ``device_profile:`` the decision is made now, so an
    unattainable budget is refused by ``run --check`` and before the first stage."""
    autos = budget_stages(recipe)
    if recipe.device_profile and not autos:
        raise keyed(ConfigError("device_profile is read only by 'prune: {target_flops: auto}' or 'quantize: "
                                "{backend: auto}'; use one of them or drop device_profile"), "device_profile")
    if not autos:
        return
    t = recipe.targets
    if t.get("max_latency_ms") is None and t.get("max_latency_ratio") is None:
        st, key = autos[0]
        raise keyed(ConfigError(f"{key}: auto needs a latency budget: add targets: {{max_latency_ms: X}} (on the "
                                f"device) or {{max_latency_ratio: R}} (of the input's ONNX Runtime FP32)"),
                    "stages", st.index - 1, st.kind, key)
    if recipe.device_profile:  # else the runner profiles this machine before the first stage, then decides
        check_decision(recipe, ctx, budget_decision(recipe, recipe.device_profile), recipe.device_profile)


def check_decision(recipe, ctx: Context, decision, profile) -> list:
    """Resolve every stage with ``decision`` and run the resolved ones' checks (e.g. the chosen backend is
    installed here). Returns ``[(stage, config or None)]`` in recipe order."""
    ctx.decision, ctx.device_profile = decision, str(profile)
    out = []
    for st in recipe.stages:
        cfg = st.spec.resolve(st.config, ctx)
        if cfg is not None and cfg is not st.config:
            try:
                st.spec.check(cfg, ctx)
            except Exception as e:
                raise keyed(e, "stages", st.index - 1, st.kind, st.spec.uses_budget(st.config))
        out.append((st, cfg))
    return out
