"""LAReQA (XQuAD-R answer retrieval, XTREME-R): mAP@k by hand, sentence splitting, the
answer-sentence pick and the pooled multilingual test split (a real run with the tiny model:
tests/integration/test_lareqa.py)."""

from __future__ import annotations

import json

import numpy as np
import pytest

from xtui.data import load_examples
from xtui.kinds.answer_retrieval import answer_sentence, answer_sentence_index, pool_layout, sentence_spans, split_sentences
from xtui.plugins import load_plugins
from xtui.retrieval import average_precision_at_k, mean_average_precision_at_k

# --------------------------------------------------------------------------- mAP@k by hand


def test_average_precision_by_hand():
    # relevant at ranks 1 and 3 of 2 relevant: (1/1 + 2/3) / 2
    assert average_precision_at_k([1, 0, 1, 0], relevant=2, k=20) == pytest.approx((1 + 2 / 3) / 2)
    # 3 relevant, only one in the top 3 (rank 2): (1/2) / min(3, 3)
    assert average_precision_at_k([0, 1, 0, 1], relevant=3, k=3) == pytest.approx(0.5 / 3)
    # fewer relevant than k, all at the top: perfect
    assert average_precision_at_k([1, 1, 0, 0, 0], relevant=2, k=20) == pytest.approx(1.0)
    # more relevant (5) than k (2): the denominator is k, two hits at the top are perfect
    assert average_precision_at_k([1, 1, 1], relevant=5, k=2) == pytest.approx(1.0)
    # a relevant item below the cut-off does not count
    assert average_precision_at_k([0, 0, 1], relevant=1, k=2) == 0.0
    # full AP (k=None): ranks 2 and 3 of 2 relevant: (1/2 + 2/3) / 2
    assert average_precision_at_k([0, 1, 1], relevant=2, k=None) == pytest.approx(7 / 12)
    assert average_precision_at_k([0, 0], relevant=0) == 0.0


def test_mean_average_precision_ranks_by_cosine_and_breaks_ties_as_the_official_code():
    queries = np.array([[1.0, 0.0], [0.0, 2.0]])
    # c1 and c2 tie for query 0 (cosine 1); lengths do not matter (cosine)
    candidates = np.array([[0.0, 1.0], [3.0, 0.0], [1.0, 0.0]])
    relevant = [[2], [0, 1]]
    # As utils_lareqa.mean_avg_prec_at_k (argsort()[::-1]: the later of tied candidates first):
    # q0 ranks c2, c1, c0: its answer is 1st -> AP 1. q1 ranks c0, then c2 before c1 (tied at 0)
    # -> relevance 1, 0, 1 -> AP (1 + 2/3) / 2. Numbers from the official code.
    assert mean_average_precision_at_k(queries, candidates, relevant, k=20) == pytest.approx(0.9166666666666666)
    # k = 1: both first hits are relevant -> 1
    assert mean_average_precision_at_k(queries, candidates, relevant, k=1) == pytest.approx(1.0)
    assert mean_average_precision_at_k(queries, candidates, relevant, k=None) == pytest.approx(0.9166666666666666)


def test_mean_average_precision_with_eleven_relevant_of_many():
    # One query, 30 candidates, 11 relevant: candidates 0..29 score 30..1, relevant = every
    # other one from 0 (ranks 1, 3, ..., 21): in the top 20, hits at ranks 1, 3, ..., 19.
    queries = np.array([[1.0, 0.0]])
    angles = np.linspace(0.0, 1.2, 30)
    candidates = np.stack([np.cos(angles), np.sin(angles)], axis=1)
    relevant = [list(range(0, 22, 2))]
    expected = sum((i + 1) / (2 * i + 1) for i in range(10)) / 11
    assert mean_average_precision_at_k(queries, candidates, relevant, k=20) == pytest.approx(expected)


# --------------------------------------------------------------------------- sentences


def test_split_sentences_latin_cjk_devanagari_arabic():
    text = 'It rained 3.5 mm. Then it stopped! "Did it?" she asked. 雨停了。天晴了！ यह एक है। वह दो है। هل هذا؟ نعم.'
    assert split_sentences(text) == [
        "It rained 3.5 mm.", "Then it stopped!", '"Did it?"', "she asked.", "雨停了。", "天晴了！",
        "यह एक है।", "वह दो है।", "هل هذا؟", "نعم.",
    ]
    assert split_sentences("  no full stop at the end  ") == ["no full stop at the end"]
    assert split_sentences("   ") == []


def test_answer_sentence_is_the_one_holding_answer_start():
    context = "Paris is in France. The Seine flows through it. It is long."
    spans = sentence_spans(context)
    assert [context[a:b] for a, b in spans] == ["Paris is in France.", "The Seine flows through it.", "It is long."]
    start = context.index("Seine")
    example = {"context": context, "answers": {"text": ["Seine"], "answer_start": [start]}}
    assert answer_sentence(example) == "The Seine flows through it."
    # the space after a sentence belongs to it; past the end, or no answer: none
    assert answer_sentence_index(spans, context.index(" The")) == 0
    assert answer_sentence_index(spans, len(context) + 5) is None
    assert answer_sentence({"context": context, "answers": {"text": [], "answer_start": []}}) is None


def _row(qid: str, language: str, context: str, question: str, answer: str) -> dict:
    return {"id": qid, "language": language, "context": context, "question": question,
            "answers": {"text": [answer], "answer_start": [context.index(answer)]}}


def test_pool_layout_relevance_spans_languages():
    en = "Paris is in France. The Seine flows through it."
    de = "Paris liegt in Frankreich. Die Seine fließt hindurch."
    examples = [
        _row("q1", "de", de, "Wo liegt Paris?", "Frankreich"),
        _row("q2", "de", de, "Welcher Fluss?", "Seine"),
        _row("q1", "en", en, "Where is Paris?", "France"),
        _row("q2", "en", en, "Which river?", "Seine"),
    ]
    layout = pool_layout(examples, "de")
    assert layout["sentences"] == ["Paris liegt in Frankreich.", "Die Seine fließt hindurch.",
                                   "Paris is in France.", "The Seine flows through it."]
    assert layout["candidate_languages"] == ["de", "de", "en", "en"]
    assert layout["queries"] == [0, 1]  # German questions only
    assert layout["relevant"] == [[0, 2], [1, 3]]  # the answer sentence in both languages
    assert pool_layout(examples, "en")["queries"] == [2, 3]


# --------------------------------------------------------------------------- the task


def test_lareqa_is_registered_and_pools_every_language(tmp_path):
    registry = load_plugins()
    task = registry.tasks["lareqa"]
    assert task.kind == "answer_retrieval" and task.metric == "map@20"
    assert registry.kinds["answer_retrieval"].target == "xtui.kinds.answer_retrieval:AnswerRetrievalKind"
    assert set(task.languages) == {"en", "ar", "de", "el", "es", "hi", "ru", "th", "tr", "vi", "zh"}
    refs = task.hub_refs("th", "test")
    assert refs[0].dataset == "google-research-datasets/xquad_r" and refs[0].config == "th"
    assert refs[0].split == "validation" and len(refs[0].revision) == 40
    assert task.hub_refs("en", "train")[0].dataset == "rajpurkar/squad"
    assert task.hub_refs("de", "train") == () and task.hub_refs("de", "validation") == ()
    assert task.pool_languages("th", "test")[0] == "th" and len(task.pool_languages("th", "test")) == 11
    assert not task.has_split("de", task.shot_split, None)
    # local layout: XQuAD's folder; a language without a file is left out of the pool
    en = "Paris is in France. The Seine flows through it."
    de = "Paris liegt in Frankreich. Die Seine fließt hindurch."
    for language, context, answer in (("en", en, "France"), ("de", de, "Frankreich")):
        folder = tmp_path / "xquad" / language
        folder.mkdir(parents=True)
        document = {"data": [{"title": "Paris", "paragraphs": [{"context": context, "qas": [
            {"id": "q1", "question": "?", "answers": [{"text": answer, "answer_start": context.index(answer)}]}]}]}]}
        (folder / "test.json").write_text(json.dumps(document, ensure_ascii=False), encoding="utf-8")
    examples = load_examples(task, "de", "test", tmp_path)
    assert [(e["language"], e["id"]) for e in examples] == [("de", "q1"), ("en", "q1")]
    fingerprint = task.fingerprint("de", "test", tmp_path)
    assert fingerprint.startswith("de=sha256:") and "en=sha256:" in fingerprint and "th=missing:" in fingerprint


def test_xquad_paragraphs_get_xquad_r_sentence_breaks(shared_data):
    """The real XQuAD files (and the Hub's xquad_r rows) carry no sentence breaks; every XQuAD
    paragraph is one of XQuAD-R's and gets its breaks (google-research-datasets/lareqa)."""
    task = load_plugins().tasks["lareqa"]
    examples = load_examples(task, "en", "test", shared_data)
    assert examples and all("sentence_breaks" in e for e in examples)
    panthers = next(e for e in examples if e["context"].startswith("The Panthers defense gave up just 308 points"))
    # xquad-r/en.json, first paragraph
    assert panthers["sentence_breaks"] == [[0, 165], [166, 288], [289, 333], [334, 544], [545, 679], [680, 853],
                                           [854, 1166]]
    layout = pool_layout(examples, "en")
    assert len(layout["candidates"]) == sum(len(breaks) for breaks in
                                            {e["context"]: e["sentence_breaks"] for e in examples}.values())
    # the regex would have split this paragraph differently from XQuAD-R somewhere in the pool
    assert any([e["context"][s:t] for s, t in e["sentence_breaks"]] != split_sentences(e["context"]) for e in examples)
