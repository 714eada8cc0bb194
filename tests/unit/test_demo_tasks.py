"""The built-in demo tasks (plugins/xtui_demo): valid, deterministic, balanced, disjoint splits."""

from collections import Counter

import pytest

import xtui_demo
from xtui.errors import DataError
from xtui.tasks import validate_task

TASKS = []
xtui_demo.register_tasks(register=TASKS.append)
BY_NAME = {task.name: task for task in TASKS}


def _key(example):
    return tuple(example["tokens"]) if "tokens" in example else (example["text"], example["text_pair"])


def _splits(task):
    """(language, split, expected size) of every split the task has."""
    for language in task.languages:
        if task.name == "demo_nli":
            sizes = {"train": 600, "validation": 150, "test": 150}
        elif language == "en":
            sizes = {"train": 600, "validation": 150, "test": 200}
        else:
            sizes = {"validation": 100, "test": 200}
        for split, size in sizes.items():
            yield language, split, size


def test_registered_tasks_are_valid():
    assert set(BY_NAME) == {"demo_sentiment", "demo_entities", "demo_nli"}
    for task in TASKS:
        assert validate_task(task, ["classification", "tagging"]) == []
        assert task.generator_version and task.description
        assert (task.train_split, task.validation_split, task.shot_split, task.test_split) == (
            "train", "validation", "validation", "test")
    assert set(BY_NAME["demo_sentiment"].languages) >= {"en", "de", "es", "fr"}
    assert BY_NAME["demo_entities"].languages == BY_NAME["demo_sentiment"].languages
    assert BY_NAME["demo_nli"].languages == ("en",)
    assert BY_NAME["demo_nli"].roles == frozenset({"intermediate"})


def test_plugin_loads_through_entry_point():
    from xtui.plugins import load_plugins

    registry = load_plugins(refresh=True)
    demo = next(p for p in registry.plugins if p.module == "xtui_demo")
    assert demo.error is None
    assert set(demo.tasks) == set(BY_NAME)


@pytest.mark.parametrize("task", TASKS, ids=lambda t: t.name)
def test_deterministic_sizes_and_formats(task):
    for language, split, size in _splits(task):
        examples = task.generate(language, split)
        assert examples == task.generate(language, split), (language, split)
        assert len(examples) == size, (language, split)
        assert len({_key(e) for e in examples}) == size, f"duplicates in {language} {split}"
        for example in examples:
            if task.kind == "tagging":
                assert set(example) == {"tokens", "tags"}
                assert len(example["tokens"]) == len(example["tags"]) > 0
                assert all(isinstance(t, str) and t and " " not in t for t in example["tokens"])
                assert all(0 <= tag < len(task.labels) for tag in example["tags"])
            else:
                assert set(example) == {"text", "text_pair", "label"}
                assert isinstance(example["text"], str) and example["text"]
                assert (example["text_pair"] is None) == (task.name != "demo_nli")
                assert 0 <= example["label"] < len(task.labels)


@pytest.mark.parametrize("task", TASKS, ids=lambda t: t.name)
def test_test_split_is_disjoint_from_the_others(task):
    for language in task.languages:
        test = {_key(e) for e in task.generate(language, "test")}
        validation = {_key(e) for e in task.generate(language, "validation")}
        assert not test & validation, language
        if language == "en":
            train = {_key(e) for e in task.generate(language, "train")}
            assert not test & train and not validation & train


@pytest.mark.parametrize("name", ["demo_sentiment", "demo_nli"])
def test_labels_are_balanced(name):
    task = BY_NAME[name]
    for language, split, size in _splits(task):
        counts = Counter(e["label"] for e in task.generate(language, split))
        assert set(counts) == set(range(len(task.labels))), (language, split)
        assert max(counts.values()) <= 0.6 * size, (language, split, counts)


def test_entities_use_every_tag():
    task = BY_NAME["demo_entities"]
    for language in task.languages:
        counts = Counter(tag for e in task.generate(language, "validation") for tag in e["tags"])
        assert set(counts) == set(range(len(task.labels))), (language, counts)
        for example in task.generate(language, "test"):  # IOB2: I-X only after B-X or I-X
            previous = "O"
            for tag in (task.labels[t] for t in example["tags"]):
                assert not tag.startswith("I-") or previous[2:] == tag[2:], example
                previous = tag


def test_sentiment_differs_between_languages():
    task = BY_NAME["demo_sentiment"]
    english = {e["text"] for e in task.generate("en", "test")}
    for language in task.languages[1:]:
        assert not english & {e["text"] for e in task.generate(language, "test")}


@pytest.mark.parametrize(
    "name, language, split",
    [("demo_sentiment", "de", "train"), ("demo_entities", "fr", "train"), ("demo_nli", "de", "test"),
     ("demo_sentiment", "en", "dev"), ("demo_sentiment", "xx", "test")],
)
def test_missing_splits_raise_data_error(name, language, split):
    with pytest.raises(DataError) as info:
        BY_NAME[name].generate(language, split)
    assert "\n" not in str(info.value) and name in str(info.value)
