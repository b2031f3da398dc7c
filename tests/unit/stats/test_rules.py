"""Run rules on constructed sequences (Nelson 1984; Western Electric Handbook 1956)."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from phasegate.domain.errors import InvalidInput
from phasegate.stats.rules import check_rules, parse_rules


def _hits(z, rule, system="nelson"):
    v = check_rules(np.asarray(z, dtype=float), f"{system}:{rule}")
    return v.points(rule).tolist()


def test_rule_1_beyond_three_sigma():
    """Source: Nelson (1984), test 1: one point beyond zone A."""
    assert _hits([0, 3.0, 3.01, -3.2, 0], 1) == [2, 3]


def test_rule_2_nine_on_one_side():
    """Source: Nelson (1984), test 2: nine points in a row on one side; a point on the centre
    line breaks the run."""
    z = [0.5] * 9 + [0.0] + [-0.2] * 10
    assert _hits(z, 2) == [8, 18, 19]


def test_rule_3_six_in_a_row_trending():
    """Source: Nelson (1984), test 3: six points steadily increasing or decreasing (ties break)."""
    up = [0.0, 0.1, 0.2, 0.3, 0.4, 0.5]
    assert _hits(up, 3) == [5]
    assert _hits(up[::-1], 3) == [5]
    assert _hits([0.0, 0.1, 0.2, 0.2, 0.3, 0.4], 3) == []


def test_rule_4_fourteen_alternating():
    """Source: Nelson (1984), test 4: fourteen points in a row alternating up and down."""
    z = [(-1) ** i * 0.5 for i in range(14)]
    assert _hits(z, 4) == [13]
    assert _hits(z[:13], 4) == []


def test_rule_5_two_of_three_beyond_two_sigma_same_side():
    """Source: Nelson (1984), test 5; the flagged point is itself beyond 2 sigma."""
    assert _hits([0, 2.5, 0.3, 2.2, 0], 5) == [3]
    assert _hits([0, 2.5, -2.5, 0], 5) == []
    assert _hits([2.1, 2.2, 0.0], 5) == [1]


def test_rule_6_four_of_five_beyond_one_sigma_same_side():
    """Source: Nelson (1984), test 6."""
    assert _hits([1.5, 1.2, 0.0, 1.1, 1.8, 0.0], 6) == [4]
    assert _hits([1.5, -1.2, 1.1, 1.8, 0.0], 6) == []


def test_rule_7_fifteen_within_one_sigma():
    """Source: Nelson (1984), test 7: fifteen points in zone C, above and below."""
    z = [0.5, -0.5] * 7 + [0.9, 2.0]
    assert _hits(z, 7) == [14]


def test_rule_8_eight_outside_zone_c_either_side():
    """Source: Nelson (1984), test 8: eight points in a row beyond 1 sigma, either side."""
    z = [1.5, -1.5] * 4 + [0.2]
    assert _hits(z, 8) == [7]


def test_western_electric_rules():
    """Source: Western Electric Statistical Quality Control Handbook (1956), pp. 25-28:
    rule 4 is eight (not nine) successive points on one side."""
    z = [0.4] * 8
    assert _hits(z, 4, "we") == [7]
    assert _hits(z, 2, "nelson") == []
    assert _hits([0, 2.5, 0.3, 2.2], 2, "we") == [3]
    assert _hits([1.5, 1.2, 0.0, 1.1, 1.8], 3, "we") == [4]


def test_selection_and_reporting():
    v = check_rules([0.0, 4.0] + [0.5] * 9, "1,2")
    assert v.rule_set.rules == (1, 2)
    assert v.at(1) == [1]
    assert v.at(10) == [2]
    lists = v.as_lists()
    assert lists[1] == [1] and lists[0] == []
    assert parse_rules("we").rules == (1, 2, 3, 4)
    assert parse_rules(None).rules == tuple(range(1, 9))
    assert parse_rules("none").rules == ()


@pytest.mark.parametrize("spec", ["nelson:9", "we:5", "x", "0"])
def test_bad_rule_selection(spec):
    with pytest.raises(InvalidInput, match="rules"):
        parse_rules(spec)


def _reference_rules(z):
    """Straightforward per-point loops, the definition the vectorized code must match."""
    n = len(z)
    out = [set() for _ in range(n)]
    for i in range(n):
        if abs(z[i]) > 3:
            out[i].add(1)
        w9 = z[i - 8 : i + 1]
        if i >= 8 and (all(v > 0 for v in w9) or all(v < 0 for v in w9)):
            out[i].add(2)
        if i >= 5:
            d = [z[j + 1] - z[j] for j in range(i - 5, i)]
            if all(x > 0 for x in d) or all(x < 0 for x in d):
                out[i].add(3)
        if i >= 13:
            d = [z[j + 1] - z[j] for j in range(i - 13, i)]
            if all(d[j] * d[j + 1] < 0 for j in range(12)):
                out[i].add(4)
        w3 = z[max(0, i - 2) : i + 1]
        if (z[i] > 2 and sum(v > 2 for v in w3) >= 2) or (
            z[i] < -2 and sum(v < -2 for v in w3) >= 2
        ):
            out[i].add(5)
        w5 = z[max(0, i - 4) : i + 1]
        if (z[i] > 1 and sum(v > 1 for v in w5) >= 4) or (
            z[i] < -1 and sum(v < -1 for v in w5) >= 4
        ):
            out[i].add(6)
        if i >= 14 and all(abs(v) <= 1 for v in z[i - 14 : i + 1]):
            out[i].add(7)
        if i >= 7 and all(abs(v) > 1 for v in z[i - 7 : i + 1]):
            out[i].add(8)
    return [sorted(s) for s in out]


@settings(max_examples=60, deadline=None)
@given(
    st.lists(
        st.sampled_from([-3.5, -2.5, -1.5, -0.5, 0.0, 0.5, 1.5, 2.5, 3.5]) | st.floats(-4, 4),
        min_size=0,
        max_size=60,
    )
)
def test_vectorized_rules_match_the_definition(z):
    assert check_rules(z, "nelson").as_lists() == _reference_rules(z)
