"""BUCC 2018 bitext mining: the task, its local layout and the retrieval kind's mining metric
(threshold chosen on validation, F1 on test); the real run is in tests/integration/test_bucc.py."""

from __future__ import annotations

import numpy as np
import pytest

from support.data_folders import PAIRS, UNALIGNED_EN, write_bucc
from xtui.data import load_examples
from xtui.kinds.retrieval import RetrievalKind, mining_layout, mining_metrics
from xtui.plugins import load_plugins


# --------------------------------------------------------------------------- registry and data


def test_bucc_is_registered_as_a_retrieval_target():
    task = load_plugins(refresh=True).tasks["bucc"]
    assert (task.kind, task.metric, set(task.roles)) == ("retrieval", "f1", {"target"})
    assert task.languages == ("de", "fr", "ru", "zh") and task.options["mining"] is True
    assert task.validation_split == "validation" and task.split_parts == {"test": ("validation", "test")}
    # the test split stands for both Hub splits: validation (threshold) and test (F1)
    refs = [task.hub("de", split) for split in ("validation", "test")]
    assert [(r.dataset, r.config, r.split) for r in refs] == [("google/xtreme", "bucc18.de", "validation"),
                                                             ("google/xtreme", "bucc18.de", "test")]
    fingerprint = task.fingerprint("de", "test", None)
    assert "bucc18.de:validation" in fingerprint and "bucc18.de:test" in fingerprint
    assert task.has_split("zh", "test", None) and not task.has_split("en", "test", None)
    assert task.hub("de", "train") is None


def test_hub_rows_keep_bucc_ids_and_gold_pairs():
    convert = load_plugins().tasks["bucc"].convert
    row = {"source_sentence": "Guten Tag.", "target_sentence": "Good day.", "source_lang": "de-000000012",
           "target_lang": "en-000000345"}
    assert convert(row) == {"source": "Guten Tag.", "target": "Good day.", "source_id": "de-000000012",
                            "target_id": "en-000000345"}
    # a language code in those columns is not an id
    plain = convert({"source_sentence": "a", "target_sentence": "b", "source_lang": "de", "target_lang": "en"})
    assert plain["source_id"] is None and plain["target_id"] is None
    assert convert({"source_sentence": "nur", "target_sentence": None})["target"] is None
    with pytest.raises(ValueError):
        convert({"source_sentence": " ", "target_sentence": ""})


def test_local_layout_loads_both_parts(tmp_path):
    task = load_plugins().tasks["bucc"]
    rows = write_bucc(tmp_path)
    examples = load_examples(task, "de", "test", tmp_path)
    assert len(examples) == len(rows["validation"]) + len(rows["test"])
    assert [e["part"] for e in examples] == ["validation"] * 5 + ["test"] * 4
    assert examples[0] == {"source": PAIRS[0][0], "target": PAIRS[0][1], "source_id": "de-v-000000",
                           "target_id": "en-v-000000", "part": "validation"}
    assert examples[4]["source"] is None and examples[4]["target"] == UNALIGNED_EN
    assert [e.get("part") for e in load_examples(task, "de", "validation", tmp_path)] == [None] * 5
    layout = mining_layout(examples)
    assert len(layout["validation"]["gold"]) == 3 and len(layout["test"]["gold"]) == 3
    assert [len(t) for t in layout["validation"]["texts"]] == [4, 4]  # 3 aligned + 1 unaligned a side
    assert [len(t) for t in layout["test"]["texts"]] == [4, 3]
    fingerprint = task.fingerprint("de", "test", tmp_path)
    assert fingerprint.count("sha256:") == 2
    assert task.has_split("de", "test", tmp_path)
    (tmp_path / "bucc" / "de" / "validation.jsonl").unlink()
    assert not task.has_split("de", "test", tmp_path)  # no threshold without validation data


def test_layout_merges_repeated_ids_and_identical_texts():
    examples = [
        {"source": "A", "target": "a", "source_id": "de-1", "target_id": "en-1"},
        {"source": "A", "target": "a2", "source_id": "de-1", "target_id": "en-2"},  # de-1 in two gold pairs
        {"source": "A", "target": None, "source_id": "de-9", "target_id": None},   # same text, another sentence
        {"source": "B", "target": "b"},                                              # no ids: keyed by row
    ]
    layout = mining_layout(examples)[""]
    assert layout["texts"] == (["A", "B"], ["a", "a2", "b"])  # embedded and mined once each
    assert layout["sentences"][0] == [["de-1", "A"], ["de-9", "A"], ["row-3", "B"]]
    assert layout["gold"] == {("de-1", "en-1"), ("de-1", "en-2"), ("row-3", "row-3")}
    # the official reader cannot tell which sentence a mined "A" is, so it leaves "A" out
    from xtui.scorers import sentence_ids

    assert sentence_ids(layout["sentences"][0]) == {"B": "row-3"}
    assert sentence_ids(layout["sentences"][1]) == {"a": "en-1", "a2": "en-2", "b": "row-3"}


# --------------------------------------------------------------------------- the metric, by hand


def _one_hot(index: int, dim: int = 32) -> np.ndarray:
    vector = np.zeros(dim)
    vector[index] = 1.0
    return vector


class RecordingTokenizer:
    """Stands in for a tokenizer: remembers the texts of the last call, one token each."""

    def __init__(self):
        self.texts: list = []

    def __call__(self, texts, truncation=True, max_length=None):
        self.texts = list(texts)
        return {"input_ids": [[5, 6] for _ in texts], "attention_mask": [[1, 1] for _ in texts]}


def test_threshold_from_validation_f1_on_test_by_hand():
    """One-hot embeddings: different meanings have cosine 0, equal ones cosine 1 (c = 1/sqrt 2).

    Ratio margin with k = 4 neighbours: score(x, y) = cos(x, y) / ((m_x + m_y) / 2), m = mean
    cosine of a sentence's 4 nearest neighbours on the other side.

    Validation: gold pairs 1-3 are identical and alone (m = (1 + 0 + 0 + 0) / 4 = 1/4 both
    sides): 1 / (1/4) = 4. Gold pair 0 is identical, but the unaligned target "near" =
    (e0 + e12) / sqrt 2 is close to source 0 too: m_s0 = (1 + c) / 4, m_t0 = 1/4, score
    8 / (2 + c) = 2.955. The unaligned source "near" = e12 matches "near" at cosine c:
    m = c / 4 and (c + c) / 4, score c / (3c / 8) = 8/3 = 2.667, not gold. One more unaligned
    sentence a side is unlike everything (score 0). F1 is best keeping the four gold pairs;
    the threshold is halfway to the next score: (8 / (2 + c) + 8/3) / 2 = 2.811.

    Test: three identical gold pairs (4, kept), one gold pair whose sides are unlike each
    other (0, missed) and two unaligned sentences that are identical (4, a false positive):
    precision 3/4, recall 3/4, F1 0.75.
    """
    meaning = {}
    examples = []

    def add(part, source, target, source_vector=None, target_vector=None):
        examples.append({"source": source, "target": target, "part": part})
        for text, vector in ((source, source_vector), (target, target_vector)):
            if text is not None:
                meaning[text] = vector

    for i in range(4):
        add("validation", f"v-src-{i}", f"v-tgt-{i}", _one_hot(i), _one_hot(i))
    add("validation", "v-src-near", None, _one_hot(12))
    add("validation", None, "v-tgt-near", None, (_one_hot(0) + _one_hot(12)) / np.sqrt(2))
    add("validation", "v-src-alone", None, _one_hot(10))
    add("validation", None, "v-tgt-alone", None, _one_hot(11))
    for i in range(3):
        add("test", f"t-src-{i}", f"t-tgt-{i}", _one_hot(20 + i), _one_hot(20 + i))
    add("test", "t-src-hard", "t-tgt-hard", _one_hot(25), _one_hot(26))
    add("test", "t-src-lookalike", None, _one_hot(28))
    add("test", None, "t-tgt-lookalike", None, _one_hot(28))

    tokenizer = RecordingTokenizer()
    kind = RetrievalKind((), tokenizer, 32, {"mining": True, "language": "de"})
    features = kind.features(examples)
    assert len(features) == len(tokenizer.texts) == len(meaning)
    assert {f["part"] for f in features} == {"validation", "test"} and {f["side"] for f in features} == {0, 1}
    predictions = [meaning[text] for text in tokenizer.texts]

    scores = kind.metrics(predictions, examples, features)
    c = 1 / np.sqrt(2)
    assert scores["threshold"] == pytest.approx((8 / (2 + c) + 8 / 3) / 2)
    assert scores["validation_f1"] == pytest.approx(1.0)
    assert scores["precision"] == pytest.approx(0.75)
    assert scores["recall"] == pytest.approx(0.75)
    assert scores["f1"] == pytest.approx(0.75)

    # one part alone: the threshold is chosen on the scored data itself (oracle); the false
    # positive scores exactly what the kept gold pairs score, so no threshold can drop it
    test_only = [dict(e, part="test") for e in examples if e["part"] == "test"]
    features = kind.features(test_only)
    oracle = kind.metrics([meaning[t] for t in tokenizer.texts], test_only, features)
    assert oracle["f1"] == pytest.approx(0.75) and oracle["validation_f1"] == oracle["f1"]


def test_mining_needs_a_validation_part_when_there_are_two():
    examples = [{"source": "x", "target": "y", "part": "a"}, {"source": "z", "target": "w", "part": "b"}]
    features = [{"part": p, "side": s, "sentence": 0} for p in ("a", "b") for s in (0, 1)]
    with pytest.raises(ValueError, match="validation"):
        mining_metrics([_one_hot(i) for i in range(4)], examples, features)
