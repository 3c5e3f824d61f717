"""The precision model on the layer zoo, in one run: for each real layer, dtype and framework, the
worst error as a fraction of the bound for the numerics the framework declares, the share of
outputs correctly rounded, and whether exact mode (integer data) held at zero tolerance; then
what the model does to implementations that are wrong on purpose (sums kept in bfloat16 or
float16, one output one ulp off in exact mode).

    python tests/benchmarks/numerics_table.py [--frameworks torch,tensorflow] [--strides 1]

Prints Markdown. Needs the frameworks it names (the `frameworks` extra).
"""

from __future__ import annotations

import argparse
import time
import warnings

import numpy as np

from convparity.adapters.peers import peer_api
from convparity.adapters.registry import installed_frameworks
from convparity.reference.compare import ulp
from convparity.reference.layers import LAYERS
from convparity.reference.numerics import default_numerics, round_to
from convparity.reference.simulate import accumulating_in
from convparity.reference.testing import check_against_reference

DTYPES = ("bfloat16", "float16", "float32")
INTEGER_RANGE = 3  # |values| in exact mode


def arrays(dtype: str, values: str, seed: int = 0):
    rng = np.random.default_rng(seed)
    kind = np.dtype(dtype) if dtype != "bfloat16" else __import__("ml_dtypes").bfloat16

    def make(shape):
        if values == "integers":
            return rng.integers(-INTEGER_RANGE, INTEGER_RANGE + 1, size=shape).astype(kind)
        return rng.standard_normal(shape).astype(np.float32).astype(kind)

    return make


def judged(api, case):
    """(error / bound, share correctly rounded, exact mode?), or "—" where no API of the
    framework can express the case."""
    if api is None:
        return "—"
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        actual = api.run(case)
    comparison = check_against_reference(actual, case, numerics=api.numerics_for(case))
    share = comparison.correctly_rounded / max(comparison.expected.size, 1)
    return comparison.max_ratio, share, not comparison.bound.any()


def cell(result) -> str:
    if isinstance(result, str):
        return result
    ratio, share, _ = result
    flag = "" if ratio <= 1 else " **FAIL**"
    return f"{ratio:.2g} / {100 * share:.2f}%{flag}"


def one_ulp_off(case) -> float:
    """The worst error/bound of the exact answer with its first element one ulp up."""
    y = round_to(case.expected(), case.dtype).copy()
    flat = y.reshape(-1)
    flat[0] += float(ulp(np.array(flat[0]), case.dtype))
    return check_against_reference(y, case).max_ratio


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--frameworks", default=",".join(
        f for f in ("torch", "tensorflow") if f in installed_frameworks()))
    parser.add_argument("--strides", type=int, default=1,
                        help="spatial size: the smallest with a full window, plus this many "
                             "strides")
    args = parser.parse_args()
    frameworks = args.frameworks.split(",")
    start = time.perf_counter()
    print("| layer | products | dtype | " + " | ".join(
        f"{f}: error/bound / correctly rounded | {f}: exact" for f in frameworks)
        + " | sums in bfloat16 | sums in float16 | one ulp off (exact) |")
    print("|---|---|---|" + "---|---|" * len(frameworks) + "---|---|---|")
    caught = {"bfloat16": [0, 0], "float16": [0, 0], "ulp": [0, 0]}
    for layer in LAYERS:
        size = layer.smallest_size(args.strides)
        for dtype in DTYPES:
            real = layer.case(arrays(dtype, "normal"), size, data_format="channels_last")
            exact = layer.case(arrays(dtype, "integers"), size, data_format="channels_last")
            cells = []
            for framework in frameworks:
                cells.append(cell(judged(peer_api(framework, real), real)))
                result = judged(peer_api(framework, exact), exact)
                exact_mode = not isinstance(result, str) and result[2]
                cells.append(("exact" if result[0] == 0 else f"**FAIL** ({result[0]:.3g})")
                             if exact_mode else cell(result))
            simulated = []
            for narrow in ("bfloat16", "float16"):
                if layer.op not in ("conv", "conv_transpose"):
                    simulated.append("—")
                    continue
                values = accumulating_in(real, narrow)
                ratio = check_against_reference(values, real,
                                                numerics=default_numerics(dtype)).max_ratio
                caught[narrow][0] += ratio > 1
                caught[narrow][1] += 1
                simulated.append(f"{ratio:.3g}")
            if layer.op != "max_pool" and layer.op != "avg_pool":
                ratio = one_ulp_off(exact)
                caught["ulp"][0] += ratio > 1
                caught["ulp"][1] += 1
                simulated.append("caught" if ratio > 1 else "missed")
            else:
                simulated.append("—")
            print(f"| {layer.name} | {layer.products} | {dtype} | " + " | ".join(cells + simulated)
                  + " |")
    print()
    for name, (hit, total) in caught.items():
        what = "one ulp off in exact mode" if name == "ulp" else f"sums kept in {name}"
        print(f"- {what}: caught in {hit} of {total} layer x dtype cells")
    print(f"\n({time.perf_counter() - start:.0f} s)")


if __name__ == "__main__":
    main()
