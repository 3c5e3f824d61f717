"""Speed of the oracle's gradients against torch CPU float64 autograd, measured in one run, on
bench_oracle.py's ResNet-like shapes: the input and weight gradients of each conv (the input
gradient of each pool) for one random cotangent.

    python tests/benchmarks/bench_grad.py [--repeat 3]

Prints best-of-N wall times and the ratio oracle / torch per shape, then the geometric mean.
torch times ``torch.autograd.grad`` on a kept graph (the backward pass alone). Needs torch.
"""

from __future__ import annotations

import argparse
import math

import numpy as np
from bench_oracle import SHAPES, best_time

from convparity import reference as ref
from convparity.reference import grad


def oracle_backward(op, x, w, g, kwargs):
    if w is None:
        fn = getattr(grad, op)
        return lambda: fn(x, g, **kwargs)
    input_grad, weight_grad = getattr(grad, f"{op}_input"), getattr(grad, f"{op}_weight")
    return lambda: (input_grad(x.shape, w, g, **kwargs), weight_grad(x, w.shape, g, **kwargs))


def torch_backward(op, x, w, g, kwargs):
    import torch
    import torch.nn.functional as F

    xt = torch.from_numpy(x).requires_grad_()
    inputs = [xt] if w is None else [xt, torch.from_numpy(w).requires_grad_()]
    y = getattr(F, op)(*inputs, **kwargs)
    gt = torch.from_numpy(g)
    return lambda: torch.autograd.grad(y, inputs, gt, retain_graph=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()

    import torch

    torch.set_num_threads(2)
    rng = np.random.default_rng(0)
    print(f"{'shape':36s} {'oracle ms':>10s} {'torch ms':>10s} {'oracle/torch':>13s}")
    ratios = []
    for name, op, x_shape, w_shape, kwargs in SHAPES:
        x = rng.standard_normal(x_shape)
        w = None if w_shape is None else rng.standard_normal(w_shape)
        y = getattr(ref, op)(x, **kwargs) if w is None else getattr(ref, op)(x, w, **kwargs)
        g = rng.standard_normal(y.shape)
        oracle = best_time(oracle_backward(op, x, w, g, kwargs), args.repeat)
        torch_t = best_time(torch_backward(op, x, w, g, kwargs), args.repeat)
        ratios.append(oracle / torch_t)
        print(f"{name:36s} {oracle * 1e3:10.1f} {torch_t * 1e3:10.1f} {ratios[-1]:12.2f}x",
              flush=True)
    geomean = math.exp(sum(map(math.log, ratios)) / len(ratios))
    print(f"\ngeometric mean: the oracle's backward takes {geomean:.2f}x the time of torch "
          f"float64 autograd")


if __name__ == "__main__":
    main()
