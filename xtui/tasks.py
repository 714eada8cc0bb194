"""Tasks: what a plugin contributes. A task is data + kind + metric + languages.

A built-in task is a few dozen lines: where its data is (Hub and local layout), which
kind models it, which languages it has, which metric is its headline. Examples are
plain dicts in the format of the task's kind:

* ``classification``: ``{"text": str, "text_pair": str | None, "label": int}``
* ``tagging``: ``{"tokens": list[str], "tags": list[int]}``
* ``qa``: the Hugging Face ``squad`` row, ``{"id": str, "context": str, "question": str,
  "answers": {"text": list[str], "answer_start": list[int]}}`` (no answers: SQuAD 2.0 "no answer")
* ``multiple_choice``: ``{"context": str, "question": str, "choices": list[str], "label": int}``
* ``entity_retrieval``: training pairs ``{"query": str, "candidate": str, "entity_id": str}`` (a
  mention in context and its entity's description); evaluation rows are documents of mentions
  ``{"mentions": [{"id": str, "query": str, "entity_id": str}], "context_language": str}`` and
  candidate entities ``{"entity_id": str, "candidate": str}`` (Mewsli-X)
* ``retrieval``: ``{"source": str, "target": str}`` (Tatoeba: row i's sides are translations);
  with the task option ``mining`` (BUCC), ``{"source": str | None, "target": str | None,
  "source_id": str | None, "target_id": str | None}``: a row with both sides is a gold pair,
  a row with one side an unaligned sentence

Label ids index into ``Task.labels``.

Data sources compose: ``hub`` may give several Hub splits for one (language, split), read
one after the other (ANLI+ = ANLI + MultiNLI + SNLI); ``split_parts`` makes a split out of
other splits of the same task, each example tagged with its ``part`` (BUCC's ``test`` is its
validation part, where the mining threshold is chosen, and its test part, where it is scored);
``pooled_splits`` makes a language's split out of that split in several languages, each example
tagged with its ``language`` (LAReQA: a language's questions retrieve from every language's pool);
``companions`` adds to a language's split the rows every language shares (Mewsli-X's candidate
entities). ``recipes`` names the ways a target trains in one target stage: tasks one after the other
(XTREME-R's XCOPA: SocialIQA, then English COPA).
A converter may return None to drop a row (SNLI's rows without a gold label).
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any, Callable, Mapping, Optional, Sequence, Union

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
    data_files: Optional[str] = None
    """A file of the dataset's repository read on its own instead of a config of its card (Mewsli-X's
    candidate set, ``candidate_entities.jsonl.tar.gz``); ``config`` is then None."""


Converter = Callable[..., Optional[dict]]
"""``convert(row)`` gives a kind example, or None to drop the row; ``convert(row, labels)``
for tasks whose labels come from a file (``Task.labels_file``)."""
HubLocator = Callable[[str, str], Union[None, HubRef, tuple]]
"""``hub(language, split)``: a HubRef, a tuple of HubRefs read one after the other, or None."""
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
    """Headline metric name, a key of the scorer's metrics (``accuracy``, ``f1``)."""
    scorer: str = ""
    """Name of the scorer of its metrics (``xtui.scorers``: ``xtreme_udpos``, ``bucc`` ...), the
    official script it reproduces; empty: its kind's default (registered with the kind)."""
    overall_metric: str = ""
    """The metric this task adds to an overall score across targets, as XTREME's evaluate.py does
    (QA: ``em_f1_mean``, the mean of EM and F1); empty: the headline ``metric``."""
    table_metrics: tuple[str, ...] = ()
    """The metrics a results table shows for this task, in order, e.g. ``("exact_match", "f1")``
    for QA, shown as "EM / F1" as XTREME reports it; ``metric`` (the headline) must be one of them.
    Empty: the headline alone. Averages, ± and Δ are always of the headline."""
    labels: tuple[str, ...] = ()
    """Label names; example label ids index into this tuple."""
    hub: Optional[HubLocator] = None
    """``hub(language, split)`` gives the Hub location of that split (a HubRef, or a tuple of
    HubRefs whose rows are concatenated in order), or None if it has none."""
    convert: Optional[Converter] = None
    """Turns one raw row (Hub row, JSONL object or CoNLL-U sentence) into a kind example
    (None drops the row)."""
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
    split_parts: Mapping[str, tuple] = field(default_factory=dict)
    """Splits made of other splits of the same task and language, read in order, each example
    getting a ``"part"`` key naming the split it came from: ``{"test": ("validation", "test")}``
    (BUCC: the mining threshold is chosen on the validation part, F1 is measured on the test
    part, in one evaluation). Fingerprints and ``has_split`` cover every part."""
    pooled_splits: Mapping[str, tuple] = field(default_factory=dict)
    """Splits whose examples for language L are L's own, then those of every other listed language
    that has the split, each example getting a ``"language"`` key: ``{"test": ("ar", "de", ...)}``
    (LAReQA: L's questions retrieve answers from a pool drawn from all languages). ``has_split``
    asks for L's own split; the fingerprint covers every listed language."""
    companions: Mapping[str, str] = field(default_factory=dict)
    """Splits that also read rows every language shares, after the language's own: split -> the name
    of the shared part, read as if it were a language (``<task>/<name>/<split>.*`` in the local layout,
    ``hub(name, split)`` on the Hub): ``{"test": "candidates"}`` (Mewsli-X: each language's mentions
    retrieve from one candidate set). A split whose companion is missing is missing; the fingerprint
    covers both."""
    recipes: Mapping[str, tuple] = field(default_factory=dict)
    """Ways to train this task as a target, by name: the tasks trained one after the other in its
    target stage, ending with this task, the first recipe being the default (XTREME-R's XCOPA:
    ``{"siqa+copa": ("siqa", "xcopa"), "copa": ("xcopa",)}``). The spec picks one with
    ``[target.per_task.<task>] train``. The earlier tasks must have this task's kind: the head carries
    over. Empty: the task trains on its own data."""
    unavailable: str = ""
    """Why xtui cannot fetch this task's data (e.g. a licence) and where to put a local copy;
    when set and the data folder has no folder for the task, ``has_split`` and loading raise
    ``DataError`` with this message instead of answering "not on the Hub"."""
    labels_file: Optional[str] = None
    """Labels listed one per line in a file of the local data, relative to the task's folder
    (``"en/labels.txt"``), for label sets that come with the data (CCG supertags). ``with_data``
    reads them; ``convert`` is then called as ``convert(row, labels)``."""
    overlaps: Mapping[str, str] = field(default_factory=dict)
    """Other task name -> one line on how their data overlap (``{"xnli": "XNLI's English
    training data is MultiNLI train"}``); declared on either side, see ``xtui.leakage``."""
    language_sets: Mapping[str, tuple] = field(default_factory=dict)
    """Named language sets of the benchmarks the task belongs to, ``{"xtreme": (...), "xtreme-r": (...)}``:
    a spec's ``languages = "xtreme-r"`` means, for this task, the languages that benchmark evaluates it on
    (a subset of ``languages``). A task outside a benchmark has no entry for it."""
    retrieval_presets: Mapping[str, Mapping[str, Any]] = field(default_factory=dict)
    """For tasks of a kind that does not train (sentence retrieval): named settings a spec picks with
    ``retrieval_preset``, each ``{"pooling": "mean" | "cls", "layers": {depth: layer}, "max_length": int,
    "source": "..."}``: the layer (a hidden-state index, 0 = embeddings) for encoders of each depth it knows."""
    local_only: Mapping[str, str] = field(default_factory=dict)
    """Languages with no Hub copy xtui can load, each with one line on where its data comes from and
    where to put it locally; the plan says it when the Hub is asked for them."""

    @property
    def folder(self) -> str:
        return self.local_name or self.name

    def hub_refs(self, language: str, split: str) -> tuple:
        """The Hub sources of (language, split) as a tuple (empty when it has none)."""
        ref = self.hub(language, split) if self.hub is not None else None
        if ref is None:
            return ()
        return tuple(ref) if isinstance(ref, (tuple, list)) else (ref,)

    def unavailable_message(self, data_dir: Optional[Path]) -> str:
        """One line: why the data cannot be fetched and which folder xtui looked for."""
        looked = f"there is no folder {Path(data_dir) / self.folder}" if data_dir is not None else "no data folder is set"
        return f"task {self.name!r}: {self.unavailable} ({looked})"

    def check_available(self, data_dir: Optional[Path]) -> None:
        """Raise ``DataError`` (the ``unavailable`` message) when the data can only be local and is not."""
        if self.unavailable and self.generate is None and not self.uses_local(data_dir):
            from .errors import DataError

            raise DataError(self.unavailable_message(data_dir))

    def with_data(self, data_dir: Optional[Path]) -> "Task":
        """This task with its labels read from ``labels_file`` under ``data_dir`` (itself when
        it has no labels file, or the file is absent: loading then says what is missing)."""
        if not self.labels_file or data_dir is None:
            return self
        path = Path(data_dir) / self.folder / self.labels_file
        if not path.is_file():
            return self
        return replace(self, labels=read_labels(path))

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
        """Whether (language, split) has data; a ``split_parts`` split needs every part.
        Raises ``DataError`` (the ``unavailable`` message) for data xtui cannot fetch."""
        if split in self.split_parts:
            return all(self._has_one(language, part, data_dir) for part in self.split_parts[split])
        if split in self.companions and not self._has_one(self.companions[split], split, data_dir):
            return False
        return self._has_one(language, split, data_dir)

    def _has_one(self, language: str, split: str, data_dir: Optional[Path]) -> bool:
        if self.generate is not None:
            from .errors import DataError

            try:
                return bool(self.generate(language, split))
            except DataError:
                return False
        if self.uses_local(data_dir):
            return self.local_file(data_dir, language, split) is not None
        self.check_available(data_dir)
        return bool(self.hub_refs(language, split))

    def pool_languages(self, language: str, split: str) -> tuple:
        """The languages a ``pooled_splits`` split of ``language`` reads, ``language`` first
        (just ``(language,)`` for any other split)."""
        pool = tuple(self.pooled_splits.get(split, ()))
        return (language,) + tuple(other for other in pool if other != language)

    def fingerprint(self, language: str, split: str, data_dir: Optional[Path]) -> str:
        """A string that changes whenever the data of (language, split) changes (for a
        ``split_parts`` split or several Hub sources: the parts' fingerprints joined by `` + ``;
        for a ``pooled_splits`` split: each language's, as ``lang=...`` joined by `` | ``)."""
        if split in self.pooled_splits:
            return " | ".join(f"{other}={self._fingerprint_one(other, split, data_dir)}"
                              for other in self.pool_languages(language, split))
        if split in self.split_parts:
            return " + ".join(self._fingerprint_one(language, part, data_dir) for part in self.split_parts[split])
        if split in self.companions:
            companion = self.companions[split]
            return (f"{self._fingerprint_one(language, split, data_dir)} + "
                    f"{companion}={self._fingerprint_one(companion, split, data_dir)}")
        return self._fingerprint_one(language, split, data_dir)

    def _fingerprint_one(self, language: str, split: str, data_dir: Optional[Path]) -> str:
        if self.generate is not None:
            return f"generated:{self.name}:{self.generator_version}:{language}:{split}"
        if self.uses_local(data_dir):
            path = self.local_file(data_dir, language, split)
            if path is None:
                return f"missing:{self.folder}/{language}/{split}"
            fingerprint = "sha256:" + _file_sha256(path)
            if self.labels_file:  # the label list changes what the data means
                labels = Path(data_dir) / self.folder / self.labels_file
                fingerprint += " labels:" + (_file_sha256(labels) if labels.is_file() else "missing")
            return fingerprint
        refs = self.hub_refs(language, split)
        if not refs:
            return f"missing:{self.name}/{language}/{split}"
        return " + ".join(_hub_fingerprint(ref) for ref in refs)


def _hub_fingerprint(ref: HubRef) -> str:
    prefix = f":{ref.startswith}" if ref.startswith else ""
    files = f":files={ref.data_files}" if ref.data_files else ""
    return f"hub:{ref.dataset}:{ref.config}:{ref.split}:{ref.revision}:{ref.where}{prefix}{files}"


def read_labels(path: Path) -> tuple:
    """Labels of a labels file: one per line, blank lines skipped, no duplicates."""
    from .errors import DataError

    try:
        lines = Path(path).read_text(encoding="utf-8").splitlines()
    except (OSError, UnicodeDecodeError) as error:
        raise DataError(f"{path}: cannot read the label list ({type(error).__name__})") from None
    labels, seen = [], {}
    for number, line in enumerate(lines, 1):
        label = line.strip()
        if not label:
            continue
        if label in seen:
            raise DataError(f"{path}:{number}: label {label!r} is listed twice (first on line {seen[label]})")
        seen[label] = number
        labels.append(label)
    if not labels:
        raise DataError(f"{path}: the label list is empty; expected one label per line")
    return tuple(labels)


_SHA_CACHE: dict[tuple[str, int, int], str] = {}


def _file_sha256(path: Path) -> str:
    stat = path.stat()
    key = (str(path.resolve()), stat.st_size, stat.st_mtime_ns)
    if key not in _SHA_CACHE:
        from .files import file_sha256

        _SHA_CACHE[key] = file_sha256(path)
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
    if task.scorer:
        from .scorers import SCORERS

        if task.scorer not in SCORERS:
            problems.append(f"task {task.name!r}: unknown scorer {task.scorer!r} (known: {', '.join(sorted(SCORERS))})")
    if not task.languages:
        problems.append(f"task {task.name!r}: no languages")
    if task.table_metrics and task.metric not in task.table_metrics:
        problems.append(f"task {task.name!r}: table_metrics {list(task.table_metrics)} must include the headline "
                        f"metric {task.metric!r}")
    if task.shot_split == task.test_split:
        problems.append(f"task {task.name!r}: the few-shot pool must not be the test split")
    if task.generate is None and task.hub is None and task.convert is None:
        problems.append(f"task {task.name!r}: needs hub + convert, or generate")
    if not set(task.roles) <= ROLES or not task.roles:
        problems.append(f"task {task.name!r}: roles must be a non-empty subset of {sorted(ROLES)}")
    for split, parts in dict(task.split_parts).items():
        if split not in SPLITS or not parts or not isinstance(parts, tuple) or not set(parts) <= set(SPLITS):
            problems.append(f"task {task.name!r}: split_parts must map a split to a tuple of splits of {SPLITS}")
        elif split == task.shot_split:
            problems.append(f"task {task.name!r}: the few-shot pool {split!r} cannot be made of parts")
    for split, languages in dict(task.pooled_splits).items():
        if split not in SPLITS or not languages or not isinstance(languages, tuple) or split in task.split_parts:
            problems.append(f"task {task.name!r}: pooled_splits must map a split of {SPLITS} (not one of "
                            "split_parts) to a tuple of languages")
        elif split == task.shot_split:
            problems.append(f"task {task.name!r}: the few-shot pool {split!r} cannot be pooled")
    for split, companion in dict(task.companions).items():
        if split not in SPLITS or not isinstance(companion, str) or not companion or split in task.split_parts \
                or split in task.pooled_splits or split == task.shot_split:
            problems.append(f"task {task.name!r}: companions must map a split of {SPLITS} (not the few-shot pool, "
                            "split_parts or pooled_splits) to the name of a shared part")
    problems.extend(_recipe_problems(task))
    if not all(isinstance(k, str) and isinstance(v, str) and v and "\n" not in v for k, v in dict(task.overlaps).items()):
        problems.append(f"task {task.name!r}: overlaps must map task names to one-line explanations")
    if task.labels_file is not None and (not isinstance(task.labels_file, str) or task.labels_file.startswith("/")):
        problems.append(f"task {task.name!r}: labels_file must be a path relative to the task's data folder")
    for name, languages in dict(task.language_sets).items():
        if not LANGUAGE_SET_NAME.match(str(name)) or name == ALL_LANGUAGES:
            problems.append(f"task {task.name!r}: language set name {name!r} must be lower-case letters, digits and "
                            f"'-' (and not {ALL_LANGUAGES!r})")
        elif not isinstance(languages, tuple) or not languages or not set(languages) <= set(task.languages):
            problems.append(f"task {task.name!r}: language set {name!r} must be a non-empty tuple of the task's languages")
    for name, preset in dict(task.retrieval_presets).items():
        layers = preset.get("layers") if isinstance(preset, Mapping) else None
        if (not isinstance(layers, Mapping) or not layers or preset.get("pooling") not in ("mean", "cls")
                or not all(isinstance(d, int) and isinstance(n, int) and 0 <= n <= d for d, n in layers.items())):
            problems.append(f"task {task.name!r}: retrieval preset {name!r} needs pooling 'mean' or 'cls' and layers "
                            "{depth: layer} with 0 <= layer <= depth")
    if not set(task.local_only) <= set(task.languages):
        problems.append(f"task {task.name!r}: local_only names languages the task does not have")
    return problems


def _recipe_problems(task: Task) -> list:
    """What is wrong with a task's ``recipes`` (each a tuple of task names ending with the task)."""
    for name, tasks in dict(task.recipes).items():
        if not isinstance(name, str) or not name or not isinstance(tasks, tuple) or not tasks \
                or tasks[-1] != task.name or len(set(tasks)) != len(tasks):
            return [f"task {task.name!r}: recipes must map names to tuples of distinct task names ending with "
                    f"{task.name!r}"]
    return []


ALL_LANGUAGES = "all"
"""The language set every task has: all its languages."""
LANGUAGE_SET_NAME = re.compile(r"^[a-z][a-z0-9-]{0,31}$")
