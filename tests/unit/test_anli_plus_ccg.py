"""The intermediate tasks ANLI+ (ANLI + MultiNLI + SNLI, one NLI head) and CCG supertagging
(CCGbank: licensed, local files only, supertags listed in the data folder); a spec naming CCG and
a real CCG run are in tests/integration/test_anli_plus_ccg.py."""

from __future__ import annotations

import re

import pytest

import xtui.data as data_module
from support.data_folders import write_ccg, write_jsonl
from xtui.data import load_examples
from xtui.errors import DataError
from xtui.plugins import load_plugins

from xtui_xtreme import tasks as xt

SHA = re.compile(r"^[0-9a-f]{40}$")


@pytest.fixture(scope="module")
def tasks():
    return load_plugins(refresh=True).tasks


# --------------------------------------------------------------------------- anli_plus


def test_anli_plus_is_an_intermediate_nli_task_over_three_sources(tasks):
    task = tasks["anli_plus"]
    assert (task.kind, task.metric, set(task.roles), task.languages) == (
        "classification", "accuracy", {"intermediate"}, ("en",))
    assert task.labels == xt.NLI_LABELS == tasks["mnli"].labels == tasks["anli"].labels
    train = task.hub_refs("en", "train")
    assert [(r.dataset, r.config, r.split) for r in train] == [
        ("facebook/anli", "plain_text", "train_r1+train_r2+train_r3"), ("nyu-mll/glue", "mnli", "train"),
        ("stanfordnlp/snli", "plain_text", "train")]
    assert all(SHA.match(r.revision) for r in train)
    assert train[0] == tasks["anli"].hub("en", "train") and train[1] == tasks["mnli"].hub("en", "train")
    assert task.hub("en", "validation") == tasks["anli"].hub("en", "validation")  # ANLI dev rounds 1-3
    assert task.hub("en", "test").split == "test_r1+test_r2+test_r3"
    fingerprint = task.fingerprint("en", "train", None)
    assert fingerprint.count("hub:") == 3 and xt.SNLI_REVISION in fingerprint and xt.GLUE_REVISION in fingerprint
    assert task.has_split("en", "train", None) and not task.has_split("de", "train", None)


def test_anli_plus_reads_the_three_hub_sources_and_drops_unlabelled_snli(tasks, monkeypatch):
    rows = {
        "facebook/anli": [{"uid": "a", "premise": "P1", "hypothesis": "H1", "label": 2, "reason": ""}],
        "nyu-mll/glue": [{"premise": "P2", "hypothesis": "H2", "label": 0, "idx": 0}],
        "stanfordnlp/snli": [{"premise": "P3", "hypothesis": "H3", "label": 1},
                             {"premise": "P4", "hypothesis": "H4", "label": -1}],
    }
    monkeypatch.setattr(data_module, "load_hub_rows", lambda ref: rows[ref.dataset])
    examples = load_examples(tasks["anli_plus"], "en", "train", None)
    assert [(e["text"], e["label"]) for e in examples] == [("P1", 2), ("P2", 0), ("P3", 1)]


def test_anli_plus_local_layout_reuses_the_anli_folder_for_dev_and_test(tasks, tmp_path):
    task = tasks["anli_plus"]
    write_jsonl(tmp_path / "anli_plus" / "en" / "train.jsonl", [
        {"premise": "A man plays a guitar.", "hypothesis": "A person makes music.", "label": 0},
        {"sentence1": "Two dogs run.", "sentence2": "Cats sleep.", "gold_label": "-"},  # SNLI's own format, no gold label
        {"sentence1": "Two dogs run.", "sentence2": "Animals are asleep.", "gold_label": "contradiction"},
    ])
    assert [e["label"] for e in load_examples(task, "en", "train", tmp_path)] == [0, 2]
    assert not task.has_split("en", "validation", tmp_path)
    write_jsonl(tmp_path / "anli" / "en" / "validation.jsonl", [
        {"uid": "r1", "premise": "The bridge opened in 1932.", "hypothesis": "The bridge is new.", "label": 2}])
    assert task.has_split("en", "validation", tmp_path) and not task.has_split("en", "test", tmp_path)
    assert load_examples(task, "en", "validation", tmp_path) == load_examples(tasks["anli"], "en", "validation", tmp_path)
    assert task.fingerprint("en", "validation", tmp_path) == tasks["anli"].fingerprint("en", "validation", tmp_path)
    # without an anli_plus folder the Hub is used, whatever else the data folder has
    (tmp_path / "anli_plus" / "en" / "train.jsonl").unlink()
    (tmp_path / "anli_plus" / "en").rmdir()
    (tmp_path / "anli_plus").rmdir()
    assert task.fingerprint("en", "train", tmp_path).startswith("hub:facebook/anli:")


# --------------------------------------------------------------------------- ccg


def test_ccg_is_local_only_with_labels_from_the_data(tasks, tmp_path):
    task = tasks["ccg"]
    assert (task.kind, task.metric, set(task.roles)) == ("tagging", "accuracy", {"intermediate"})
    assert task.hub is None and task.labels == () and task.labels_file == "en/labels.txt"
    assert "LDC2005T13" in task.unavailable
    write_ccg(tmp_path)
    resolved = task.with_data(tmp_path)
    assert resolved.labels == ("N", "NP[nb]/N", "S[dcl]\\NP", "(S[dcl]\\NP)/NP", "N/N", ".")
    train = load_examples(task, "en", "train", tmp_path)
    assert train[1] == {"tokens": ["Mary", "likes", "green", "apples", "."], "tags": [0, 3, 4, 0, 5]}
    assert load_examples(task, "en", "validation", tmp_path) == [{"tokens": ["Dogs", "bark", "."], "tags": [0, 2, 5]}]
    assert task.has_split("en", "train", tmp_path) and not task.has_split("en", "test", tmp_path)


def test_ccg_problems_name_the_file(tasks, tmp_path):
    folder = write_ccg(tmp_path, labels=False)
    with pytest.raises(DataError, match=r"no label list: expected .*ccg/en/labels.txt"):
        load_examples(tasks["ccg"], "en", "train", tmp_path)
    (folder / "labels.txt").write_text("N\n.\n")
    with pytest.raises(DataError) as caught:
        load_examples(tasks["ccg"], "en", "train", tmp_path)
    assert f"{folder / 'train.conllu'}:1" in str(caught.value) and "'NP[nb]/N' is not in labels.txt" in str(caught.value)
