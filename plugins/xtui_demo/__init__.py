"""Built-in demo tasks: small synthetic data that xtui generates itself, for the offline quickstart.

* ``demo_sentiment``: review sentences (positive / negative, with negation and contrast)
  in English, German, Spanish, French, Italian and Dutch.
* ``demo_entities``: IOB2 person / location / organisation tagging in the same languages.
* ``demo_nli``: English premise / hypothesis pairs about reviews, an intermediate task.

English has train, validation and test; every other language has validation (the
few-shot pool) and test. The data is deterministic: a (task, language, split) always
yields the same examples. Word lists live in ``lexicon.json``.
"""

from __future__ import annotations

from functools import partial

from xtui.errors import DataError
from xtui.hookspecs import hookimpl
from xtui.tasks import Task

from .generate import ENTITY_LABELS, NLI_LABELS, generate_split

__all__ = ["TASKS", "register_tasks"]

LANGUAGES = ("en", "de", "es", "fr", "it", "nl")
ENGLISH_SIZES = {"train": 600, "validation": 150, "test": 200}
OTHER_SIZES = {"validation": 100, "test": 200}
NLI_SIZES = {"train": 600, "validation": 150, "test": 150}


def _generate(name: str, section: str, languages: tuple, sizes_of, language: str, split: str) -> list:
    if language not in languages:
        raise DataError(f"{name}: no language {language!r} in the demo data (it has: {', '.join(languages)})")
    return generate_split(name, section, language, split, sizes_of(language))


def _task(name: str, section: str, languages: tuple, sizes_of, **fields) -> Task:
    return Task(
        name=name,
        languages=languages,
        generate=partial(_generate, name, section, languages, sizes_of),
        generator_version="1",
        train_split="train",
        validation_split="validation",
        shot_split="validation",
        test_split="test",
        **fields,
    )


def _sizes(language: str) -> dict:
    return ENGLISH_SIZES if language == "en" else OTHER_SIZES


TASKS = (
    _task(
        "demo_sentiment", "sentiment", LANGUAGES, _sizes,
        kind="classification", metric="accuracy", labels=("negative", "positive"),
        description="Synthetic review sentiment (negation, contrast) in 6 languages; generated offline",
    ),
    _task(
        "demo_entities", "entities", LANGUAGES, _sizes,
        kind="tagging", metric="f1", labels=ENTITY_LABELS,
        description="Synthetic person/location/organisation tagging (IOB2) in 6 languages; generated offline",
    ),
    _task(
        "demo_nli", "nli", ("en",), lambda language: NLI_SIZES,
        kind="classification", metric="accuracy", labels=NLI_LABELS, roles=frozenset({"intermediate"}),
        description="Synthetic English review NLI (entailment/neutral/contradiction); intermediate task",
    ),
)


@hookimpl
def register_tasks(register):
    for task in TASKS:
        register(task)
