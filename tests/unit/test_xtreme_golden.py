"""XTREME's own golden test, ported: the mock submission of google-research/xtreme
(``mock_test_data/``, copied to ``tests/data/xtreme_mock/``, Apache-2.0) scored by the scorer each
xtui task declares must give ``evaluate_test.py``'s expected averages for all nine tasks.

The files are read as ``evaluate.py`` reads them (``read_tag``, ``read_label``, ``read_squad``)
and averaged over ``XTREME_TASK2LANGS`` as ``evaluate_test.py`` does; xtui's fractions are
compared as percentages, to 1e-9."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from conftest import TESTS
from xtui.plugins import load_plugins
from xtui.scorers import get_scorer

MOCK = TESTS / "data" / "xtreme_mock"

# evaluate_test.py TASK2AVG_SCORES (google-research/xtreme 838c13b69daafb9328785d16caae2711e4012123)
TASK2AVG_SCORES = {
    "pawsx": {"avg_accuracy": 51.42857142857143},
    "xnli": {"avg_accuracy": 30.666666666666668},
    "panx": {"avg_f1": 57.50793650793652, "avg_precision": 54.729166666666664, "avg_recall": 62.750000000000014},
    "udpos": {"avg_f1": 70.21746048354693, "avg_precision": 71.02232625883823, "avg_recall": 69.54982073976082},
    "bucc2018": {"avg_f1": 55.0, "avg_precision": 55.0, "avg_recall": 55.0},
    "tatoeba": {"avg_accuracy": 53.611111111111114},
    "xquad": {"avg_exact_match": 77.27272727272727, "avg_f1": 79.9586776859504},
    "mlqa": {"avg_exact_match": 57.142857142857146, "avg_f1": 81.76870748299321},
    "tydiqa": {"avg_exact_match": 88.88888888888889, "avg_f1": 97.22222222222223},
}

# evaluate.py XTREME_TASK2LANGS
XTREME_TASK2LANGS = {
    "pawsx": "de,en,es,fr,ja,ko,zh".split(","),
    "xnli": "ar,bg,de,el,en,es,fr,hi,ru,sw,th,tr,ur,vi,zh".split(","),
    "panx": ("ar,he,vi,id,jv,ms,tl,eu,ml,ta,te,af,nl,en,de,el,bn,hi,mr,ur,fa,fr,"
             "it,pt,es,bg,ru,ja,ka,ko,th,sw,yo,my,zh,kk,tr,et,fi,hu").split(","),
    "udpos": ("af,ar,bg,de,el,en,es,et,eu,fa,fi,fr,he,hi,hu,id,it,ja,kk,ko,mr,"
              "nl,pt,ru,ta,te,th,tl,tr,ur,vi,yo,zh").split(","),
    "bucc2018": "de,fr,ru,zh".split(","),
    "tatoeba": ("ar,he,vi,id,jv,tl,eu,ml,ta,te,af,nl,de,el,bn,hi,mr,ur,fa,fr,it,"
                "pt,es,bg,ru,ja,ka,ko,th,sw,zh,kk,tr,et,fi,hu").split(","),
    "xquad": "en,es,de,el,ru,tr,ar,vi,th,zh,hi".split(","),
    "mlqa": "en,es,de,ar,hi,vi,zh".split(","),
    "tydiqa": "en,ar,bn,fi,id,ko,ru,sw,te".split(","),
}

XTUI_TASK = {"bucc2018": "bucc"}
"""XTREME's folder name -> xtui's task name, where they differ."""


def read_tag(path: Path) -> list:
    """evaluate.py read_tag: one tag per line, sentences separated by blank lines."""
    sentences, sentence = [], []
    with open(path, encoding="utf-8") as handle:
        for line in handle:
            line = line.strip()
            if line:
                sentence.append(line)
            else:
                sentences.append(sentence)
                sentence = []
    if sentence:
        sentences.append(sentence)
    return sentences


def read_label(path: Path) -> list:
    """evaluate.py read_label: one label per line."""
    with open(path, encoding="utf-8") as handle:
        return [line.strip() for line in handle]


def read_squad(path: Path):
    """evaluate.py read_squad: the ``data`` list of SQuAD JSON (predictions: an id -> text map)."""
    document = json.loads(path.read_text(encoding="utf-8"))
    return document["data"] if "data" in document else document


def qa_inputs(labels: list, predictions: dict) -> tuple:
    """Every question of the gold file in order, its prediction (None when the submission has
    none: the scripts score it 0) and its gold answer texts."""
    answers, gold = [], []
    for article in labels:
        for paragraph in article["paragraphs"]:
            for qa in paragraph["qas"]:
                answers.append(predictions.get(qa["id"]))
                gold.append([answer["text"] for answer in qa["answers"]])
    return answers, gold


def bucc_inputs(labels: list, predictions: list) -> tuple:
    """A submission of id pairs as the bucc scorer reads mined candidates: every sentence its own
    text (its id), every predicted pair one candidate of score 1. With one part, the threshold
    is chosen on it (every candidate scores 1, so all are kept) and bucc_f1 scores them."""
    pairs = [tuple(line.split("\t")) for line in predictions]
    gold = [tuple(line.split("\t")) for line in labels]
    sources = sorted({s for s, _ in pairs + gold})
    targets = sorted({t for _, t in pairs + gold})
    candidates = {"": [[1.0, source, target] for source, target in pairs]}
    references = {"parts": {"": {"source": [[s, s] for s in sources], "target": [[t, t] for t in targets],
                                 "gold": [list(g) for g in gold]}}}
    return candidates, references


def language_scores(task: str, language: str, scorer, root: Path = MOCK) -> dict:
    """One language of an XTREME folder (``root``/predictions and ``root``/labels) scored as
    evaluate.py's evaluate_one_task reads it, by xtui's scorer."""
    suffix = "json" if task in ("xquad", "mlqa", "tydiqa") else "tsv"
    predictions_file = root / "predictions" / task / f"test-{language}.{suffix}"
    labels_file = root / "labels" / task / f"test-{language}.{suffix}"
    if task in ("xquad", "mlqa", "tydiqa"):
        answers, gold = qa_inputs(read_squad(labels_file), read_squad(predictions_file))
        return scorer.score(answers, gold, language)
    if task in ("udpos", "panx"):
        predictions, labels = read_tag(predictions_file), read_tag(labels_file)
        assert len(predictions) == len(labels)
        return scorer.score(predictions, labels, language)
    predictions, labels = read_label(predictions_file), read_label(labels_file)
    if task == "bucc2018":
        return scorer.score(*bucc_inputs(labels, predictions), language)
    assert len(predictions) == len(labels)
    if task == "tatoeba":
        return scorer.score({"target_to_source": predictions}, labels, language)
    return scorer.score(predictions, labels, language)


@pytest.mark.parametrize("task", list(TASK2AVG_SCORES))
def test_xtui_scorers_reproduce_xtreme_evaluate_test(task):
    registered = load_plugins().tasks[XTUI_TASK.get(task, task)]
    scorer = get_scorer(registered.scorer)
    expected = TASK2AVG_SCORES[task]
    per_language = {language: language_scores(task, language, scorer) for language in XTREME_TASK2LANGS[task]}
    for name, value in expected.items():
        metric = name[len("avg_"):]
        average = sum(100 * scores[metric] for scores in per_language.values()) / len(per_language)
        assert average == pytest.approx(value, abs=1e-9), f"{task} {name}: xtui {average!r}, evaluate_test.py {value!r}"


def test_the_mock_data_is_the_nine_tasks_complete():
    for task, languages in XTREME_TASK2LANGS.items():
        for side in ("labels", "predictions"):
            present = {path.stem[len("test-"):] for path in (MOCK / side / task).iterdir()}
            assert set(languages) <= present, f"{side}/{task} lacks {set(languages) - present}"
    assert "Apache License" in (MOCK / "LICENSE").read_text()[:200]
