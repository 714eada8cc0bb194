"""Few-shot sampling: seeded, label-stratified by largest remainder, one-line errors."""

from __future__ import annotations

from collections import Counter

import pytest

from xtui.errors import DataError
from xtui.shots import sample_shots

BALANCED = [0, 1, 2] * 10  # 30 examples, 10 per label


def label_counts(labels, indices) -> dict:
    return dict(Counter(labels[i] for i in indices))


def test_same_seed_same_shots():
    assert sample_shots(BALANCED, 9, seed=7) == sample_shots(BALANCED, 9, seed=7)
    assert sample_shots(BALANCED, 9, seed=7, stratified=False) == sample_shots(BALANCED, 9, seed=7, stratified=False)


def test_different_seeds_different_shots():
    draws = {tuple(sample_shots(BALANCED, 9, seed=seed)) for seed in range(10)}
    assert len(draws) >= 9


def test_indices_are_sorted_unique_and_in_range():
    for shots in (0, 1, 5, 9, 29, 30):
        for stratified in (True, False):
            indices = sample_shots(BALANCED, shots, seed=3, stratified=stratified)
            assert len(indices) == shots
            assert len(set(indices)) == shots
            assert indices == sorted(indices)
            assert all(0 <= i < len(BALANCED) for i in indices)


def test_whole_pool():
    assert sample_shots(BALANCED, 30, seed=1) == list(range(30))


def test_balanced_labels_get_equal_shares():
    for seed in range(20):
        assert label_counts(BALANCED, sample_shots(BALANCED, 9, seed=seed)) == {0: 3, 1: 3, 2: 3}


@pytest.mark.parametrize("labels, shots, expected", [
    # quotas 2.0 / 1.2 / 0.8 -> floors 2/1/0, one left for the largest remainder (label 2)
    ([0] * 5 + [1] * 3 + [2] * 2, 4, {0: 2, 1: 1, 2: 1}),
    # quotas 2.1 / 0.6 / 0.3 -> floors 2/0/0, one left for label 1
    ([0] * 7 + [1] * 2 + [2] * 1, 3, {0: 2, 1: 1}),
    # quotas 6 / 3 / 1 exactly
    ([0] * 60 + [1] * 30 + [2] * 10, 10, {0: 6, 1: 3, 2: 1}),
    # quotas 4.9 / 2.1 -> floors 4/2, one left for the largest remainder (label 1, 0.9)
    ([1] * 7 + [0] * 3, 7, {1: 5, 0: 2}),
])
def test_unbalanced_pools_are_proportional_with_largest_remainder(labels, shots, expected):
    for seed in range(10):
        assert label_counts(labels, sample_shots(labels, shots, seed=seed)) == expected


def test_ties_of_remainders_are_broken_by_the_seed():
    labels = [0] * 5 + [1] * 5  # K=1: both quotas 0.5
    chosen = {labels[sample_shots(labels, 1, seed=seed)[0]] for seed in range(30)}
    assert chosen == {0, 1}


def test_string_labels_work():
    labels = ["B-PER", "O", "O", "B-LOC"] * 5
    assert label_counts(labels, sample_shots(labels, 4, seed=0)) == {"B-PER": 1, "O": 2, "B-LOC": 1}


def test_none_labels_mean_unstratified():
    labels = [None] * 30
    indices = sample_shots(labels, 9, seed=5)
    assert indices == sample_shots(BALANCED, 9, seed=5, stratified=False)
    mixed = [0, 1, None] * 10
    assert sample_shots(mixed, 9, seed=5) == sample_shots(BALANCED, 9, seed=5, stratified=False)


def test_unstratified_ignores_labels():
    skewed = [0] * 29 + [1]
    assert sample_shots(skewed, 5, seed=2, stratified=False) == sample_shots(BALANCED, 5, seed=2, stratified=False)
    # stratified: label 1's quota is 5/30 = 0.17 < label 0's remainder, so it gets no shot
    assert label_counts(skewed, sample_shots(skewed, 5, seed=2)) == {0: 5}


def test_k_larger_than_pool():
    with pytest.raises(DataError) as caught:
        sample_shots([0, 1, 0], 5, seed=1, what="xnli de validation")
    message = str(caught.value)
    assert "\n" not in message
    assert message.startswith("xnli de validation: ")
    assert "K=5" in message and "3 examples" in message


def test_k_zero_is_empty():
    assert sample_shots(BALANCED, 0, seed=1) == []
    assert sample_shots([], 0, seed=1) == []
