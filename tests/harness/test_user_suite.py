"""The oracle in someone else's test suite: a directory with nothing of this repository in it,
the package installed, a hand-written conv checked with the public strategies and helper."""

import subprocess
import sys

USER_TEST = '''
import numpy as np
from hypothesis import given, settings
from convparity.reference.numerics import accumulating_in_storage
from convparity.reference.strategies import conv_cases
from convparity.reference.testing import assert_matches_reference


def my_conv2d(x, w, stride, scale=1.0):
    """A user's direct conv: no padding, groups=1, computed in the input's dtype."""
    n, c, h, wd = x.shape
    o, _, kh, kw = w.shape
    sh, sw = stride
    out = np.zeros((n, o, (h - kh) // sh + 1, (wd - kw) // sw + 1), dtype=x.dtype)
    for i in range(out.shape[2]):
        for j in range(out.shape[3]):
            patch = x[:, None, :, i * sh:i * sh + kh, j * sw:j * sw + kw]
            out[:, :, i, j] = (patch * w[None]).sum(axis=(2, 3, 4)) * x.dtype.type(scale)
    return out


@settings(max_examples=60)
@given(conv_cases(ndim=2, padding=0, groups=1, dilation=1, bias=False,
                  data_format="channels_first", dtype=DTYPE))
def test_my_conv(case):
    assert_matches_reference(my_conv2d(case.input, case.weight, case.strides, SCALE), case,
                             NUMERICS)
'''


def run_user_suite(tmp_path, dtype, scale, declared=True):
    numerics = "numerics=accumulating_in_storage(case.dtype)" if declared else ""
    (tmp_path / "test_user.py").write_text(
        USER_TEST.replace("DTYPE", repr(dtype)).replace("SCALE", repr(scale))
        .replace("NUMERICS", numerics))
    return subprocess.run([sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider"],
                          cwd=tmp_path, capture_output=True, text=True, timeout=600)


def test_a_correct_user_conv_passes_in_every_float_dtype(tmp_path):
    for dtype in ("float16", "float32", "float64"):
        done = run_user_suite(tmp_path, dtype, 1.0)
        assert done.returncode == 0, dtype + done.stdout[-3000:]


def test_an_undeclared_float16_accumulation_fails_and_is_named(tmp_path):
    # by default float16 is judged as accumulating in float32, as frameworks' CPU convs do
    done = run_user_suite(tmp_path, "float16", 1.0, declared=False)
    assert done.returncode == 1
    assert "matches an implementation accumulating in float16" in done.stdout


def test_a_wrong_user_conv_fails_with_the_report(tmp_path):
    done = run_user_suite(tmp_path, "float32", 1 + 2**-10)
    assert done.returncode == 1
    for part in ("disagrees with the oracle", "Mismatched elements", "Reproduce with:"):
        assert part in done.stdout
