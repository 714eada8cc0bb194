"""How a task's data sources compose (xtui.tasks / xtui.data): several Hub splits for one
split, splits made of parts, converters that drop rows, labels from a file, and data that
xtui cannot fetch. Backwards compatible: a single HubRef behaves (and fingerprints) as before."""

from __future__ import annotations

import json

import pytest

import xtui.data as data_module
from xtui.data import load_examples
from xtui.errors import DataError
from xtui.plugins import load_plugins
from xtui.tasks import HubRef, Task, validate_task

A = HubRef("org/a", "cfg", "train", "1" * 40)
B = HubRef("org/b", None, "train", "2" * 40, where=(("lang", "en"),))
ROWS = {"org/a": [{"text": "a1", "label": 0}, {"text": "a2", "label": -1}],
        "org/b": [{"text": "b1", "label": 1}]}


def convert(row):
    return None if row["label"] == -1 else {"text": row["text"], "text_pair": None, "label": row["label"]}


def hub(language, split):
    if language != "en":
        return None
    return (A, B) if split == "train" else (A if split == "validation" else None)


def make(**fields) -> Task:
    base = dict(name="t", kind="classification", metric="accuracy", languages=("en",), labels=("x", "y"),
                hub=hub, convert=convert)
    return Task(**{**base, **fields})


@pytest.fixture
def fake_hub(monkeypatch):
    seen = []

    def rows(ref):
        seen.append(ref)
        return [dict(row) for row in ROWS[ref.dataset]]

    monkeypatch.setattr(data_module, "load_hub_rows", rows)
    return seen


def test_several_hub_sources_concatenate_in_order(fake_hub):
    task = make()
    assert task.hub_refs("en", "train") == (A, B) and task.hub_refs("en", "validation") == (A,)
    assert task.hub_refs("en", "test") == () and task.hub_refs("de", "train") == ()
    assert task.has_split("en", "train", None) and not task.has_split("en", "test", None)
    examples = load_examples(task, "en", "train", None)
    assert [e["text"] for e in examples] == ["a1", "b1"]  # a2 (label -1) dropped by the converter
    assert fake_hub == [A, B]
    fingerprint = task.fingerprint("en", "train", None)
    assert fingerprint == (f"hub:org/a:cfg:train:{'1' * 40}:()" + " + " + f"hub:org/b:None:train:{'2' * 40}:(('lang', 'en'),)")
    # one HubRef: the fingerprint every existing stage hash was computed with
    assert task.fingerprint("en", "validation", None) == f"hub:org/a:cfg:train:{'1' * 40}:()"
    with pytest.raises(DataError, match="no test split"):
        load_examples(task, "en", "test", None)


def test_converter_can_drop_local_rows(tmp_path):
    path = tmp_path / "t" / "en" / "train.jsonl"
    path.parent.mkdir(parents=True)
    path.write_text("".join(json.dumps(r) + "\n" for r in ROWS["org/a"] + ROWS["org/b"]))
    assert [e["text"] for e in load_examples(make(), "en", "train", tmp_path)] == ["a1", "b1"]


def test_split_parts_tag_each_example_and_cover_every_part(tmp_path):
    task = make(split_parts={"test": ("validation", "test")}, hub=None)
    folder = tmp_path / "t" / "en"
    folder.mkdir(parents=True)
    (folder / "validation.jsonl").write_text(json.dumps({"text": "v", "label": 0}) + "\n")
    assert not task.has_split("en", "test", tmp_path)  # the test part is missing
    (folder / "test.jsonl").write_text(json.dumps({"text": "t", "label": 1}) + "\n")
    assert task.has_split("en", "test", tmp_path)
    examples = load_examples(task, "en", "test", tmp_path)
    assert [(e["text"], e["part"]) for e in examples] == [("v", "validation"), ("t", "test")]
    assert "part" not in load_examples(task, "en", "validation", tmp_path)[0]
    before = task.fingerprint("en", "test", tmp_path)
    assert before.count("sha256:") == 2
    (folder / "validation.jsonl").write_text(json.dumps({"text": "v2", "label": 0}) + "\n")
    assert task.fingerprint("en", "test", tmp_path) != before  # a validation edit changes the test data


def test_generated_split_parts():
    task = Task(name="g", kind="classification", metric="accuracy", languages=("en",), labels=("x",),
                generate=lambda language, split: [{"text": split, "text_pair": None, "label": 0}],
                split_parts={"test": ("validation", "test")})
    assert [(e["text"], e["part"]) for e in load_examples(task, "en", "test", None)] == [
        ("validation", "validation"), ("test", "test")]


def test_unavailable_data_says_why_in_one_line(tmp_path):
    task = make(hub=None, unavailable="licensed; put it under <data_dir>/t/en/")
    for data_dir, where in ((None, "no data folder is set"), (tmp_path, f"there is no folder {tmp_path / 't'}")):
        with pytest.raises(DataError) as caught:
            task.has_split("en", "train", data_dir)
        assert str(caught.value) == f"task 't': licensed; put it under <data_dir>/t/en/ ({where})"
        with pytest.raises(DataError, match="licensed"):
            load_examples(task, "en", "train", data_dir)
    (tmp_path / "t" / "en").mkdir(parents=True)
    assert not task.has_split("en", "train", tmp_path)  # a folder: the ordinary local answers
    (tmp_path / "t" / "en" / "train.jsonl").write_text(json.dumps({"text": "x", "label": 1}) + "\n")
    assert task.has_split("en", "train", tmp_path) and len(load_examples(task, "en", "train", tmp_path)) == 1


def _tag_convert(row, labels):
    return {"tokens": row["tokens"], "tags": [labels.index(tag) for tag in row["tags"]]}


def test_labels_from_a_file_of_the_data(tmp_path):
    task = Task(name="tags", kind="tagging", metric="accuracy", languages=("en",), convert=_tag_convert,
                labels_file="en/labels.txt")
    folder = tmp_path / "tags" / "en"
    folder.mkdir(parents=True)
    (folder / "train.jsonl").write_text(json.dumps({"tokens": ["a", "b"], "tags": ["N", "S\\N"]}) + "\n")
    assert task.with_data(tmp_path) is task and task.labels == ()
    with pytest.raises(DataError, match="no label list.*labels.txt"):
        load_examples(task, "en", "train", tmp_path)
    (folder / "labels.txt").write_text("N\n\nS\\N\nNP/N\n")
    assert task.with_data(tmp_path).labels == ("N", "S\\N", "NP/N")
    assert load_examples(task, "en", "train", tmp_path) == [{"tokens": ["a", "b"], "tags": [0, 1]}]
    before = task.fingerprint("en", "train", tmp_path)
    (folder / "labels.txt").write_text("S\\N\nN\n")
    assert task.fingerprint("en", "train", tmp_path) != before  # relabelling changes the data
    (folder / "labels.txt").write_text("N\nN\n")
    with pytest.raises(DataError, match="listed twice"):
        task.with_data(tmp_path)


def test_validate_new_fields():
    kinds = sorted(load_plugins().kinds)
    assert validate_task(make(split_parts={"test": ("validation", "test")}, overlaps={"x": "why"}), kinds) == []
    assert validate_task(make(split_parts={"test": ("dev",)}), kinds)
    assert validate_task(make(split_parts={"validation": ("train",)}), kinds)  # the few-shot pool
    assert validate_task(make(overlaps={"x": "two\nlines"}), kinds)
    assert validate_task(make(labels_file="/abs/labels.txt"), kinds)
