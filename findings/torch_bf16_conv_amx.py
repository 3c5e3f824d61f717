"""torch CPU bfloat16 conv2d/conv3d return wrong values on CPUs with AMX (oneDNN's AMX kernels).

Found by convparity on an Intel Xeon (Sapphire Rapids: AMX-BF16, AVX512-FP16), torch 2.13.0+cpu.
Every value below is a small integer, so the exact result is representable in bfloat16 and every
correct kernel returns it bit for bit. The same calls are right with
``torch.backends.mkldnn.flags(enabled=False)`` and with ``ONEDNN_MAX_CPU_ISA=AVX512_CORE_BF16``
(AMX off), and on CPUs without AMX.

Run: python torch_bf16_conv_amx.py   (needs torch and NumPy only; exits 1 if a case is wrong)
"""

import itertools
import sys

import numpy as np
import torch


def correlate(x, w, stride, dilation, padding):
    """Direct float64 cross-correlation, N C *spatial, one group, symmetric zero padding."""
    x = np.pad(x, [(0, 0), (0, 0)] + [(p, p) for p in padding])
    n, _, *size = x.shape
    out_c, _, *k = w.shape
    out = [(s - (kk - 1) * d - 1) // st + 1 for s, kk, d, st in zip(size, k, dilation, stride)]
    y = np.zeros((n, out_c, *out))
    for index in itertools.product(*[range(o) for o in out]):
        window = tuple(slice(i * st, i * st + (kk - 1) * d + 1, d)
                       for i, st, kk, d in zip(index, stride, k, dilation))
        taps = x[(slice(None), slice(None), *window)]
        y[(slice(None), slice(None), *index)] = np.tensordot(
            taps, w, axes=(range(1, w.ndim), range(1, w.ndim)))
    return y


CASES = {
    "conv2d, stride (1, 2), dilation (1, 2)": (
        np.array([[[[6, 2, 0, -4, -3], [-8, -7, -8, -6, 5], [3, 7, 0, 2, 8], [4, 2, 1, 1, 7],
                    [-4, 5, 3, -8, -2], [6, 1, -8, 5, 4]]]], dtype=np.float64),
        np.array([[[[6, -6, -7], [6, -8, 1]]]], dtype=np.float64), (1, 2), (1, 2), (0, 0)),
    "conv3d, 3 channels, kernel 2x2x2, padding 1": (
        np.array([6, 2, 0], dtype=np.float64).reshape(1, 3, 1, 1, 1),
        np.array([-4, -3, -8, -7, -8, -6, 5, 3, 7, 0, 2, 8, 4, 2, 1, 1, 7, -4, 5, 3, -8, -2, 6, 1],
                 dtype=np.float64).reshape(1, 3, 2, 2, 2), (1, 1, 1), (1, 1, 1), (1, 1, 1)),
    "conv3d, kernel (1, 1, 3), stride (1, 1, 2)": (
        np.array(
            [6, 2, 0, -4, -3, -8, -7, -8, -6, 5, 3, 7, 0, 2, 8, 4, 2, 1, 1, 7, -4, 5, 3,
             -8, -2, 6, 1, -8, 5, 4, 6, -6, -7, 6, -8, 1, -7, -3, 0, -1, -2, -8, -8, -6,
             -8, 3, 0, 3, -4, 2, 4, -2, -1, 8, 5, 8, -2, 3, 8, 3, 6, 3, 3, -2, 6, -6, 1,
             4, 6, 0, -2, -3, -1, 0, 4, 7, -7, 7, 1, -2, 3, 1, -4, -3, 4, 2, 0, -3, 4,
             -2, -3, 7, -4, -5, 4, 2, -8, -7, -2, 6, -2, 5, -3, -4, 5, 6, -7, -8, 3, -3,
             1, -6, 6, -1, 7, 5, 3, -5, 5, -8],
                 dtype=np.float64).reshape(2, 1, 3, 5, 4),
        np.array([1, -2, 8], dtype=np.float64).reshape(1, 1, 1, 1, 3), (1, 1, 2), (1, 1, 1),
        (0, 0, 0)),
}


def run(x, w, stride, dilation, padding):
    conv = torch.nn.functional.conv2d if x.ndim == 4 else torch.nn.functional.conv3d
    xt = torch.from_numpy(x).to(torch.bfloat16)
    wt = torch.from_numpy(w).to(torch.bfloat16)
    return conv(xt, wt, None, stride, padding, dilation).float().numpy()


def main() -> int:
    print(f"torch {torch.__version__}, CPU capability {torch.backends.cpu.get_cpu_capability()}")
    wrong = 0
    for name, (x, w, stride, dilation, padding) in CASES.items():
        expected = correlate(x, w, stride, dilation, padding)  # exact: small integers
        actual = run(x, w, stride, dilation, padding)
        with torch.backends.mkldnn.flags(enabled=False):
            without_onednn = run(x, w, stride, dilation, padding)
        bad = int((actual != expected).sum())
        wrong += bad > 0
        print(f"{name}: {bad} of {expected.size} outputs wrong"
              + (f" (e.g. {actual.flat[np.argmax(actual != expected)]} where "
                 f"{expected.flat[np.argmax(actual != expected)]} is right)" if bad else "")
              + f"; with mkldnn disabled: {int((without_onednn != expected).sum())} wrong")
    return 1 if wrong else 0


if __name__ == "__main__":
    sys.exit(main())
