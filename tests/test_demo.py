"""What `make demo` runs: the built-in `demo` recipe on the shipped model and images. Running it takes
minutes (it exports, calibrates and times), so the test checks that it is valid against what is shipped; the machinery it uses
is run end to end by tests/test_pipeline.py, and the demo's own output is recorded in README.md."""

from yolo_compress.data import load_data
from yolo_compress.demo import full_chain_command, next_step
from yolo_compress.shipped import DEFAULT_DATA, DEFAULT_MODEL
from yolo_compress.pipeline.recipe import load_recipe
from yolo_compress.pipeline.runner import _check_inputs


def test_demo_recipe_is_valid_for_the_shipped_model_and_images():
    r = load_recipe("demo")
    assert r.model == str(DEFAULT_MODEL) and r.data == str(DEFAULT_DATA)
    assert [(s.kind, s.config.backend) for s in r.stages] == [("quantize", "onnxruntime"), ("quantize", "openvino")]
    assert all(s.config.calib_images <= 100 for s in r.stages)  # calibration on the shipped train images only
    # the targets a user cares about (issue 24): >= 3x smaller, faster than the input, <= 2 points lost
    t = r.targets
    assert t["min_size_reduction"] >= 3 and t["max_latency_ratio"] < 1 and t["max_map_drop"] <= 2
    _check_inputs(r)  # model loads, train + val splits exist
    spec = load_data(DEFAULT_DATA, splits=("train", "val"))
    assert len(spec.images("train")) == 100 and len(spec.images("val")) == 60
    assert not set(spec.images("train")) & set(spec.images("val"))


def test_demo_ends_with_the_full_edge_cpu_command_read_from_its_recipe():
    edge = load_recipe("edge-cpu", check=False)
    text = next_step("yolo-compress")
    assert text.splitlines()[-1].strip() == full_chain_command("yolo-compress")
    assert full_chain_command("yolo-compress").startswith("yolo-compress run edge-cpu --model ")
    assert "--data " in full_chain_command("yolo-compress")
    train = next(s for s in edge.stages if s.kind in ("distill", "finetune"))
    what = "self-distillation" if train.kind == "distill" else "fine-tuning"
    assert f"{train.options['epochs']} epochs of {what}" in text
    cut = next(s for s in edge.stages if s.kind == "prune")
    assert f"prune to {cut.options['target_flops']:.0%} of the GFLOPs ({cut.options.get('criterion', 'l2')}" in text
    assert text.count("INT8 for") == sum(s.kind == "quantize" for s in edge.stages)
