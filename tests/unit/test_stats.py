"""Paired statistics over shot sets (xtui.stats): against a hand computation and against SciPy's
paired t-test on fixed data; Holm's correction against its definition; the interval is seeded."""

from __future__ import annotations

import math
import statistics

import pytest

from xtui.stats import betainc, bootstrap_interval, holm, paired_delta, t_test_p, variance_parts

scipy_stats = pytest.importorskip("scipy.stats")

# per shot set: anli - none on five shot sets (fixed data)
NONE = {(1, 0): 0.52, (1, 1): 0.55, (1, 2): 0.49, (1, 3): 0.58, (1, 4): 0.51}
ANLI = {(1, 0): 0.55, (1, 1): 0.56, (1, 2): 0.53, (1, 3): 0.57, (1, 4): 0.56}


def test_t_test_by_hand_and_against_scipy():
    differences = [ANLI[d] - NONE[d] for d in NONE]  # 0.03, 0.01, 0.04, -0.01, 0.05
    mean = sum(differences) / 5
    sd = math.sqrt(sum((d - mean) ** 2 for d in differences) / 4)
    t = mean / (sd / math.sqrt(5))
    # deviations .006 -.014 .016 -.034 .026: sum of squares 2.32e-3, sd = sqrt(5.8e-4) = 0.02408, t = 2.2283
    assert mean == pytest.approx(0.024) and t == pytest.approx(2.2283, abs=1e-4)
    expected = scipy_stats.ttest_rel(list(ANLI.values()), list(NONE.values())).pvalue
    assert t_test_p(differences) == pytest.approx(expected, rel=1e-9)
    assert t_test_p(differences) == pytest.approx(0.08978, abs=1e-5)  # t = 2.2283 on 4 degrees of freedom


@pytest.mark.parametrize("values", [[0.1, -0.2, 0.3], [1e-4, 2e-4, 5e-5, 3e-4], [0.5, 0.49], list(range(1, 30))])
def test_t_test_matches_scipy_on_other_samples(values):
    zeros = [0.0] * len(values)
    assert t_test_p(values) == pytest.approx(scipy_stats.ttest_rel(values, zeros).pvalue, rel=1e-8)


def test_incomplete_beta_matches_scipy():
    special = pytest.importorskip("scipy.special")
    for a, b, x in [(0.5, 0.5, 0.3), (2.0, 0.5, 0.9), (10.0, 0.5, 0.01), (1.5, 7.0, 0.5), (50.0, 0.5, 0.999)]:
        assert betainc(a, b, x) == pytest.approx(special.betainc(a, b, x), rel=1e-10)


def test_undefined_tests_say_so():
    assert t_test_p([0.1]) is None, "one pair"
    assert t_test_p([0.0, 0.0, 0.0]) is None, "no difference at all (SciPy gives nan)"
    assert math.isnan(scipy_stats.ttest_rel([0.75, 0.5, 1.0], [0.75, 0.5, 1.0]).pvalue)
    assert t_test_p([0.25, 0.25, 0.25]) == 0.0, "the same gain on every pair: t is infinite"
    assert scipy_stats.ttest_rel([0.75, 0.5, 1.0], [0.5, 0.25, 0.75]).pvalue == 0.0


def test_paired_delta_pairs_by_draw_and_its_interval_is_seeded():
    delta = paired_delta(NONE, ANLI, ("xnli", 5, "anli", "de"))
    assert delta["n"] == 5 and delta["mean"] == pytest.approx(0.024)
    assert delta["low"] < delta["mean"] < delta["high"]
    # the bootstrap mean of 5 differences can only lie between the smallest and the largest
    assert -0.01 <= delta["low"] and delta["high"] <= 0.05
    assert delta == paired_delta(NONE, ANLI, ("xnli", 5, "anli", "de")), "same cell, same interval"
    assert delta["excludes_zero"] == (delta["low"] > 0)
    shifted = paired_delta(NONE, {d: v + 0.2 for d, v in NONE.items()}, ("x",))
    assert shifted["excludes_zero"] and shifted["p"] < 1e-10 and shifted["low"] == pytest.approx(0.2)
    only_some = paired_delta(NONE, {(1, 0): 0.60, (1, 9): 0.9}, ("x",))
    assert only_some["n"] == 1 and only_some["mean"] == pytest.approx(0.08), "draws both have"
    assert only_some["low"] is None and not only_some["excludes_zero"]
    assert paired_delta(NONE, {(2, 0): 0.5}, ("x",)) is None


def test_bootstrap_percentiles_by_hand_on_three_pairs():
    # three pairs: the smallest resampled mean (all three draws the first pair) has probability 1/27 = 3.7 %,
    # more than the 2.5 % tail, and so has the largest: the interval spans exactly [0.1, 0.6]
    assert bootstrap_interval([0.1, 0.2, 0.6], seed=7) == (pytest.approx(0.1), pytest.approx(0.6))
    assert bootstrap_interval([0.1, 0.3], seed=7) is None, "two pairs: three possible means, no interval"
    assert bootstrap_interval([0.1], seed=7) is None


def test_holm_by_definition():
    # sorted 0.01, 0.02, 0.03, 0.5 -> 4 * 0.01, max(3 * 0.02, prev), max(2 * 0.03, prev), max(0.5, prev)
    assert holm([0.03, 0.01, None, 0.5, 0.02]) == [pytest.approx(0.06), pytest.approx(0.04), None, pytest.approx(0.5),
                                                     pytest.approx(0.06)]
    assert holm([0.9, 0.8]) == [1.0, 1.0]


def test_seed_and_shot_set_variance_apart():
    values = {(1, 0): 0.50, (1, 1): 0.54, (2, 0): 0.60, (2, 1): 0.62}
    parts = variance_parts(values)
    assert parts["seed_std"] == pytest.approx(statistics.stdev([0.52, 0.61]))
    assert parts["shot_set_std"] == pytest.approx((statistics.stdev([0.50, 0.54]) + statistics.stdev([0.60, 0.62])) / 2)
    assert variance_parts({(1, 0): 0.5, (1, 1): 0.6}) is None, "one seed: nothing to separate"
