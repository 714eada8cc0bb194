"""Leakage warnings: an intermediate task whose data overlaps the target task's."""

from __future__ import annotations

import json

import pytest

from xtui.leakage import leakage_warnings, render_leakage_warnings, shared_sources
from xtui.plugins import load_plugins
from xtui.tasks import HubRef, Task


@pytest.fixture(scope="module")
def registry():
    return load_plugins(refresh=True)


KNOWN = [
    ("mnli", "xnli", "XNLI's English training data"),
    ("anli_plus", "xnli", "anli_plus contains MultiNLI train"),
    ("squad_v1", "xquad", "SQuAD v1.1 development data"),
    ("squad_v1", "mlqa", "MLQA's English training data is SQuAD v1.1 train"),
    ("squad_v2", "xquad", "SQuAD 2.0 contains every SQuAD v1.1 question"),
    ("squad_v2", "mlqa", "SQuAD 2.0 contains every SQuAD v1.1 question"),
    ("siqa", "xcopa", "SocialIQA"),  # declared on xcopa's side
]


@pytest.mark.parametrize("intermediate,target,needle", KNOWN)
def test_known_overlaps(registry, intermediate, target, needle):
    warnings = leakage_warnings(["none", intermediate], target, registry)
    assert len(warnings) == 1
    assert warnings[0].startswith(f"intermediate task {intermediate!r} overlaps target task {target!r}: ")
    assert needle in warnings[0] and "\n" not in warnings[0]


def test_no_warning_without_overlap(registry):
    assert leakage_warnings(["none", "anli", "qqp", "hellaswag", "ccg"], "xnli", registry) == []
    assert leakage_warnings(["mnli", "squad_v1"], "panx", registry) == []
    assert leakage_warnings(["squad_v1"], "tydiqa", registry) == []  # TyDiQA trains on its own English data
    assert leakage_warnings(["mnli"], "no_such_target", registry) == []
    assert leakage_warnings(["no_such_task", "none"], "xnli", registry) == []


def test_mixtures_are_checked_member_by_member(registry):
    warnings = leakage_warnings(["none", ["qqp", "mnli"], "mnli", ["anli_plus", "sst2"]], "xnli", registry)
    assert [w.split(" overlaps")[0] for w in warnings] == [
        "intermediate task 'mnli' (in the mixture qqp+mnli)", "intermediate task 'anli_plus' (in the mixture anli_plus+sst2)"]
    assert leakage_warnings(["qqp+mnli"], "xnli", registry) == warnings[:1]  # a mixture's key (plan labels)


def _task(name, roles, hub=None, **fields):
    return Task(name=name, kind="classification", metric="accuracy", languages=("en",), labels=("a", "b"),
                hub=hub, convert=lambda row: row, roles=frozenset(roles), **fields)


def test_declared_on_either_side():
    intermediate = _task("inter", {"intermediate"}, overlaps={"tgt": "inter is tgt's training set"})
    target = _task("tgt", {"target"})
    assert leakage_warnings(["inter"], "tgt", {"inter": intermediate, "tgt": target}) == [
        "intermediate task 'inter' overlaps target task 'tgt': inter is tgt's training set"]
    intermediate = _task("inter", {"intermediate"})
    target = _task("tgt", {"target"}, overlaps={"inter": "tgt's test set was built from inter's dev set"})
    assert "built from inter's dev set" in leakage_warnings(["inter"], "tgt", {"inter": intermediate, "tgt": target})[0]


def test_found_from_shared_hub_splits():
    """Nothing declared: the same Hub dataset split (another revision, or inside a split sum) is found."""
    mine = HubRef("org/nli", "main", "train_r1+train_r2", "1" * 40)
    theirs = HubRef("org/nli", "main", "train_r2", "2" * 40)
    intermediate = _task("inter", {"intermediate"}, hub=lambda lang, split: mine if split == "train" else None)
    target = _task("tgt", {"target"}, hub=lambda lang, split: (HubRef("org/x", None, "test", "3" * 40), theirs)
                   if split == "test" else None)
    tasks = {"inter": intermediate, "tgt": target}
    assert shared_sources(intermediate, target) == [("train", "test", "org/nli main train_r1+train_r2")]
    assert leakage_warnings(["inter"], "tgt", tasks) == [
        "intermediate task 'inter' overlaps target task 'tgt': inter's train data and tgt's English test data "
        "are both org/nli main train_r1+train_r2"]
    other = _task("other", {"target"}, hub=lambda lang, split: HubRef("org/nli", "other", "train_r2", "2" * 40))
    assert leakage_warnings(["inter"], "other", {**tasks, "other": other}) == []  # another config


def test_found_from_a_shared_local_file(tmp_path):
    """A target that reads its training split from the intermediate task's folder (like xquad from squad_v1)."""
    path = tmp_path / "inter" / "en" / "train.jsonl"
    path.parent.mkdir(parents=True)
    path.write_text(json.dumps({"text": "x", "label": 0}) + "\n")
    (tmp_path / "tgt" / "en").mkdir(parents=True)
    intermediate = _task("inter", {"intermediate"})
    target = _task("tgt", {"target"}, split_folders={"train": "inter"})
    tasks = {"inter": intermediate, "tgt": target}
    assert leakage_warnings(["inter"], "tgt", tasks) == []  # without the data folder nothing is known
    warnings = leakage_warnings(["inter"], "tgt", tasks, data_dir=tmp_path)
    assert warnings and str(path) in warnings[0] and "English train data" in warnings[0]


def test_render(registry):
    assert render_leakage_warnings([]) == ""
    rendered = render_leakage_warnings(leakage_warnings(["mnli", "squad_v1"], "xquad", registry)
                                       + leakage_warnings(["mnli"], "xnli", registry))
    lines = rendered.splitlines()
    assert len(lines) == 2 and all(line.startswith("warning: data overlap: intermediate task ") for line in lines)
