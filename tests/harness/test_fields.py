"""The fields a limit is declared on: each kind read off hand-made cases, each kind reached by its
own draws, and the limits and draws derived from one declaration."""

import numpy as np
import pytest
from hypothesis import find, given, settings
from hypothesis import strategies as st

from convparity.adapters import fields
from convparity.adapters.api import NO_PARAMETER, RAISES, Api, Limit, case_strategy, raises
from convparity.reference.case import Case


def conv1d(size=4, kernel=2, channels=1, groups=1, **fields_):
    x = np.zeros((1, channels, size))
    w = np.zeros((2 * groups, channels // groups, kernel))
    return Case("conv", x, w, groups=groups, **fields_)


@pytest.mark.parametrize("case, name, kind", [
    # 'same' pads a total of max((out - 1) * s + k - n, 0), out = ceil(n / s); the extra one after
    (conv1d(kernel=3, padding="same"), "padding", "same"),  # total 2: (1, 1)
    (conv1d(kernel=2, padding="same"), "padding", "same, uneven"),  # total 1: (0, 1)
    (conv1d(kernel=2, stride=2, padding="same"), "padding", "same"),  # out 2: total 0
    (conv1d(padding="valid"), "padding", "valid"),
    (conv1d(padding=0), "padding", "zero"),
    (conv1d(padding=((0, 0),)), "padding", "zero"),
    (conv1d(padding=1), "padding", "symmetric"),
    (conv1d(padding=((2, 2),)), "padding", "symmetric"),
    (conv1d(padding=((1, 0),)), "padding", "asymmetric"),
    (conv1d(stride=1), "stride", "one"),
    (conv1d(stride=2), "stride", "equal"),
    (Case("conv", np.zeros((1, 1, 4, 4)), np.zeros((1, 1, 1, 1)), stride=(1, 2)), "stride",
     "unequal"),
    (Case("conv", np.zeros((1, 1, 4, 4)), np.zeros((1, 1, 1, 1)), stride=(2, 2)), "stride",
     "equal"),
    (conv1d(dilation=1), "dilation", "one"),
    (conv1d(dilation=2), "dilation", "dilated"),
    (conv1d(channels=4, groups=4), "channels_per_group", "one"),
    (conv1d(channels=4, groups=2), "channels_per_group", "several"),
    (conv1d(channels=4, groups=2), "groups", "several"),
    (conv1d(channels=4), "groups", "one"),
    (conv1d(padding_mode="circular", padding=1), "padding_mode", "circular"),
    (Case("avg_pool", np.zeros((1, 1, 4)), kernel_size=2, divisor_override=3),
     "divisor_override", "given"),
    (Case("avg_pool", np.zeros((1, 1, 4)), kernel_size=2), "divisor_override", "none"),
    (Case("adaptive_avg_pool", np.zeros((1, 1, 4, 6)), output_size=1), "output_size", "global"),
    (Case("adaptive_avg_pool", np.zeros((1, 1, 4, 6)), output_size=(1, None)), "output_size",
     "keeps a dim"),
    (Case("adaptive_avg_pool", np.zeros((1, 1, 4, 6)), output_size=(2, 3)), "output_size",
     "divides"),
    (Case("adaptive_avg_pool", np.zeros((1, 1, 4, 6)), output_size=(3, 3)), "output_size",
     "uneven"),
    (Case("adaptive_avg_pool", np.zeros((1, 1, 4, 6)), output_size=8), "output_size", "uneven"),
])
def test_kind_of_a_hand_made_case(case, name, kind):
    assert fields.field(name).kind(case) == kind


# A strategy that takes each field's keyword: conv takes most, pools the pooling flags.
OPS = {"ceil_mode": ("max_pool", 2), "count_include_pad": ("avg_pool", 2),
       "divisor_override": ("avg_pool", 2), "output_size": ("adaptive_avg_pool", 2),
       "convention": ("lp_pool", 2), "norm_type": ("lp_pool", 2)}
KINDS = [(f, kind) for f in fields.FIELDS.values() for kind in f.kinds
         if not (f.name == "stride" and kind == "unequal")] + [(fields.STRIDE, "unequal")]


@pytest.mark.parametrize("field, kind", KINDS, ids=[f"{f.name}={k}" for f, k in KINDS])
def test_each_kind_is_reached_by_its_draws(field, kind):
    op, ndim = OPS.get(field.name, ("conv", 2))
    strategy = case_strategy(op, ndim, **{field.name: field.drawing({kind}, ndim)})
    found = find(strategy, lambda case: field.kind(case) == kind,
                 settings=settings(max_examples=300, database=None))
    assert field.kind(found) == kind


@pytest.mark.parametrize("field", [f for f in fields.FIELDS.values() if f is not fields.PADDING],
                         ids=lambda f: f.name)
@settings(max_examples=15, database=None, deadline=None)
@given(data=st.data())
def test_draws_of_some_kinds_give_only_those(field, data):
    """Exact for every field but padding, whose 'same' is symmetric or not by the geometry."""
    op, ndim = OPS.get(field.name, ("conv", 2))
    kinds = data.draw(st.sets(st.sampled_from(field.kinds), min_size=1))
    if kinds == {"unequal"}:
        ndim = 2
    case = data.draw(case_strategy(op, ndim, **{field.name: field.drawing(kinds, ndim)}))
    assert field.kind(case) in kinds


def test_a_limit_names_known_fields_and_kinds_and_its_evidence():
    with pytest.raises(ValueError, match=r"no field 'dtyp': a limit can name \["):
        Limit("x", NO_PARAMETER, on={"dtyp": {"float16"}}, parameter="dtype")
    with pytest.raises(ValueError, match=r"dtype: kinds \['float8'\] are not among"):
        Limit("x", NO_PARAMETER, on={"dtype": {"float8"}}, parameter="dtype")
    with pytest.raises(ValueError, match="a RAISES limit names what it `raises`"):
        Limit("x", RAISES, on={"dtype": {"float16"}})
    with pytest.raises(ValueError, match="a NO_PARAMETER limit names its `parameter`"):
        Limit("x", NO_PARAMETER, on={"dtype": {"float16"}})
    with pytest.raises(ValueError, match="give the fields it is `on` or `also`"):
        Limit("x", NO_PARAMETER, parameter="p")


class FrameworkError(ValueError):
    pass


def test_raises_matches_the_type_by_name_and_base_and_the_message_anywhere():
    expected = raises("TypeError ValueError", r"must be .* string")
    assert expected.matches(FrameworkError("context\npadding must be a string"))
    assert not expected.matches(FrameworkError("padding is too large"))
    assert not expected.matches(RuntimeError("padding must be a string"))


FLOAT16 = Limit("no float16", RAISES, on={"dtype": {"float16"}}, raises=raises("TypeError", ""))
FLOAT64_NCHW = Limit("no float64 NCHW", RAISES,
                     on={"dtype": {"float64"}, "data_format": {"channels_first"}},
                     raises=raises("TypeError", ""))
DILATED_HALF = Limit("no dilated half", RAISES, on={"dtype": {"bfloat16"}},
                     also=lambda c: any(d > 1 for d in c.dilations),
                     raises=raises("TypeError", ""))
API = Api("an.api", "numpy", "conv", 2, lambda case: None, (FLOAT16, FLOAT64_NCHW, DILATED_HALF))


@settings(max_examples=30, database=None, deadline=None)
@given(API.strategy())
def test_draws_keep_clear_of_a_one_field_limit_only(case):
    """Of a limit on one field the draws take the other kinds; one on two fields, or narrowed by
    `also`, is left to the filter (steering by one of its fields would lose cases it allows)."""
    assert case.dtype.name != "float16"


def test_other_limits_are_not_steered_around():
    drawn = API.strategy()
    assert find(drawn, lambda c: c.dtype.name == "float64" and c.data_format == "channels_first")
    assert find(drawn, lambda c: c.dtype.name == "bfloat16")


@settings(max_examples=20, database=None, deadline=None)
@given(API.reaching(FLOAT16))
def test_the_evidence_draws_reach_the_limit(case):
    assert FLOAT16.applies(case)
