"""Metrics against values computed by hand."""

from __future__ import annotations

import pytest

from xtui.metrics import accuracy, entity_scores, is_iob, macro_f1, token_accuracy


def test_accuracy():
    assert accuracy([0, 1, 2, 1], [0, 1, 1, 1]) == 0.75
    assert accuracy([1, 1, 1], [0, 0, 0]) == 0.0
    assert accuracy([], []) == 0.0


def test_macro_f1_by_hand():
    predictions = [0, 0, 0, 0, 1, 2]
    references = [0, 0, 1, 1, 1, 2]
    # label 0: tp 2, fp 2, fn 0 -> 4/6;  label 1: tp 1, fp 0, fn 2 -> 2/4;  label 2: tp 1 -> 1
    expected = (4 / 6 + 2 / 4 + 1.0) / 3
    assert macro_f1(predictions, references, 3) == pytest.approx(expected)
    # a label absent from both sides is left out of the average, not counted as 0
    assert macro_f1(predictions, references, 4) == pytest.approx(expected)


def test_macro_f1_counts_a_never_right_label_as_zero():
    # label 1 is predicted once but never correct: F1 0; label 0: tp 1, fn 1 -> 2/3
    assert macro_f1([0, 1], [0, 0], 2) == pytest.approx((2 / 3 + 0.0) / 2)
    assert macro_f1([], [], 3) == 0.0


def test_token_accuracy():
    predictions = [[1, 2, 3], [0, 0]]
    references = [[1, 2, 0], [0, 1]]
    assert token_accuracy(predictions, references) == pytest.approx(3 / 5)  # per token, not per sentence
    assert token_accuracy([], []) == 0.0


def test_is_iob():
    assert is_iob(["O", "B-PER", "I-PER"])
    assert not is_iob(["NOUN", "VERB", "O"])


def test_entity_scores_by_hand():
    references = [["B-PER", "I-PER", "O", "B-LOC"], ["B-ORG", "O"], ["O", "B-MISC", "I-MISC"]]
    predictions = [["B-PER", "I-PER", "O", "B-ORG"], ["O", "O"], ["O", "B-MISC", "O"]]
    # gold spans: PER(0-1), LOC(3) | ORG(0) | MISC(1-2)            -> 4
    # predicted:  PER(0-1), ORG(3) |        | MISC(1-1)            -> 3
    # correct:    PER(0-1) only (ORG has the wrong type, MISC the wrong end) -> 1
    scores = entity_scores(predictions, references)
    precision, recall = 1 / 3, 1 / 4
    assert scores["precision"] == pytest.approx(precision)
    assert scores["recall"] == pytest.approx(recall)
    assert scores["f1"] == pytest.approx(2 * precision * recall / (precision + recall))


def test_entity_scores_conlleval_reads_a_leading_i_as_a_start():
    scores = entity_scores([["O", "I-PER", "I-PER"]], [["O", "B-PER", "I-PER"]])
    assert scores == {"precision": 1.0, "recall": 1.0, "f1": 1.0}


def test_entity_scores_without_entities_is_zero():
    assert entity_scores([["O", "O"]], [["O", "O"]]) == {"precision": 0.0, "recall": 0.0, "f1": 0.0}


def test_entity_scores_accept_tuples():
    assert entity_scores((("B-LOC",),), (("B-LOC",),))["f1"] == 1.0


@pytest.mark.parametrize("call", [
    lambda: accuracy([0, 1], [0]),
    lambda: token_accuracy([[0, 1]], [[0, 1], [1]]),
    lambda: token_accuracy([[0, 1]], [[0]]),
    lambda: entity_scores([["O"]], [["O"], ["B-PER"]]),
    lambda: entity_scores([["O", "O"]], [["B-PER"]]),
], ids=["accuracy", "token_accuracy-sentences", "token_accuracy-tokens", "entity-sentences", "entity-tokens"])
def test_length_mismatch_raises(call):
    with pytest.raises(ValueError):
        call()


def test_accuracy_mismatch_message():
    with pytest.raises(ValueError, match="2 predictions for 1 references"):
        accuracy([0, 1], [0])


def test_macro_f1_length_mismatch_raises():
    with pytest.raises(ValueError):
        macro_f1([0, 1, 1], [0, 1], 2)
