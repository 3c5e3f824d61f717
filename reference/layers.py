"""Real layers' geometry: the channel counts (the accumulation length) and kernels of layers
that ship in models, for :func:`~convparity.reference.strategies.layer_cases`. Spatial sizes are
those of the model; a test shrinks them (never the channels) to its budget."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from convparity.reference.case import Case


@dataclass(frozen=True)
class Layer:
    """One layer: ``op`` in ``ndim`` spatial dims, ``channels`` in and ``out_channels`` out
    (pools: the same), ``kernel``, the model's spatial ``size``, the other fields as the
    oracle takes them."""

    name: str
    op: str
    ndim: int
    channels: int
    out_channels: int
    kernel: int
    size: int
    fields: dict[str, Any] = field(default_factory=dict)

    @property
    def products(self) -> int:
        """Products per output element (conv: channels per group times taps)."""
        groups = self.fields.get("groups", 1)
        taps = self.kernel ** self.ndim
        return (self.channels // groups) * taps if "pool" not in self.op else taps

    def smallest_size(self, strides: int = 0) -> int:
        """The smallest spatial size with a window clear of the padding (so that some output
        sums every tap), grown by ``strides`` strides."""
        stride = self.fields.get("stride", 1)
        span = (self.kernel - 1) * self.fields.get("dilation", 1) + 1
        pad = self.fields.get("padding", 0) if self.op != "conv_transpose" else 0
        inside = -(-pad // stride) * stride - pad  # where the first such window starts
        return inside + span + stride * strides

    def case(self, make: Callable[[tuple], np.ndarray], size: int, *,
             data_format: str = "channels_first", bias: bool = False) -> Case:
        """The layer at batch 1 and spatial ``size``, its arrays from ``make(shape)``."""
        x = make((1, self.channels, *(size,) * self.ndim))
        if data_format == "channels_last":
            x = np.ascontiguousarray(np.moveaxis(x, 1, -1))
        fields = {**self.fields, "data_format": data_format}
        if self.op in ("max_pool", "avg_pool"):
            return Case(self.op, x, kernel_size=self.kernel, **fields)
        groups = self.fields.get("groups", 1)
        taps = (self.kernel,) * self.ndim
        if self.op == "conv":
            weight = (self.out_channels, self.channels // groups, *taps)
        else:
            weight = (self.channels, self.out_channels // groups, *taps)
        return Case(self.op, x, make(weight), make((self.out_channels,)) if bias else None,
                    **fields)


LAYERS = (
    Layer("ResNet-50 stem 7x7/2", "conv", 2, 3, 64, 7, 224, {"stride": 2, "padding": 3}),
    Layer("ResNet-50 max pool 3x3/2", "max_pool", 2, 64, 64, 3, 112,
          {"stride": 2, "padding": 1}),
    Layer("ResNet-50 3x3 64", "conv", 2, 64, 64, 3, 56, {"padding": 1}),
    Layer("ResNet-50 3x3 128/2", "conv", 2, 128, 128, 3, 56, {"stride": 2, "padding": 1}),
    Layer("ResNet-50 3x3 256", "conv", 2, 256, 256, 3, 14, {"padding": 1}),
    Layer("ResNet-50 3x3 512", "conv", 2, 512, 512, 3, 7, {"padding": 1}),
    Layer("ResNet-50 1x1 256->64", "conv", 2, 256, 64, 1, 56),
    Layer("ResNet-50 1x1 1024->256", "conv", 2, 1024, 256, 1, 14),
    Layer("ResNet-50 1x1 512->2048", "conv", 2, 512, 2048, 1, 7),
    Layer("MobileNetV2 depthwise 3x3 144", "conv", 2, 144, 144, 3, 56,
          {"padding": 1, "groups": 144}),
    Layer("MobileNetV2 depthwise 3x3/2 96", "conv", 2, 96, 96, 3, 112,
          {"stride": 2, "padding": 1, "groups": 96}),
    Layer("EfficientNet depthwise 5x5 240", "conv", 2, 240, 240, 5, 28,
          {"padding": 2, "groups": 240}),
    Layer("ConvNeXt depthwise 7x7 96", "conv", 2, 96, 96, 7, 56, {"padding": 3, "groups": 96}),
    Layer("ViT patch embedding 16x16/16", "conv", 2, 3, 768, 16, 224, {"stride": 16}),
    Layer("U-Net transposed 4x4/2 128->64", "conv_transpose", 2, 128, 64, 4, 32,
          {"stride": 2, "padding": 1}),
    Layer("wav2vec2 feature conv 10/5", "conv", 1, 1, 512, 10, 16000, {"stride": 5}),
    Layer("wav2vec2 conv 3/2 512", "conv", 1, 512, 512, 3, 3199, {"stride": 2}),
    Layer("3-D U-Net 3x3x3 32->64", "conv", 3, 32, 64, 3, 64, {"padding": 1}),
    Layer("3-D U-Net 3x3x3 64", "conv", 3, 64, 64, 3, 32, {"padding": 1}),
    Layer("avg pool 2x2/2 256", "avg_pool", 2, 256, 256, 2, 28, {"stride": 2}),
)
