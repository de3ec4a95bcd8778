"""What `make demo` runs: the built-in `demo` recipe on the shipped model and images. Running it takes
minutes (it trains), so the test checks that it is valid against what is shipped; the machinery it uses
is run end to end by tests/test_pipeline.py, and the demo's own output is recorded in README.md."""

from yolo_compress.data import load_data
from yolo_compress.demo import DEFAULT_DATA, DEFAULT_MODEL
from yolo_compress.pipeline.recipe import load_recipe
from yolo_compress.pipeline.runner import _check_inputs


def test_demo_recipe_is_valid_for_the_shipped_model_and_images():
    r = load_recipe("demo")
    assert r.model == str(DEFAULT_MODEL) and r.data == str(DEFAULT_DATA) and r.teacher == "input"
    assert [s.kind for s in r.stages] == ["prune", "distill", "quantize", "quantize"]
    _check_inputs(r)  # model loads, train + val splits exist
    spec = load_data(DEFAULT_DATA, splits=("train", "val"))
    assert len(spec.images("train")) == 100 and len(spec.images("val")) == 60
    assert not set(spec.images("train")) & set(spec.images("val"))
