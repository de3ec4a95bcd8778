"""Device-only stand-in for polars (its 54 MB runtime wheel does not fit the device transfer limit).
Ultralytics' trainer uses polars only in read_results_csv() (to embed results.csv in the checkpoint);
this reads it with pandas instead. Training numerics are untouched. Not part of yolo-compress."""
import pandas as _pd


class _DF:
    def __init__(self, df):
        self._df = df

    def to_dict(self, as_series=False):
        return {k: list(v) for k, v in self._df.to_dict(orient="list").items()}


def read_csv(path, **_):
    return _DF(_pd.read_csv(path))
