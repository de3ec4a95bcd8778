"""Layer groups shared by the backends: op/node names -> ``model.7`` (a backbone/neck module) or
``model.22.cv2.0.1`` (one Detect branch conv), plus the Detect decode that always stays float."""

from __future__ import annotations

import re
from typing import Callable, Sequence

# the Detect head's box-regression branches: one-to-many (cv2) and one-to-one (one2one_cv2, YOLOv10 / YOLO26)
BOX_BRANCHES = ("cv2", "one2one_cv2")


def split_groups(names: Sequence[str], module: re.Pattern, branch: re.Pattern,
                 branch_key: Callable[[re.Match], str]) -> tuple[dict[str, list[str]], list[str]]:
    idx = [int(m.group(1)) for n in names if (m := module.match(n))]
    head = max(idx) if idx else -1
    groups: dict[str, list[str]] = {}
    decode: list[str] = []
    for n in names:
        m = module.match(n)
        if not m:
            continue
        i = int(m.group(1))
        if i != head:
            groups.setdefault(f"model.{i}", []).append(n)
        elif b := branch.match(n):
            groups.setdefault(f"model.{i}.{branch_key(b)}", []).append(n)
        else:
            decode.append(n)
    return groups, decode
