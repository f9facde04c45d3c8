"""TinyVGG exactly as CNN Explainer builds it, with CNN Explainer's layer names.

Input 64x64x3 in [0, 1]; two blocks of (conv 3x3 -> ReLU -> conv 3x3 -> ReLU -> max-pool 2x2);
flatten (channel-major, PyTorch order); one dense layer; softmax is applied outside the module.
"""

from __future__ import annotations

import torch
from torch import nn

from generator.arch import ARCH, FILTERS, FLAT_FEATURES, LAYER_NAMES


class TinyVGG(nn.Module):
    """CNN Explainer's Tiny VGG: 19,920 parameters for 10 classes."""

    def __init__(self, num_classes: int = 10) -> None:
        super().__init__()
        in_channels = 3
        for name, kind in ARCH:
            if kind == "conv":
                self.add_module(name, nn.Conv2d(in_channels, FILTERS, kernel_size=3))
                in_channels = FILTERS
            elif kind == "relu":
                self.add_module(name, nn.ReLU())
            else:
                self.add_module(name, nn.MaxPool2d(kernel_size=2, stride=2))
        self.flatten = nn.Flatten()
        self.output = nn.Linear(FLAT_FEATURES, num_classes)
        self.num_classes = num_classes
        self._init_weights()

    def _init_weights(self) -> None:
        # He initialisation for the ReLU stack: with PyTorch's default (uniform, fan-in/sqrt(5)) and Adam,
        # some seeds silence every channel of the last pool within ~40 steps and training never recovers.
        for module in self.modules():
            if isinstance(module, nn.Conv2d):
                nn.init.kaiming_normal_(module.weight, nonlinearity="relu")
                if module.bias is not None:
                    nn.init.zeros_(module.bias)

    def features(self, x: torch.Tensor) -> torch.Tensor:
        for name in LAYER_NAMES:  # (N, 3, 64, 64) -> ... -> (N, 10, 13, 13)
            x = getattr(self, name)(x)
        return x

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.features(x)  # (N, 10, 13, 13)
        x = self.flatten(x)  # (N, 1690), channel-major
        return self.output(x)  # (N, num_classes) logits


def count_parameters(model: nn.Module) -> int:
    return sum(p.numel() for p in model.parameters())
