"""The oracle on the layer zoo at the models' own sizes, beside torch CPU float64, in one run: the
best-of-N wall time and the peak memory each takes (the growth of the process's peak resident
set while it runs, measured in a fresh process per layer and engine).

    python tests/benchmarks/bench_layers.py [--repeat 2] [--names "ResNet-50 3x3 64" ...]

Prints one row per layer and the ratios oracle / torch. Needs torch (the `frameworks` extra).
"""

from __future__ import annotations

import argparse
import json
import math
import subprocess
import sys

from convparity.reference.layers import LAYERS

# One measurement, run in a fresh interpreter: prints {"seconds": best, "peak_mb": growth}.
MEASURE = r"""
import json, resource, sys, time
import numpy as np
layer_name, engine, repeat = sys.argv[1], sys.argv[2], int(sys.argv[3])
from convparity.reference.layers import LAYERS
layer = next(l for l in LAYERS if l.name == layer_name)
rng = np.random.default_rng(0)
x = rng.standard_normal((1, layer.channels, *(layer.size,) * layer.ndim))
groups = layer.fields.get("groups", 1)
k = (layer.kernel,) * layer.ndim
if layer.op == "conv":
    w = rng.standard_normal((layer.out_channels, layer.channels // groups, *k))
elif layer.op == "conv_transpose":
    w = rng.standard_normal((layer.channels, layer.out_channels // groups, *k))
else:
    w = None
name = f"{layer.op}{layer.ndim}d"
if engine == "oracle":
    from convparity import reference as ref
    fn = getattr(ref, name)
    args = (x,) if w is None else (x, w)
else:
    import torch
    import torch.nn.functional as F
    torch.set_num_threads(1)
    fn = getattr(F, name)
    args = (torch.from_numpy(x),) if w is None else (torch.from_numpy(x), torch.from_numpy(w))
kwargs = dict(layer.fields)
if w is None:
    kwargs["kernel_size"] = layer.kernel
before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
times = []
for _ in range(repeat):
    start = time.perf_counter()
    fn(*args, **kwargs)
    times.append(time.perf_counter() - start)
peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - before
print(json.dumps({"seconds": min(times), "peak_mb": peak / 1024}))
"""


def measure(layer_name: str, engine: str, repeat: int) -> dict:
    done = subprocess.run([sys.executable, "-c", MEASURE, layer_name, engine, str(repeat)],
                          capture_output=True, text=True, check=True)
    return json.loads(done.stdout.strip().splitlines()[-1])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=2)
    parser.add_argument("--names", nargs="*", default=None)
    args = parser.parse_args()
    layers = [layer for layer in LAYERS if args.names is None or layer.name in args.names]
    print(f"{'layer':36s} {'oracle s':>9s} {'torch s':>9s} {'x':>6s} "
          f"{'oracle MB':>10s} {'torch MB':>9s}")
    time_ratios = []
    for layer in layers:
        ours, theirs = (measure(layer.name, engine, args.repeat) for engine in ("oracle", "torch"))
        ratio = ours["seconds"] / theirs["seconds"]
        time_ratios.append(ratio)
        print(f"{layer.name:36s} {ours['seconds']:9.3f} {theirs['seconds']:9.3f} {ratio:6.1f} "
              f"{ours['peak_mb']:10.0f} {theirs['peak_mb']:9.0f}", flush=True)
    geomean = math.exp(sum(map(math.log, time_ratios)) / len(time_ratios))
    print(f"geometric mean time ratio oracle / torch float64 (1 thread): {geomean:.2f}")


if __name__ == "__main__":
    main()
