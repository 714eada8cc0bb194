"""Tasks: what a plugin contributes. A task is data + kind + metric + languages.

A built-in task is a few dozen lines: where its data is (Hub and local layout), which
kind models it, which languages it has, which metric is its headline. Examples are
plain dicts in the format of the task's kind:

* ``classification``: ``{"text": str, "text_pair": str | None, "label": int}``
* ``tagging``: ``{"tokens": list[str], "tags": list[int]}``
* ``qa``: the Hugging Face ``squad`` row, ``{"id": str, "context": str, "question": str,
  "answers": {"text": list[str], "answer_start": list[int]}}`` (no answers: SQuAD 2.0 "no answer")
* ``multiple_choice``: ``{"context": str, "question": str, "choices": list[str], "label": int}``

Label ids index into ``Task.labels``.
"""

from __future__ import annotations

import hashlib
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Mapping, Optional, Sequence

SPLITS = ("train", "validation", "test")
LOCAL_EXTENSIONS = ("jsonl", "json", "conllu")
ROLES = frozenset({"intermediate", "target"})


@dataclass(frozen=True)
class HubRef:
    """Where one (language, split) of a task lives on the Hugging Face Hub."""

    dataset: str
    config: Optional[str]
    split: str
    revision: str
    where: tuple[tuple[str, str], ...] = ()
    """Keep only rows whose column equals the value (e.g. ``(("language", "de"),)``)."""
    startswith: tuple[tuple[str, str], ...] = ()
    """Keep only rows whose column starts with the value (TyDiQA: ``(("id", "english-"),)``)."""


Converter = Callable[[Mapping[str, Any]], dict]
HubLocator = Callable[[str, str], Optional[HubRef]]
Generator = Callable[[str, str], list]


@dataclass(frozen=True)
class Task:
    """A task as plugins register it. Build one with keyword arguments."""

    name: str
    """Spec name, e.g. ``xnli``: lower case letters, digits and underscores."""
    kind: str
    """Name of the kind that models it (``classification``, ``tagging``, ...)."""
    languages: tuple[str, ...]
    """ISO 639-1 codes the task can be evaluated on (the training language included)."""
    metric: str
    """Headline metric name, a key of the kind's metrics (``accuracy``, ``f1``)."""
    labels: tuple[str, ...] = ()
    """Label names; example label ids index into this tuple."""
    hub: Optional[HubLocator] = None
    """``hub(language, split)`` gives the Hub location of that split, or None if it has none."""
    convert: Optional[Converter] = None
    """Turns one raw row (Hub row, JSONL object or CoNLL-U sentence) into a kind example."""
    generate: Optional[Generator] = None
    """For synthetic tasks: ``generate(language, split)`` returns kind examples."""
    generator_version: str = ""
    """Changes whenever ``generate`` would produce different data (part of the fingerprint)."""
    local_name: Optional[str] = None
    """Folder name in the local data layout (defaults to ``name``)."""
    split_folders: Mapping[str, str] = field(default_factory=dict)
    """Splits read from another task's local folder, ``{"train": "squad_v1"}``: XQuAD and
    MLQA train on SQuAD v1.1, as XTREME does."""
    train_language: str = "en"
    train_split: str = "train"
    validation_split: Optional[str] = "validation"
    """English split for model selection of the target stage; None when there is none."""
    test_split: str = "test"
    shot_split: str = "validation"
    """Per-language pool few-shot examples are drawn from. Never the test split."""
    roles: frozenset = ROLES
    """Whether the task can be an ``intermediate`` task, a ``target`` task, or both."""
    description: str = ""
    options: Mapping[str, Any] = field(default_factory=dict)
    """Kind-specific options (e.g. ``max_length``)."""

    @property
    def folder(self) -> str:
        return self.local_name or self.name

    def local_file(self, data_dir: Optional[Path], language: str, split: str) -> Optional[Path]:
        """The local file of (language, split) under ``data_dir``, or None if absent."""
        if data_dir is None:
            return None
        base = Path(data_dir) / self.split_folders.get(split, self.folder) / language
        for ext in LOCAL_EXTENSIONS:
            candidate = base / f"{split}.{ext}"
            if candidate.is_file():
                return candidate
        return None

    def uses_local(self, data_dir: Optional[Path]) -> bool:
        """Local files are used when the data folder has this task's folder."""
        return data_dir is not None and (Path(data_dir) / self.folder).is_dir()

    def has_split(self, language: str, split: str, data_dir: Optional[Path]) -> bool:
        if self.generate is not None:
            from .errors import DataError

            try:
                return bool(self.generate(language, split))
            except DataError:
                return False
        if self.uses_local(data_dir):
            return self.local_file(data_dir, language, split) is not None
        return self.hub is not None and self.hub(language, split) is not None

    def fingerprint(self, language: str, split: str, data_dir: Optional[Path]) -> str:
        """A string that changes whenever the data of (language, split) changes."""
        if self.generate is not None:
            return f"generated:{self.name}:{self.generator_version}:{language}:{split}"
        if self.uses_local(data_dir):
            path = self.local_file(data_dir, language, split)
            if path is None:
                return f"missing:{self.folder}/{language}/{split}"
            return "sha256:" + _file_sha256(path)
        ref = self.hub(language, split) if self.hub else None
        if ref is None:
            return f"missing:{self.name}/{language}/{split}"
        prefix = f":{ref.startswith}" if ref.startswith else ""
        return f"hub:{ref.dataset}:{ref.config}:{ref.split}:{ref.revision}:{ref.where}{prefix}"


_SHA_CACHE: dict[tuple[str, int, int], str] = {}


def _file_sha256(path: Path) -> str:
    stat = path.stat()
    key = (str(path.resolve()), stat.st_size, stat.st_mtime_ns)
    if key not in _SHA_CACHE:
        digest = hashlib.sha256()
        with open(path, "rb") as handle:
            for block in iter(lambda: handle.read(1 << 20), b""):
                digest.update(block)
        _SHA_CACHE[key] = digest.hexdigest()
    return _SHA_CACHE[key]


def data_dir_from_env(spec_value: Optional[str] = None) -> Optional[Path]:
    """The spec's ``data_dir`` wins over ``XTUI_DATA_DIR``; None means Hub only."""
    value = spec_value or os.environ.get("XTUI_DATA_DIR")
    return Path(value).expanduser().resolve() if value else None


def validate_task(task: Any, kinds: Sequence[str]) -> list[str]:
    """Problems that make a registered task unusable (empty when it is valid)."""
    if not isinstance(task, Task):
        return [f"expected an xtui.tasks.Task, got {type(task).__name__}"]
    problems = []
    if not task.name or not task.name.replace("_", "").isalnum() or task.name != task.name.lower():
        problems.append(f"task name {task.name!r} must be lower-case letters, digits and _")
    if task.kind not in kinds:
        problems.append(f"task {task.name!r}: unknown kind {task.kind!r} (known: {', '.join(sorted(kinds))})")
    if not task.languages:
        problems.append(f"task {task.name!r}: no languages")
    if task.shot_split == task.test_split:
        problems.append(f"task {task.name!r}: the few-shot pool must not be the test split")
    if task.generate is None and task.hub is None and task.convert is None:
        problems.append(f"task {task.name!r}: needs hub + convert, or generate")
    if not set(task.roles) <= ROLES or not task.roles:
        problems.append(f"task {task.name!r}: roles must be a non-empty subset of {sorted(ROLES)}")
    return problems
