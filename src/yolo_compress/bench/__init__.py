"""Measurement: runtimes, evaluator, latency harness, graph statistics, the bench table."""
