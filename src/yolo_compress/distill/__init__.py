"""Knowledge distillation: our losses (:mod:`.losses`) on Ultralytics' trainer (:mod:`.distill`)."""

from .losses import list_losses

__all__ = ["list_losses"]
