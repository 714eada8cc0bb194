"""Retrieval metrics against hand-computed values."""

from __future__ import annotations

import math

import numpy as np
import pytest

from xtui.retrieval import margin_scores, mean_pool, mine_candidates, tatoeba_accuracy
from xtui.scorers import bucc_f1, extract_pairs, optimal_threshold


def test_mean_pool_ignores_padding():
    hidden = np.array([[[1.0, 2.0], [3.0, 4.0], [100.0, 100.0]]])
    assert mean_pool(hidden, np.array([[1, 1, 0]])).tolist() == [[2.0, 3.0]]


def test_tatoeba_accuracy_both_directions():  # headline: targets query sources
    sources = np.array([[1.0, 0.0], [0.0, 1.0], [1.0, 0.9]])
    targets = np.array([[1.0, 0.1], [0.1, 1.0], [-1.0, 0.0]])
    # s0 -> t0 (0.995) right; s1 -> t1 right; s2 -> t0 (0.806 > t1 0.740) wrong: 2/3
    # t0 -> s0 (0.995) right; t1 -> s1 (0.995) right; t2 -> s1 (cos 0 beats -1 and -0.74) wrong: 2/3
    scores = tatoeba_accuracy(sources, targets)
    assert scores["accuracy_source_to_target"] == pytest.approx(2 / 3)
    assert scores["accuracy_target_to_source"] == pytest.approx(2 / 3)
    assert scores["accuracy"] == pytest.approx(2 / 3)
    assert tatoeba_accuracy(targets[:2], targets[:2])["accuracy"] == 1.0


def test_margin_score_by_hand():
    sources = np.array([[1.0, 0.0], [0.0, 1.0]])
    targets = np.array([[1.0, 0.0], [math.sqrt(0.5), math.sqrt(0.5)]])
    scores = margin_scores(sources, targets, k=1)
    # cos(s0,t0)=1; s0's 1-NN among targets = 1; t0's 1-NN among sources = 1 -> 1 / ((1 + 1) / 2) = 1
    assert scores[0, 0] == pytest.approx(1.0)
    # cos(s1,t1)=0.7071; s1's 1-NN = 0.7071; t1's 1-NN = 0.7071 -> 1.0
    assert scores[1, 1] == pytest.approx(1.0)
    # cos(s1,t0)=0; -> 0
    assert scores[1, 0] == pytest.approx(0.0)


def test_mining_threshold_and_f1():
    rng = np.random.default_rng(0)
    base = rng.normal(size=(6, 8))
    sources = base + 0.05 * rng.normal(size=base.shape)
    targets = np.vstack([base[:4] + 0.05 * rng.normal(size=(4, 8)), rng.normal(size=(3, 8))])  # 4 true pairs, 3 distractors
    gold = {(i, i) for i in range(4)}
    pairs = {(i, j): score for score, i, j in mine_candidates(sources, targets)}
    threshold = optimal_threshold(pairs, gold)
    scores = bucc_f1(extract_pairs(pairs, threshold), gold)
    assert scores["recall"] == 1.0 and scores["precision"] == 1.0 and scores["f1"] == 1.0
    assert bucc_f1(extract_pairs(pairs, float("inf")), gold)["f1"] == 0.0
    # a threshold below every score keeps every candidate: precision = 4 / len(candidates)
    low = bucc_f1(extract_pairs(pairs, -1.0), gold)
    assert low["precision"] == pytest.approx(4 / len(pairs)) and low["recall"] == 1.0
    # no candidate right: the official threshold is 0
    assert optimal_threshold(pairs, {(9, 9)}) == 0.0
