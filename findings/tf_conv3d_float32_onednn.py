"""tf.nn.conv3d float32 returns 0 for an output on CPUs with AMX when the width stride equals a
width-2 kernel (oneDNN); tf.nn.convolution returns uninitialised memory (e.g. -5.1e25) there.

Found by convparity on an Intel Xeon (Sapphire Rapids: AMX, AVX512-FP16), TensorFlow 2.21.0.
Input 1x1x1x3x3 (NCDHW), kernel (1, 1, 2), stride (1, 1, 2), VALID: out[h] = 5*x[h, 0] + 3*x[h, 1].
Every value is a small integer, so every correct kernel returns the exact result. The same call is
right with TF_ENABLE_ONEDNN_OPTS=0 (in NDHWC, which TF's own kernels need), and on CPUs without
AMX.

Run: python tf_conv3d_float32_onednn.py   (needs TensorFlow and NumPy only; exits 1 if wrong)
"""

import os
import subprocess
import sys

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import numpy as np  # noqa: E402
import tensorflow as tf  # noqa: E402

X = np.array([6, 2, 0, -4, -3, -8, -7, -8, -6], dtype=np.float32).reshape(1, 1, 1, 3, 3)
W = np.array([5, 3], dtype=np.float32).reshape(1, 1, 2, 1, 1)  # DHWIO
EXPECTED = (5 * X[0, 0, 0, :, 0] + 3 * X[0, 0, 0, :, 1]).astype(np.float64)  # [36, -29, -59]


def run(channels_first: bool) -> dict:
    results = {}
    for name in ("conv3d", "convolution"):
        fn = getattr(tf.nn, name)
        if channels_first:
            strides = [1, 1, 1, 1, 2] if name == "conv3d" else [1, 1, 2]
            y = fn(X, W, strides=strides, padding="VALID", data_format="NCDHW")
            results[name] = y.numpy()[0, 0, 0, :, 0]
        else:
            x = np.moveaxis(X, 1, -1)
            strides = [1, 1, 1, 2, 1] if name == "conv3d" else [1, 1, 2]
            y = fn(x, W, strides=strides, padding="VALID", data_format="NDHWC")
            results[name] = y.numpy()[0, 0, :, 0, 0]
    return results


def report(label: str, results: dict) -> int:
    wrong = 0
    for name, y in results.items():
        bad = int((y != EXPECTED).sum())
        wrong += bad > 0
        print(f"{label} tf.nn.{name}: {y.tolist()} (right: {EXPECTED.tolist()}), {bad} wrong")
    return wrong


def main() -> int:
    if os.environ.get("TF_ENABLE_ONEDNN_OPTS") == "0":  # the child: TF's own kernels, NDHWC
        return report("oneDNN off, NDHWC:", run(channels_first=False))
    print(f"TensorFlow {tf.__version__}")
    wrong = report("oneDNN on, NCDHW:", run(channels_first=True))
    wrong += report("oneDNN on, NDHWC:", run(channels_first=False))
    child = subprocess.run([sys.executable, __file__],
                           env={**os.environ, "TF_ENABLE_ONEDNN_OPTS": "0"})
    return 1 if wrong or child.returncode else 0


if __name__ == "__main__":
    sys.exit(main())
