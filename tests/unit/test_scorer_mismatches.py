"""The four places where xtui's numbers used to differ from google-research/xtreme's, each as
the smallest input that shows it. Every expected number was computed by the official code
(seqeval 0.0.12 as XTREME's release pins it; xtreme's ``third_party/utils_retrieve.py`` and
``third_party/utils_lareqa.py`` at 838c13b69daafb9328785d16caae2711e4012123, with faiss-cpu),
and ``tests/unit/test_official_crosscheck.py`` reruns that code when it is available."""

from __future__ import annotations

import numpy as np
import pytest

from xtui.plugins import load_plugins

torch = pytest.importorskip("torch")


def _kind(task_name: str, tokenizer=None, language: str = "de"):
    """The task's kind, built the way the worker builds it."""
    from xtui.kinds import build_kind

    registry = load_plugins()
    task = registry.tasks[task_name]
    return build_kind(registry.kinds[task.kind].target, task, tokenizer, 128, language)


# --------------------------------------------------------------------------- 1. UD-POS


def _pos_scores(gold: list, predicted: list) -> dict:
    kind = _kind("udpos")
    names = list(kind.labels)
    examples = [{"tokens": [f"w{i}" for i in range(len(tags))], "tags": [names.index(t) for t in tags]} for tags in gold]
    predictions = [{i: names.index(t) for i, t in enumerate(tags)} for tags in predicted]
    features = [{"example_index": index} for index in range(len(gold))]
    return kind.metrics(predictions, examples, features)


def test_udpos_keeps_cconj_and_sconj_apart():
    # seqeval >= 1.2 reads both as type "CONJ" (the tag's first letter dropped) and calls this
    # a hit; seqeval 0.0.12 (XTREME's release) keeps CCONJ and SCONJ: no chunk is right.
    scores = _pos_scores([["CCONJ"]], [["SCONJ"]])
    assert scores["f1"] == 0.0 and scores["precision"] == 0.0 and scores["recall"] == 0.0


def test_udpos_counts_x_at_the_end_of_a_sentence():
    # seqeval >= 1.2 turns a sentence-final X into type "_" and drops it (F1 2/3 here);
    # seqeval 0.0.12 scores NOUN right and X wrong: precision 1/2, recall 1/2.
    scores = _pos_scores([["NOUN", "X"]], [["NOUN", "ADJ"]])
    assert scores["precision"] == pytest.approx(0.5)
    assert scores["recall"] == pytest.approx(0.5)
    assert scores["f1"] == pytest.approx(0.5)
    assert scores["accuracy"] == pytest.approx(0.5)


# --------------------------------------------------------------------------- 2. Tatoeba


def test_tatoeba_headline_is_english_queries_against_the_other_language():
    # Row i of the non-English side (source) translates row i of English (target). The official
    # script indexes the source side and queries it with English: target 2 finds source 1, so
    # 2/3. The other direction (source queries) gets all three: 1, kept as a secondary metric.
    sources = np.array([[1, 0, 0], [0, 1, 0], [0, 0.9, 0.1]])
    targets = np.array([[1, 0, 0], [0, 1, 0], [0, 1, 0.05]])
    kind = _kind("tatoeba")
    examples = [{"source": f"s{i}", "target": f"t{i}"} for i in range(3)]
    features = [{"side": side, "example_index": i} for side in (0, 1) for i in range(3)]
    predictions = list(sources) + list(targets)
    scores = kind.metrics(predictions, examples, features)
    assert scores["accuracy"] == pytest.approx(2 / 3)
    assert scores["accuracy_target_to_source"] == pytest.approx(2 / 3)
    assert scores["accuracy_source_to_target"] == pytest.approx(1.0)


# --------------------------------------------------------------------------- 3. BUCC


class RecordingTokenizer:
    """Stands in for a tokenizer: remembers the texts of the last call."""

    def __init__(self):
        self.texts: list = []

    def __call__(self, texts, truncation=True, max_length=None):
        self.texts = list(texts)
        return {"input_ids": [[5, 6] for _ in texts], "attention_mask": [[1, 1] for _ in texts]}


def _one_hot(index: int, dim: int = 40) -> np.ndarray:
    vector = np.zeros(dim)
    vector[index] = 1.0
    return vector


def bucc_repeated_text_case() -> tuple:
    """Examples and one embedding per text. Validation: four gold pairs and two near misses
    (threshold 2.811, see tests/unit/test_bucc.py). Test: "Hallo Welt." is the text of two source
    sentences (de-t-1, gold with en-t-1, and de-t-2, unaligned); "Guten Tag." / "Good day." is a
    plain gold pair; two unaligned sentences a side are unlike everything."""
    examples, meaning = [], {}

    def add(part, source, target, source_id=None, target_id=None, source_vector=None, target_vector=None):
        examples.append({"source": source, "target": target, "source_id": source_id, "target_id": target_id,
                         "part": part})
        for text, vector in ((source, source_vector), (target, target_vector)):
            if text is not None:
                meaning[text] = vector

    for i in range(4):
        add("validation", f"v-src-{i}", f"v-tgt-{i}", f"de-v-{i}", f"en-v-{i}", _one_hot(i), _one_hot(i))
    add("validation", "v-src-near", None, "de-v-7", None, _one_hot(12))
    add("validation", None, "v-tgt-near", None, "en-v-7", None, (_one_hot(0) + _one_hot(12)) / np.sqrt(2))
    add("validation", "v-src-alone", None, "de-v-8", None, _one_hot(10))
    add("validation", None, "v-tgt-alone", None, "en-v-8", None, _one_hot(11))
    add("test", "Hallo Welt.", "Hello world.", "de-t-1", "en-t-1", _one_hot(20), _one_hot(20))
    add("test", "Hallo Welt.", None, "de-t-2", None, _one_hot(20))
    add("test", "Guten Tag.", "Good day.", "de-t-3", "en-t-3", _one_hot(21), _one_hot(21))
    add("test", "Eins.", None, "de-t-4", None, _one_hot(30))
    add("test", "Zwei.", None, "de-t-5", None, _one_hot(31))
    add("test", None, "One.", None, "en-t-4", None, _one_hot(32))
    add("test", None, "Two.", None, "en-t-5", None, _one_hot(33))
    return examples, meaning


def test_bucc_drops_texts_that_stand_for_several_sentences():
    # The official reader (read_sent2id) drops "Hallo Welt." (two ids): only de-t-3/en-t-3 is
    # extracted, precision 1, recall 1/2, F1 2/3. Expanding the text to both ids gave P 2/3, F1 0.8.
    examples, meaning = bucc_repeated_text_case()
    tokenizer = RecordingTokenizer()
    kind = _kind("bucc", tokenizer)
    features = kind.features(examples)
    scores = kind.metrics([meaning[text] for text in tokenizer.texts], examples, features)
    c = 1 / np.sqrt(2)
    assert scores["threshold"] == pytest.approx((8 / (2 + c) + 8 / 3) / 2)
    assert scores["validation_f1"] == pytest.approx(1.0)
    assert scores["precision"] == pytest.approx(1.0)
    assert scores["recall"] == pytest.approx(0.5)
    assert scores["f1"] == pytest.approx(2 / 3)


# --------------------------------------------------------------------------- 4. LAReQA


def test_lareqa_ties_rank_as_the_official_argsort():
    # Two candidates equally close to the question, the second relevant: the official ranking
    # (numpy argsort, reversed) puts the second first, AP 1; a stable sort put it second, AP 1/2.
    from xtui.retrieval import mean_average_precision_at_k

    queries = np.array([[1.0, 0.0]])
    candidates = np.array([[1.0, 0.0], [2.0, 0.0]])
    assert mean_average_precision_at_k(queries, candidates, [[1]], k=20) == pytest.approx(1.0)


def test_lareqa_candidates_are_sentence_then_context():
    # XTREME-R embeds each candidate as its sentence followed by its whole paragraph (newlines
    # removed), in training (processors/lareqa.py) and evaluation (evaluate_retrieval.py).
    context = "Paris is in France.\nThe Seine flows through it."
    rows = [{"id": "q1", "language": "de", "context": context, "question": "Where?",
             "answers": {"text": ["France"], "answer_start": [context.index("France")]}}]
    tokenizer = RecordingTokenizer()
    kind = _kind("lareqa", tokenizer)
    kind.features(rows)
    flat = context.replace("\n", "")
    assert tokenizer.texts == ["Paris is in France." + flat, "The Seine flows through it." + flat]


def test_lareqa_uses_xquad_r_sentence_breaks_when_the_data_has_them():
    # XQuAD-R ships each paragraph's sentence breaks; a regex would split "Washington, D.C. It".
    context = "He moved to Washington, D.C. It was 1990."
    rows = [{"id": "q1", "language": "de", "context": context, "question": "When?",
             "answers": {"text": ["1990"], "answer_start": [context.index("1990")]},
             "sentence_breaks": [[0, len(context)]]}]
    tokenizer = RecordingTokenizer()
    kind = _kind("lareqa", tokenizer)
    kind.features(rows)
    assert tokenizer.texts == [context + context]
