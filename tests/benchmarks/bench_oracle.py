"""Speed of the oracle against two peers, measured in one run: ONNX's reference evaluator (the
other loop-based reference) and torch CPU float64 (the fast path nobody would call an oracle).

    python tests/benchmarks/bench_oracle.py [--repeat 3]

Prints one row per ResNet-like shape with best-of-N wall times and the ratios, then the geometric
means. Targets: >= 10x faster than onnx.reference, <= 4x slower than torch float64. Needs the
`bench` extra (onnx, torch).
"""

from __future__ import annotations

import argparse
import math
import time

import numpy as np

from convparity import reference as ref

# (name, oracle function, input shape, weight shape or None, keyword arguments)
SHAPES = [
    ("conv2d 3x3 64ch 28x28 N2", "conv2d", (2, 64, 28, 28), (64, 64, 3, 3), {"padding": 1}),
    ("conv2d 7x7/2 3->64 112x112", "conv2d", (1, 3, 112, 112), (64, 3, 7, 7),
     {"stride": 2, "padding": 3}),
    ("conv2d 1x1 256->64 28x28", "conv2d", (2, 256, 28, 28), (64, 256, 1, 1), {}),
    ("conv2d 3x3/2 128->256 14x14", "conv2d", (2, 128, 14, 14), (256, 128, 3, 3),
     {"stride": 2, "padding": 1}),
    ("grouped g=32 128ch 28x28", "conv2d", (2, 128, 28, 28), (128, 4, 3, 3),
     {"padding": 1, "groups": 32}),
    ("depthwise 3x3 128ch 28x28", "conv2d", (2, 128, 28, 28), (128, 1, 3, 3),
     {"padding": 1, "groups": 128}),
    ("conv3d 3x3x3 32ch 16^3", "conv3d", (1, 32, 16, 16, 16), (32, 32, 3, 3, 3), {"padding": 1}),
    ("conv_transpose2d 4x4/2 64ch 14x14", "conv_transpose2d", (2, 64, 14, 14), (64, 32, 4, 4),
     {"stride": 2, "padding": 1}),
    ("max_pool2d 3x3/2 64ch 56x56", "max_pool2d", (2, 64, 56, 56), None,
     {"kernel_size": 3, "stride": 2, "padding": 1}),
    ("avg_pool2d 2x2/2 128ch 28x28", "avg_pool2d", (2, 128, 28, 28), None,
     {"kernel_size": 2, "stride": 2}),
]


def best_time(fn, repeat: int) -> float:
    fn()  # warm-up
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return min(times)


def oracle_runner(op, x, w, kwargs):
    fn = getattr(ref, op)
    return (lambda: fn(x, **kwargs)) if w is None else (lambda: fn(x, w, **kwargs))


def torch_runner(op, x, w, kwargs):
    import torch
    import torch.nn.functional as F

    xt = torch.from_numpy(x)
    if w is None:
        return lambda: getattr(F, op)(xt, **kwargs)
    wt = torch.from_numpy(w)
    return lambda: getattr(F, op)(xt, wt, **kwargs)


def onnx_runner(op, x, w, kwargs):
    import onnx
    from onnx import TensorProto, helper
    from onnx.reference import ReferenceEvaluator

    ndim = x.ndim - 2
    stride = kwargs.get("stride", 1)
    pad = kwargs.get("padding", 0)
    attrs = {"pads": [pad] * (2 * ndim)}
    if op.startswith("conv"):
        attrs.update(strides=[stride] * ndim, group=kwargs.get("groups", 1),
                     kernel_shape=list(w.shape[2:]))
        onnx_op = "ConvTranspose" if op.startswith("conv_transpose") else "Conv"
        inputs = ["x", "w"]
    else:
        k = kwargs["kernel_size"]
        attrs.update(kernel_shape=[k] * ndim, strides=[kwargs.get("stride", k)] * ndim)
        onnx_op = "MaxPool" if op.startswith("max") else "AveragePool"
        inputs = ["x"]
    node = helper.make_node(onnx_op, inputs, ["y"], **attrs)
    graph = helper.make_graph(
        [node], "bench",
        [helper.make_tensor_value_info(n, TensorProto.DOUBLE, a.shape)
         for n, a in zip(inputs, (x, w))],
        [helper.make_tensor_value_info("y", TensorProto.DOUBLE, [None] * x.ndim)],
    )
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 22)])
    onnx.checker.check_model(model)
    session = ReferenceEvaluator(model)
    feeds = {"x": x} if w is None else {"x": x, "w": w}
    return lambda: session.run(None, feeds)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--onnx-repeat", type=int, default=1,
                        help="repeats for the (slow) ONNX reference evaluator")
    args = parser.parse_args()

    import torch

    torch.set_num_threads(2)
    rng = np.random.default_rng(0)
    print(f"{'shape':36s} {'oracle ms':>10s} {'onnx ms':>10s} {'torch ms':>10s} "
          f"{'onnx/oracle':>12s} {'oracle/torch':>13s}")
    vs_onnx, vs_torch = [], []
    for name, op, x_shape, w_shape, kwargs in SHAPES:
        x = rng.standard_normal(x_shape)
        w = None if w_shape is None else rng.standard_normal(w_shape)
        oracle = best_time(oracle_runner(op, x, w, kwargs), args.repeat)
        onnx_t = best_time(onnx_runner(op, x, w, kwargs), args.onnx_repeat)
        torch_t = best_time(torch_runner(op, x, w, kwargs), args.repeat)
        vs_onnx.append(onnx_t / oracle)
        vs_torch.append(oracle / torch_t)
        print(f"{name:36s} {oracle * 1e3:10.1f} {onnx_t * 1e3:10.1f} {torch_t * 1e3:10.1f} "
              f"{vs_onnx[-1]:11.1f}x {vs_torch[-1]:12.2f}x", flush=True)

    def geomean(values):
        return math.exp(sum(map(math.log, values)) / len(values))

    print(f"\ngeometric mean: oracle is {geomean(vs_onnx):.1f}x faster than onnx.reference "
          f"(target >= 10x), {geomean(vs_torch):.2f}x the time of torch float64 (target <= 4x)")


if __name__ == "__main__":
    main()
