"""The seeds' naive per-layer L1 channel pruning (article 002, section 2.2), run as written on the
reference YOLOv8n, to record what a user following it gets.

It replaces every Conv2d by one with the top-k L1 output channels, without touching the next layer's
inputs, the BatchNorms, the residual adds, the concats or the Detect head.

    YOLO_OFFLINE=1 .venv/bin/python benchmarks/seeds_naive_l1.py
"""

from __future__ import annotations

import copy

import torch
from torch import nn

from yolo_compress.models import load_model


def compute_channel_importance(model):  # verbatim from the seed
    importance = {}
    for name, module in model.named_modules():
        if isinstance(module, nn.Conv2d):
            weight = module.weight.data
            importance[name] = torch.sum(torch.abs(weight), dim=(1, 2, 3))
    return importance


def channel_pruning(model, pruning_rate=0.3):  # verbatim from the seed
    importance = compute_channel_importance(model)
    pruned_model = copy.deepcopy(model)
    for name, module in pruned_model.named_modules():
        if isinstance(module, nn.Conv2d) and name in importance:
            scores = importance[name]
            num_keep = int(len(scores) * (1 - pruning_rate))
            _, keep_indices = torch.topk(scores, k=num_keep)
            new_conv = nn.Conv2d(in_channels=module.in_channels, out_channels=num_keep, kernel_size=module.kernel_size,
                                 stride=module.stride, padding=module.padding, bias=module.bias is not None)
            new_conv.weight.data = module.weight.data[keep_indices]
            if module.bias is not None:
                new_conv.bias.data = module.bias.data[keep_indices]
            parent_name = name.rsplit(".", 1)[0]
            child_name = name[len(parent_name) + 1:]
            parent_module = pruned_model.get_submodule(parent_name)
            setattr(parent_module, child_name, new_conv)
    return pruned_model


def main() -> None:
    m = load_model("../shared/models/yolov8n-garbage320.pt").model.float().eval()
    pruned = channel_pruning(m, 0.3)
    params = (sum(p.numel() for p in m.parameters()), sum(p.numel() for p in pruned.parameters()))
    print(f"params {params[0]:,} -> {params[1]:,}")
    try:
        with torch.inference_mode():
            pruned(torch.zeros(1, 3, 320, 320))
        print("forward: ran")
    except RuntimeError as e:
        print(f"forward: broken — RuntimeError: {str(e).splitlines()[0]}")


if __name__ == "__main__":
    main()
