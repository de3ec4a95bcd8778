"""What export, quantize, predict, profile and bench share: the artifact (``artifact.py``), one runner per
runtime with the same pre/post-processing (``runtimes.py``), the evaluator, graph statistics, and the latency
harness with its subprocess worker. Nothing here imports a stage. Kept empty: the timing worker imports only
the runtime it times."""
