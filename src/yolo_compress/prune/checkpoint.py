"""``prune_checkpoint``: a checkpoint in, a pruned checkpoint out, cut at once or softly (``soft_epochs``).

The one entry point the CLI, the recipe stage and the API use; it sits above :mod:`.prune` (the cut) and
:mod:`.soft` (the fade, which trains), so that neither imports the other's caller."""

from __future__ import annotations

from pathlib import Path

from ..config import PruneConfig


def prune_checkpoint(src, cfg: PruneConfig, out=None, soft_dir=None, console=None):
    """Prune ``src`` into ``out`` (see :func:`.prune.prune_checkpoint`). With ``cfg.soft_epochs`` the cut is
    planned, its channels fade over that many epochs of training on ``cfg.data`` in ``soft_dir`` (default
    ``<out stem>.soft/`` beside ``out``; resumable, checked against the plan), then they are cut."""
    from .prune import prune_checkpoint as hard_checkpoint

    if not cfg.soft_epochs:
        return hard_checkpoint(src, cfg, out)
    from ..errors import InputError
    from ..io import beside
    from .soft import soft_prune

    src_p = Path(src)
    if src_p.suffix != ".pt":
        raise InputError(f"--soft-epochs fades the channels of a trained model; '{src}' is not a .pt checkpoint")
    dest = Path(out) if out else beside(src_p, f"{src_p.stem}-pruned.pt")
    work = Path(soft_dir) if soft_dir else dest.with_name(f"{dest.stem}.soft")
    return hard_checkpoint(src, cfg, dest,
                           make=lambda _dest: soft_prune(src_p, cfg, cfg.soft_epochs, work, console=console)[0])
