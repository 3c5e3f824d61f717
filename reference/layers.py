"""Real layers' geometry: the channel counts (the accumulation length) and kernels of layers
that ship in models, for :func:`~convparity.reference.strategies.layer_cases`. Spatial sizes are
those of the model; a test shrinks them (never the channels) to its budget."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any


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
