"""The pipeline: recipe (schema), runner (run folder, resume), report (md + html + plot)."""
