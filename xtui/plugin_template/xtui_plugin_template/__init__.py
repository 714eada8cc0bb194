"""An xtui task plugin: one task, ``template_sentiment`` (sentence classification, en and de).

A task is data + kind + metric + languages. This one reads JSONL files laid out
``<data_dir>/template_sentiment/<language>/<split>.jsonl``, one ``{"sentence": ..., "label": ...}``
per line (``data/`` beside this package holds a small sample; a spec names its folder with
``data_dir``). Replace the name, the labels, the languages and ``convert`` with your task's; keep
the hook. ``xtui tasks`` lists the task once the package is installed.
"""

from __future__ import annotations

from xtui.hookspecs import hookimpl
from xtui.tasks import Task

LABELS = ("negative", "positive")


def convert(row: dict) -> dict:
    """One line of the files as the classification kind reads it: ``text``, ``text_pair``, a label id."""
    return {"text": row["sentence"], "text_pair": None, "label": LABELS.index(row["label"])}


TASK = Task(
    name="template_sentiment",
    kind="classification",
    languages=("en", "de"),
    metric="accuracy",
    labels=LABELS,
    convert=convert,
    train_language="en",
    shot_split="validation",  # the K few-shot examples of a language are drawn from its validation file
    description="Template: sentence sentiment read from local JSONL files (replace with your task)",
)


@hookimpl
def register_tasks(register):
    register(TASK)
