"""Divergence entries: conditions parsed and checked when the file loads (never evaluated as
code), the environment in `when`, and what each kind of entry expects of a differing case."""

import re
from dataclasses import replace

import numpy as np
import pytest

from convparity.adapters import divergences
from convparity.adapters.api import Api
from convparity.adapters.conditions import parse
from convparity.reference.case import Case
from tests.harness.test_environment import EPYC, XEON, machine

NAMES = {"dtype", "strided", "kernel", "same_totals", "amx"}


@pytest.mark.parametrize("text, facts, expected", [
    ("dtype == 'bfloat16' and amx", {"dtype": "bfloat16", "amx": True}, True),
    ("dtype == 'bfloat16' and amx", {"dtype": "bfloat16", "amx": False}, False),
    ("dtype in ('float16', 'float64')", {"dtype": "float64"}, True),
    ("dtype not in ('float16', 'float64')", {"dtype": "float64"}, False),
    ("not strided or kernel[-1] >= 2", {"strided": True, "kernel": (3, 1)}, False),
    ("min(same_totals) <= -2", {"same_totals": (0, -2)}, True),
    ("1 < kernel[0] <= 3", {"kernel": (3, 1)}, True),
    ("1 < kernel[0] < 3", {"kernel": (3, 1)}, False),
    ("len(kernel) == 2 and max(kernel) == -(-3)", {"kernel": (3, 1)}, True),
    ("any((strided, amx))", {"strided": False, "amx": True}, True),
])
def test_conditions_evaluate_like_python(text, facts, expected):
    assert parse(text, NAMES).holds(facts) is expected


@pytest.mark.parametrize("text, message", [
    ("dtype ==", "not a condition"),
    ("dtipe == 'float32'", "unknown name 'dtipe'"),
    ("__import__('os').system('true')", "only any, all, min, max, len may be called"),
    ("open == 1", "unknown name 'open'"),
    ("kernel.__class__", "Attribute is not allowed"),
    ("(lambda: 1)()", "only any, all, min, max, len may be called"),
    ("kernel[0:1] == (1,)", "index with an integer only"),
    ("[x for x in kernel]", "ListComp is not allowed"),
    ("", "expected a non-empty condition"),
])
def test_bad_conditions_are_refused_with_the_reason(text, message):
    with pytest.raises(ValueError, match=re.escape(message)):
        parse(text, NAMES)


def test_a_bad_entry_is_reported_with_its_number():
    good = '[[divergence]]\napi = "x"\nwhen = "strided"\nwhy = "y"\n'
    with pytest.raises(ValueError, match=r"f, entry 2: when='stridd': unknown name"):
        divergences.parse_file(good + good.replace('"strided"', '"stridd"'), "f")
    with pytest.raises(ValueError, match=r"entry 1: expect='maybe'"):
        divergences.parse_file(good + 'expect = "maybe"\n', "f")
    with pytest.raises(ValueError, match=r"entry 1: agrees_with='nobody': expected one of"):
        divergences.parse_file(good + 'expect = "wrong"\nagrees_with = "nobody"\n', "f")
    with pytest.raises(ValueError, match=r"entry 1: unknown keys \['wehn'\]"):
        divergences.parse_file(good + 'wehn = "x"\n', "f")
    with pytest.raises(ValueError, match=r"entry 1: missing 'why'"):
        divergences.parse_file('[[divergence]]\napi = "x"\nwhen = "strided"\n', "f")
    with pytest.raises(ValueError, match="f: not TOML"):
        divergences.parse_file("[[divergence]\n", "f")


def test_every_case_fact_is_a_known_name():
    assert set(divergences.case_facts(bf16_conv2d())) == divergences.CASE_FACT_NAMES


def test_the_shipped_file_loads():
    entries = divergences.load()
    assert len(entries) >= 7
    # every shipped forward entry says what the framework computes: another computation, or
    # wrong with the backend under which it agrees (bare "differs" stays for users' own files);
    # backward entries say it in their text until the backward pass has instead-computations
    forward = [e for e in entries if e.direction == "forward"]
    assert {e.expect for e in forward} == {"instead", "wrong"}
    assert {e.direction for e in entries} == {"forward", "backward"}


def bf16_conv2d() -> Case:
    import ml_dtypes

    x = np.arange(12.0).reshape(1, 1, 3, 4).astype(ml_dtypes.bfloat16)
    return Case("conv", x, np.ones((1, 1, 2, 2), ml_dtypes.bfloat16))


def torch_api(name="torch.nn.functional.conv2d", call=None) -> Api:
    return Api(name, "torch", "conv", 2, call or (lambda case: case.expected()))


def test_an_entry_holds_only_on_the_machines_it_names():
    amx_entry = next(e for e in divergences.load()
                     if e.covers(torch_api()) and e.expect == "wrong")
    case = bf16_conv2d()
    assert amx_entry.applies(torch_api(), case, machine(XEON))
    assert amx_entry.applies(torch_api(), case, machine(EPYC))  # AVX512-BF16 kernel too
    no_bf16 = machine(EPYC.replace(" avx512_bf16", ""))
    assert not amx_entry.applies(torch_api(), case, no_bf16)
    assert not amx_entry.applies(torch_api(), case.replace(
        input=case.input.astype(np.float32), weight=case.weight.astype(np.float32)),
        machine(XEON))


def test_an_entry_holds_only_under_the_backends_it_names():
    jit_only, = divergences.parse_file(
        '[[divergence]]\napi = "x.pool*"\nwhen = "strided"\nwhy = "w"\nbackends = ["jit"]\n', "t")
    eager = Api("x.pool", "x", "max_pool", 2, print)
    assert jit_only.covers(replace(eager, backend="jit")) and not jit_only.covers(eager)
    unnamed, = divergences.parse_file('[[divergence]]\napi = "x.pool*"\nwhen = "strided"\n'
                                      'why = "w"\n', "t")
    assert unnamed.covers(eager) and not unnamed.covers(replace(eager, backend="jit"))
    with pytest.raises(ValueError, match=r"backends=\['jitted'\]: expected some of eager, jit"):
        divergences.parse_file('[[divergence]]\napi = "x"\nwhen = "strided"\nwhy = "w"\n'
                               'backends = ["jitted"]\n', "t")


def test_an_instead_entry_accepts_only_what_it_says():
    x = np.array([[[-np.inf, -np.inf, 1.0, 2.0]]], np.float32)
    case = Case("max_pool", x, kernel_size=(2,), stride=(2,))
    entry = divergences.parse_entry({
        "api": "p", "when": "expected_has_neg_inf", "why": "w", "expect": "instead",
        "instead": "lowest_for_neg_inf"}, "test")
    lowest = np.finfo(np.float32).min
    assert entry.explains(None, case, np.array([[[lowest, 2.0]]], np.float32))[0]
    assert not entry.explains(None, case, np.array([[[lowest, 1.0]]], np.float32))[0]
    assert not entry.explains(None, case, np.array([[[-np.inf, 2.0]]], np.float32))[0]
    # the lowest value of the type returned: float32 for a float16 input, as tf.nn.max_pool2d
    half = case.replace(input=x.astype(np.float16))
    assert entry.explains(None, half, np.array([[[lowest, 2.0]]], np.float32))[0]
    assert entry.explains(None, half, np.array([[[-65504.0, 2.0]]], np.float16))[0]
    either = divergences.parse_entry({
        "api": "p", "when": "expected_has_neg_inf", "why": "w", "expect": "instead",
        "instead": "lowest_for_neg_inf", "sometimes": True}, "test")
    assert either.explains(None, case, np.array([[[-np.inf, 2.0]]], np.float32))[0]
    assert not either.explains(None, case, np.array([[[0.0, 2.0]]], np.float32))[0]
    assert entry.judged_for_staleness and not either.judged_for_staleness


def test_same_unclamped_shifts_the_windows_by_half_the_surplus():
    # n=7, k=1, s=4: SAME total = (2-1)*4 + 0 + 1 - 7 = -2, so the windows start 1 cell in:
    # outputs x[1], x[5] instead of the oracle's x[0], x[4] (hand-derived)
    x = np.arange(7.0).reshape(1, 1, 7)
    case = Case("conv", x, np.ones((1, 1, 1)), stride=4, padding="same")
    assert case.expected().ravel().tolist() == [0.0, 4.0]
    assert divergences.same_unclamped(case).expected().ravel().tolist() == [1.0, 5.0]
    last = Case("conv", x.reshape(1, 7, 1), np.ones((1, 1, 1)), stride=4, padding="same",
                data_format="channels_last")
    assert divergences.same_unclamped(last).expected().ravel().tolist() == [1.0, 5.0]


def test_the_unclamped_same_rereads_by_hand():
    def values(reread, x, **arguments):
        case = Case("max_pool", np.array([[x]], dtype=np.float64), padding="same", **arguments)
        return reread(case).expected().ravel().tolist()

    # undilated total (ceil(4/1)-1)*1 + 2 - 4 = 1: pads (0, 1), dilated windows (0, 2), (1, 3),
    # (2, 4): 3 outputs where the oracle's SAME gives 4 (ONNX Runtime, hand-derived)
    assert values(divergences.same_undilated, [1, 2, 3, 0], kernel_size=2, dilation=2) == [
        3.0, 2.0, 3.0]
    # undilated total (1-1)*3 + 1 - 3 = -2 halves to -1: the window starts at x[1]
    assert values(divergences.same_undilated, [6, 2, 0], kernel_size=1, stride=3,
                  dilation=2) == [2.0]
    # total (1-1)*3 + 2 - 3 = -1: pads (0, -1) leave 2 cells for a span-3 window; the count
    # (3 - 1 - 3)/3 + 1 rounds toward zero to 1: one window over x[0], x[2] (seen in ONNX
    # Runtime 1.32, a 3x3 input, kernel 2, stride (1, 3), dilation 2, SAME_UPPER)
    assert values(divergences.same_undilated, [6, 2, 0], kernel_size=2, stride=3,
                  dilation=2) == [6.0]
    assert values(divergences.same_undilated, [0, 2, 7], kernel_size=2, stride=3,
                  dilation=2) == [7.0]
    # total (1-1)*2 + 1 - 2 = -1: toward zero crops 0 cells, rounded down crops 1
    assert values(divergences.same_unclamped, [1, 2], kernel_size=1, stride=2) == [1.0]
    assert values(divergences.same_unclamped_up, [1, 2], kernel_size=1, stride=2) == [2.0]


def test_the_kernel_divisor_counts_the_ceil_overhang():
    # ONNX Runtime 1.20, count_include_pad=1: the last window [5, overhang] over 2, not 1
    case = Case("avg_pool", np.array([[[1.0, 2, 3, 4, 5]]]), kernel_size=2, stride=2,
                ceil_mode=True, count_include_pad=True)
    assert case.expected().ravel().tolist() == [1.5, 3.5, 5.0]
    assert divergences.kernel_divisor(case).expected().ravel().tolist() == [1.5, 3.5, 2.5]


def test_nan_ignored_mean_averages_the_other_cells():
    case = Case("avg_pool", np.array([[[np.nan, 1.0, 2.0, np.nan]]]), kernel_size=3, stride=1,
                count_include_pad=False)
    assert divergences.nan_ignored_mean(case).values.ravel().tolist() == [1.5, 1.5]


def test_a_padding_reread_and_a_nan_rule_explain_a_case_together():
    undilated, first = divergences.parse_file(
        '[[divergence]]\napi = "p"\nwhen = "dilated"\nwhy = "u"\nexpect = "instead"\n'
        'instead = "same_undilated"\n'
        '[[divergence]]\napi = "p"\nwhen = "expected_has_nan"\nwhy = "f"\n'
        'expect = "instead"\ninstead = "first_then_greater"\n', "test")
    # x padded as [1, 0, NaN, 5, pad] (undilated SAME), windows {0, 2}, {1, 3}, {2, 4}: first
    # then greater gives [1, 5, NaN]; the reread alone [NaN, 5, NaN]; the rule alone 4 outputs
    case = Case("max_pool", np.array([[[1.0, 0.0, np.nan, 5.0]]]), kernel_size=2, dilation=2,
                padding="same")
    both, found = divergences.explaining([undilated, first], None, case,
                                         np.array([[[1.0, 5.0, np.nan]]]), None)
    assert both.instead == "same_undilated+first_then_greater" and found, found
    assert both.why == "u Together with: f"
    alone, _ = divergences.explaining([undilated, first], None, case,
                                      np.array([[[np.nan, 5.0, np.nan]]]), None)
    assert alone is undilated
    neither, found = divergences.explaining([undilated, first], None, case,
                                            np.array([[[0.0, 5.0, np.nan]]]), None)
    assert neither is None and "same_undilated" in found
    with pytest.raises(ValueError, match="instead='first_then_greater\\+same_undilated'"):
        divergences.check_instead("first_then_greater+same_undilated")


def test_space_to_batch_reads_the_stride_one_dilated_conv_in_groups():
    # x = 1..7, w = [1, 10], stride 2, dilation 2 (hand-derived; what TF 2.21 returned):
    # 'valid': z[j] = x[j] + 10 x[j+2] = 31 42 53 64 75, P = 7, 3 outputs z[0], z[1], z[4];
    # 'same': pads (1, 1), z = 20 31 42 53 64 75 6, P = 9, 3 outputs z[0], z[1], z[4]
    x = np.arange(1.0, 8.0).reshape(1, 1, 1, 7)
    w = np.array([1.0, 10.0]).reshape(1, 1, 1, 2)
    valid = Case("conv", x, w, stride=2, dilation=(1, 2))
    assert valid.expected().ravel().tolist() == [31.0, 53.0, 75.0]
    assert divergences.space_to_batch(valid).values.ravel().tolist() == [31.0, 42.0, 75.0]
    same = Case("conv", x, w, stride=2, dilation=(1, 2), padding="same")
    assert same.expected().ravel().tolist() == [20.0, 42.0, 64.0, 6.0]
    assert divergences.space_to_batch(same).values.ravel().tolist() == [20.0, 31.0, 64.0]
    explicit = Case("conv", x, w, stride=2, dilation=(1, 2), padding=((0, 0), (1, 1)))
    assert divergences.space_to_batch(explicit).values.ravel().tolist() == [20.0, 31.0, 64.0]


def test_an_instead_entry_with_another_shape_accepts_only_that_answer():
    x = np.arange(1.0, 8.0, dtype=np.float32).reshape(1, 1, 1, 7)
    case = Case("conv", x, np.array([1.0, 10.0], np.float32).reshape(1, 1, 1, 2), stride=2,
                dilation=(1, 2), padding="same")
    entry = divergences.parse_entry({
        "api": "p", "when": "strided and dilated", "why": "w", "expect": "instead",
        "instead": "space_to_batch"}, "test")
    assert entry.tells_apart(case)
    assert entry.explains(None, case, np.array([[[[20, 31, 64]]]], np.float32))[0]
    assert not entry.explains(None, case, np.array([[[[20, 31, 63]]]], np.float32))[0]
    assert not entry.explains(None, case, case.expected().astype(np.float32))[0]


def test_nan_ignored_takes_the_max_of_the_other_cells():
    # windows [nan, 1], [nan, nan], [-inf, 3]: hand-derived 1, (none: lowest), 3
    x = np.array([[[np.nan, 1.0, np.nan, np.nan, -np.inf, 3.0]]], np.float32)
    case = Case("max_pool", x, kernel_size=(2,), stride=(2,))
    entry = divergences.parse_entry({
        "api": "p", "when": "expected_has_nan", "why": "w", "expect": "instead",
        "instead": "nan_ignored"}, "test")
    lowest = np.finfo(np.float32).min
    assert entry.explains(None, case, np.array([[[1.0, lowest, 3.0]]], np.float32))[0]
    assert not entry.explains(None, case, np.array([[[1.0, -np.inf, 3.0]]], np.float32))[0]
    assert not entry.explains(None, case, np.array([[[np.nan, np.nan, 3.0]]], np.float32))[0]
    half = case.replace(input=x.astype(np.float16))  # oneDNN's half kernels: -inf
    assert entry.explains(None, half, np.array([[[1.0, -np.inf, 3.0]]], np.float16))[0]
    assert entry.explains(None, half, np.array([[[1.0, -65504.0, 3.0]]], np.float16))[0]
    assert not entry.explains(None, half, np.array([[[1.0, 0.0, 3.0]]], np.float16))[0]


def test_a_differs_entry_accepts_any_difference_and_is_judged_stale():
    case = Case("max_pool", np.array([[[1.0, 2.0]]], np.float32), kernel_size=(2,))
    entry = divergences.parse_entry({"api": "p", "when": "ndim == 1", "why": "w"}, "test")
    assert entry.expect == "differs" and entry.judged_for_staleness
    assert entry.explains(None, case, np.array([[[7.0]]], np.float32))[0]


def test_backward_instead_computations_by_hand():
    # measured with TF 2.21's MaxPool3DGrad, windows of 2 at stride 1 over 4 cells, gradients
    # 5, 7, 11: every tied maximum gets its window's whole gradient; NaN is no maximum
    def pool(values):
        x = np.array(values, np.float32).reshape(1, 1, 1, 1, 4)
        return Case("max_pool", x, kernel_size=(1, 1, 2), stride=1)

    g = np.array([5.0, 7.0, 11.0]).reshape(1, 1, 1, 1, 3)
    for values, tf_gradient in [([3.0, 1.0, 2.0, 0.5], [5, 0, 18, 0]),
                                ([1.0, 1.0, 1.0, 0.0], [5, 12, 18, 0])]:
        found = divergences.every_tied_maximum(pool(values), g)["input"]
        assert found.ravel().tolist() == tf_gradient
    found = divergences.nan_ignored_gradient(pool([1.0, np.nan, 2.0, 0.5]), g)["input"]
    assert found.ravel().tolist() == [5, 0, 18, 0]
    # a window of NaN only: TF's forward gives the lowest value, which no cell equals
    found = divergences.nan_ignored_gradient(pool([np.nan, np.nan, 2.0, 3.0]), g)["input"]
    assert found.ravel().tolist() == [0, 0, 7, 11]
