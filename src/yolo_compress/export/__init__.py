"""Export: format capability table, artifact inspection, Ultralytics-backed export, parity check."""
