"""The XTREME plugin's QA and multiple-choice tasks: Hub locators, both row formats, local data."""

from __future__ import annotations


import pytest

from conftest import SHARED_DATA

from xtui.data import load_examples, load_hub_rows
from xtui.tasks import HubRef

import xtui_xtreme
from xtui_xtreme import tasks as xt

SHARED = SHARED_DATA
needs_data = pytest.mark.skipif(not (SHARED / "xquad").is_dir(), reason=f"real data samples not found at {SHARED}")


@pytest.fixture(scope="module")
def tasks() -> dict:
    registered: list = []
    xtui_xtreme.register_tasks(registered.append)
    return {task.name: task for task in registered}


def test_kinds_metrics_and_roles(tasks):
    expected = {
        "xquad": ("qa", "f1", {"target"}, 12), "mlqa": ("qa", "f1", {"target"}, 7),  # XTREME-R adds ro
        "tydiqa": ("qa", "f1", {"target"}, 9), "xcopa": ("multiple_choice", "accuracy", {"target"}, 12),
        "squad_v1": ("qa", "f1", {"intermediate"}, 1), "squad_v2": ("qa", "f1", {"intermediate"}, 1),
        "hellaswag": ("multiple_choice", "accuracy", {"intermediate"}, 1),
        "cosmosqa": ("multiple_choice", "accuracy", {"intermediate"}, 1),
        "commonsenseqa": ("multiple_choice", "accuracy", {"intermediate"}, 1),
        "siqa": ("multiple_choice", "accuracy", {"intermediate"}, 1),
    }
    for name, (kind, metric, roles, n_languages) in expected.items():
        task = tasks[name]
        assert (task.kind, task.metric, set(task.roles), len(task.languages)) == (kind, metric, roles, n_languages), name
    choices = {"xcopa": 2, "hellaswag": 4, "cosmosqa": 4, "commonsenseqa": 5, "siqa": 3}
    assert {name: len(tasks[name].labels) for name in choices} == choices
    assert tasks["mlqa"].options["normalization"] == "mlqa" and "normalization" not in tasks["xquad"].options
    assert tasks["squad_v2"].options["no_answer"] is True and not tasks["squad_v1"].options.get("no_answer")
    assert all(tasks[n].options["doc_stride"] == 128 and tasks[n].options["max_answer_length"] == 30
               for n in ("xquad", "mlqa", "tydiqa", "squad_v1", "squad_v2"))


def test_qa_hub_locators(tasks):
    squad_train = HubRef("rajpurkar/squad", "plain_text", "train", xt.SQUAD_REVISION)
    assert tasks["xquad"].hub("en", "train") == squad_train == tasks["mlqa"].hub("en", "train")
    assert tasks["xquad"].hub("de", "train") is None
    assert tasks["xquad"].hub("de", "test") == HubRef("google/xtreme", "XQuAD.de", "validation", xt.XTREME_REVISION)
    assert tasks["xquad"].hub("en", "validation") is None and tasks["xquad"].hub("de", "validation") is None
    assert tasks["mlqa"].hub("zh", "test") == HubRef("google/xtreme", "MLQA.zh.zh", "test", xt.XTREME_REVISION)
    assert tasks["mlqa"].hub("de", "validation").config == "MLQA.de.de"
    english = tasks["tydiqa"].hub("en", "train")
    assert (english.config, english.split, english.startswith) == ("tydiqa", "train", (("id", "english-"),))
    assert tasks["tydiqa"].hub("sw", "test").split == "validation"
    assert tasks["tydiqa"].hub("sw", "test").startswith == (("id", "swahili-"),)
    assert tasks["tydiqa"].hub("sw", "validation") is None and tasks["tydiqa"].shot_split == "train"
    # the prefix is part of the data fingerprint
    assert tasks["tydiqa"].fingerprint("en", "test", None) != tasks["tydiqa"].fingerprint("ar", "test", None)
    assert tasks["squad_v2"].hub("en", "validation") == HubRef("rajpurkar/squad_v2", "squad_v2", "validation", xt.SQUAD_V2_REVISION)


def test_multiple_choice_hub_locators(tasks):
    assert tasks["xcopa"].hub("en", "train") == HubRef("aps/super_glue", "copa", "train", xt.SUPER_GLUE_REVISION)
    assert tasks["xcopa"].hub("en", "test") is None  # COPA test labels are hidden
    assert tasks["xcopa"].hub("qu", "test") == HubRef("cambridgeltl/xcopa", "qu", "test", xt.XCOPA_REVISION)
    assert tasks["xcopa"].hub("it", "train") is None
    assert tasks["hellaswag"].hub("en", "validation").dataset == "Rowan/hellaswag"
    assert tasks["siqa"].hub("en", "train").revision == xt.SIQA_REVISION


def test_hub_prefix_filter_keeps_only_that_language(monkeypatch):
    datasets = pytest.importorskip("datasets")
    rows = [{"id": "english-1-0", "question": "a"}, {"id": "arabic-2-0", "question": "b"},
            {"id": "english-3-1", "question": "c"}]
    monkeypatch.setattr(datasets, "load_dataset", lambda *args, **kwargs: datasets.Dataset.from_list(rows))
    ref = HubRef("google/xtreme", "tydiqa", "train", "x" * 40, startswith=(("id", "english-"),))
    assert [row["id"] for row in load_hub_rows(ref)] == ["english-1-0", "english-3-1"]


def test_converts_hub_rows(tasks):
    squad = {"id": "5733be", "title": "T", "context": "Paris is big.", "question": "What is big?",
             "answers": {"text": ["Paris"], "answer_start": [0]}}
    assert tasks["xquad"].convert(squad) == {"id": "5733be", "context": "Paris is big.", "question": "What is big?",
                                             "answers": {"text": ["Paris"], "answer_start": [0]}}
    impossible = dict(squad, answers={"text": [], "answer_start": []})
    assert tasks["squad_v2"].convert(impossible)["answers"] == {"text": [], "answer_start": []}
    copa = {"premise": "The man fell.", "choice1": "He slipped.", "choice2": "He sang.", "question": "cause", "label": 0, "idx": 1}
    assert tasks["xcopa"].convert(copa) == {"context": "The man fell.", "question": "What was the cause?",
                                            "choices": ["He slipped.", "He sang."], "label": 0}
    assert tasks["xcopa"].convert(dict(copa, question="effect"))["question"] == "What happened as a result?"
    hellaswag = {"ctx_a": "A man sits.", "ctx_b": "he", "endings": ["a", "b", "c", "d"], "label": "3"}
    assert tasks["hellaswag"].convert(hellaswag) == {"context": "A man sits.", "question": "he",
                                                     "choices": ["a", "b", "c", "d"], "label": 3}
    cosmos = {"id": "x", "context": "C", "question": "Q", "answer0": "a", "answer1": "b", "answer2": "c", "answer3": "d", "label": 2}
    assert tasks["cosmosqa"].convert(cosmos)["choices"] == ["a", "b", "c", "d"]
    csqa = {"id": "1", "question": "Q?", "question_concept": "q",
            "choices": {"label": ["A", "B", "C", "D", "E"], "text": ["v", "w", "x", "y", "z"]}, "answerKey": "D"}
    assert tasks["commonsenseqa"].convert(csqa) == {"context": "", "question": "Q?", "choices": ["v", "w", "x", "y", "z"], "label": 3}
    siqa = {"context": "C", "question": "Q", "answerA": "a", "answerB": "b", "answerC": "c", "label": "2"}
    assert tasks["siqa"].convert(siqa)["label"] == 1


def test_malformed_rows_raise(tasks):
    squad = {"id": "1", "context": "c", "question": "q", "answers": {"text": ["c"], "answer_start": [0, 1]}}
    bad = [
        ("xquad", squad),
        ("xquad", dict(squad, answers={"text": ["c"], "answer_start": ["0"]})),
        ("xcopa", {"premise": "p", "choice1": "a", "choice2": "b", "question": "why", "label": 0}),
        ("xcopa", {"premise": "p", "choice1": "a", "choice2": "b", "question": "cause", "label": 2}),
        ("hellaswag", {"ctx_a": "a", "ctx_b": "b", "endings": ["a"] * 4, "label": ""}),  # hidden test label
        ("commonsenseqa", {"question": "q", "choices": {"label": ["A", "B"], "text": ["a", "b"]}, "answerKey": ""}),
        ("siqa", {"context": "c", "question": "q", "answerA": "a", "answerB": "b", "answerC": "c", "label": "0"}),
    ]
    for name, row in bad:
        with pytest.raises(ValueError):
            tasks[name].convert(row)


# --------------------------------------------------------------------------- real local data


@needs_data
def test_local_sample_sizes_match_the_data_readme(tasks):
    sizes = {
        ("xquad", "de", "test"): 522, ("xquad", "zh", "test"): 522, ("squad_v1", "en", "train"): 2002,
        ("mlqa", "de", "validation"): 50, ("mlqa", "de", "test"): 206,
        ("xcopa", "en", "train"): 400, ("xcopa", "en", "validation"): 100, ("xcopa", "it", "validation"): 100,
        ("xcopa", "sw", "test"): 300, ("hellaswag", "en", "train"): 700, ("cosmosqa", "en", "train"): 2000,
        ("commonsenseqa", "en", "train"): 1000,
    }
    for (name, language, split), size in sizes.items():
        assert len(load_examples(tasks[name], language, split, SHARED)) == size, (name, language, split)


@needs_data
def test_xquad_and_mlqa_train_on_the_local_squad_sample(tasks):
    squad_file = tasks["squad_v1"].local_file(SHARED, "en", "train")
    assert tasks["xquad"].local_file(SHARED, "en", "train") == squad_file == tasks["mlqa"].local_file(SHARED, "en", "train")
    assert tasks["xquad"].fingerprint("en", "train", SHARED) == tasks["squad_v1"].fingerprint("en", "train", SHARED)
    assert tasks["xquad"].local_file(SHARED, "de", "test") == SHARED / "xquad" / "de" / "test.json"
    assert not tasks["xquad"].has_split("de", "validation", SHARED)  # no shot pool: zero-shot only
    assert tasks["mlqa"].has_split("de", "validation", SHARED)


@needs_data
@pytest.mark.parametrize("name,language,split", [("xquad", "ar", "test"), ("xquad", "zh", "test"), ("squad_v1", "en", "train"), ("mlqa", "de", "validation")])
def test_local_answers_point_into_their_contexts(tasks, name, language, split):
    examples = load_examples(tasks[name], language, split, SHARED)
    assert len({e["id"] for e in examples}) == len(examples)
    for example in examples:
        answers = example["answers"]
        assert answers["text"]
        for text, start in zip(answers["text"], answers["answer_start"]):
            assert example["context"][start:start + len(text)] == text


@needs_data
def test_xquad_is_parallel_across_languages(tasks):
    ids = [[e["id"] for e in load_examples(tasks["xquad"], language, "test", SHARED)] for language in ("en", "de", "zh")]
    assert ids[0] == ids[1] == ids[2]


@needs_data
def test_local_copa_labels_are_balanced_enough(tasks):
    examples = load_examples(tasks["xcopa"], "it", "validation", SHARED)
    labels = [e["label"] for e in examples]
    assert set(labels) == {0, 1} and 30 < sum(labels) < 70
    assert {e["question"] for e in examples} == set(xt.COPA_QUESTIONS.values())
