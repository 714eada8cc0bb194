"""Reading task data: local files (JSONL, CoNLL-U, SQuAD JSON) and the Hugging Face Hub.

Every malformed input is reported as a ``DataError`` naming the file and line.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Iterator, Optional

from .errors import DataError
from .tasks import LOCAL_EXTENSIONS, Task

BOM = b"\xef\xbb\xbf"


def _lines(path: Path) -> Iterator[tuple]:
    """(line number, text) of a UTF-8 text file, each line decoded on its own so that a bad byte
    is told with its line; a byte order mark or an unreadable file is one DataError."""
    try:
        handle = open(path, "rb")
    except OSError as error:
        raise DataError(f"{path}: cannot read ({error.strerror or type(error).__name__})") from None
    with handle:
        for number, raw in enumerate(handle, 1):
            if number == 1 and raw.startswith(BOM):
                raise DataError(f"{path}: starts with a UTF-8 byte order mark (BOM); save it as UTF-8 without BOM")
            try:
                yield number, raw.decode("utf-8")
            except UnicodeDecodeError:
                raise DataError(f"{path}:{number}: not valid UTF-8; data files must be UTF-8 text") from None


def read_jsonl(path: Path) -> Iterator[tuple]:
    """(line number, object) of a JSON-lines file; blank lines are skipped."""
    for number, line in _lines(path):
        if not line.strip():
            continue
        try:
            row = json.loads(line)
        except json.JSONDecodeError as error:
            raise DataError(f"{path}:{number}: invalid JSON ({error.msg}); expected one JSON object per line") from None
        if not isinstance(row, dict):
            raise DataError(f"{path}:{number}: expected a JSON object, got {type(row).__name__}")
        yield number, row


def read_conllu(path: Path) -> Iterator[dict]:
    """Sentences of a CoNLL-U file as ``{"tokens": [...], "upos": [...], "line": N}``.

    Comment lines, multi-word token lines (``3-4``) and empty nodes (``8.1``) are skipped.
    Three-column files (index, token, tag) are read too, the tag going to ``upos``.
    """
    tokens: list[str] = []
    tags: list[str] = []
    start = 1
    for number, raw in _lines(path):
        line = raw.rstrip("\r\n")
        if not line.strip():
            if tokens:
                yield {"tokens": tokens, "upos": tags, "line": start}
            tokens, tags = [], []
            continue
        if line.startswith("#"):
            continue
        columns = line.split("\t")
        if len(columns) not in (3, 10):
            raise DataError(
                f"{path}:{number}: expected 10 tab-separated CoNLL-U columns (or 3), got {len(columns)}"
            )
        word_id = columns[0]
        if "-" in word_id or "." in word_id:
            continue
        if not word_id.isdigit():
            raise DataError(f"{path}:{number}: word ID {word_id!r} is not a number")
        if not tokens:
            start = number
        tokens.append(columns[1])
        tags.append(columns[3] if len(columns) == 10 else columns[2])
    if tokens:
        yield {"tokens": tokens, "upos": tags, "line": start}


def read_squad(path: Path) -> Iterator[dict]:
    """Questions of a SQuAD v1.1/v2.0 JSON file, flattened as the HF ``squad`` rows (plus the
    paragraph's ``sentence_breaks`` when it has them, as XQuAD-R's files do)."""
    try:
        raw = Path(path).read_bytes()
    except OSError as error:
        raise DataError(f"{path}: cannot read ({error.strerror or type(error).__name__})") from None
    if raw.startswith(BOM):
        raise DataError(f"{path}: starts with a UTF-8 byte order mark (BOM); save it as UTF-8 without BOM")
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as error:
        line = raw[:error.start].count(b"\n") + 1
        raise DataError(f"{path}:{line}: not valid UTF-8 (byte {raw[error.start]:#04x} at offset {error.start}); "
                        "data files must be UTF-8 text") from None
    if not text.strip():
        raise DataError(f"{path}: has no examples (the file is empty); expected SQuAD JSON")
    try:
        document = json.loads(text)
    except json.JSONDecodeError as error:
        raise DataError(f"{path}:{error.lineno}: invalid JSON ({error.msg}); expected SQuAD JSON") from None
    if not isinstance(document, dict) or not isinstance(document.get("data"), list):
        raise DataError(f"{path}: expected SQuAD JSON with a top-level 'data' list")
    for number, article in enumerate(document["data"], 1):
        if not isinstance(article, dict) or not isinstance(article.get("paragraphs", []), list):
            raise DataError(f"{path}: data[{number - 1}] is not an article object with a 'paragraphs' list")
        title = article.get("title", "")
        for paragraph in article.get("paragraphs", []):
            context = paragraph.get("context") if isinstance(paragraph, dict) else None
            if not isinstance(context, str):
                raise DataError(f"{path}: a paragraph of {title!r} has no 'context' string")
            breaks = paragraph.get("sentence_breaks")
            if breaks is not None and not (isinstance(breaks, list) and all(
                    isinstance(b, list) and len(b) == 2 and all(isinstance(i, int) for i in b) for b in breaks)):
                raise DataError(f"{path}: a paragraph of {title!r} has 'sentence_breaks' that are not [start, end] pairs")
            for qa in paragraph.get("qas", []):
                if not isinstance(qa, dict) or "question" not in qa or "id" not in qa:
                    raise DataError(f"{path}: a question of {title!r} is not an object with 'id' and 'question'")
                answers = qa.get("answers", [])
                if not isinstance(answers, list) or not all(
                    isinstance(a, dict) and isinstance(a.get("text"), str) and isinstance(a.get("answer_start"), int)
                    for a in answers
                ):
                    raise DataError(f"{path}: question {qa['id']!r} has answers without 'text' and integer 'answer_start'")
                yield {
                    "id": qa["id"],
                    "title": title,
                    "context": context,
                    "question": qa["question"],
                    "answers": {
                        "text": [a["text"] for a in answers],
                        "answer_start": [a["answer_start"] for a in answers],
                    },
                    "is_impossible": bool(qa.get("is_impossible", False)),
                    # XQuAD-R (google-research-datasets/lareqa) ships each paragraph's sentence breaks
                    **({"sentence_breaks": breaks} if breaks is not None else {}),
                }


READERS = {"jsonl": read_jsonl, "conllu": read_conllu, "json": read_squad}


def load_examples(task: Task, language: str, split: str, data_dir: Optional[Path], misaligned: str = "error",
                  skipped: Optional[dict] = None) -> list[dict]:
    """The examples of one (language, split) of a task, in the format of its kind.

    A ``split_parts`` split is its parts' examples in order, each with ``"part"`` added; a
    ``pooled_splits`` split is the split of ``language`` then of every other pooled language that
    has it, each example with ``"language"`` added; a split with a ``companions`` part is the
    language's examples then the shared part's. In local files, a QA answer whose
    ``answer_start`` does not point at its text is a DataError (``misaligned="error"``) or leaves
    its question out (``"skip"``, counted per file in ``skipped``).
    """
    task = task.with_data(data_dir)
    options = {"misaligned": misaligned, "skipped": skipped}
    if split in task.pooled_splits:
        examples = []
        for other in task.pool_languages(language, split):
            if other == language or task.has_split(other, split, data_dir):
                examples.extend({**example, "language": other}
                                for example in _load_split(task, other, split, data_dir, **options))
        return examples
    parts = task.split_parts.get(split)
    if parts:
        return [{**example, "part": part} for part in parts
                for example in _load_split(task, language, part, data_dir, **options)]
    examples = _load_split(task, language, split, data_dir, **options)
    if split in task.companions:
        examples = examples + _load_split(task, task.companions[split], split, data_dir, **options)
    return examples


def _load_split(task: Task, language: str, split: str, data_dir: Optional[Path], misaligned: str = "error",
                skipped: Optional[dict] = None) -> list[dict]:
    if task.generate is not None:
        return list(task.generate(language, split))
    if task.uses_local(data_dir):
        path = task.local_file(data_dir, language, split)
        if path is None:
            wanted = ", ".join(f"{split}.{ext}" for ext in LOCAL_EXTENSIONS)
            raise DataError(
                f"{task.name}: no {language} {split} data: none of {wanted} in "
                f"{Path(data_dir) / task.split_folders.get(split, task.folder) / language}"
            )
        if task.labels_file and not task.labels:
            raise DataError(f"{task.name}: no label list: expected {Path(data_dir) / task.folder / task.labels_file} "
                            "with one label per line")
        reader = READERS[path.suffix.lstrip(".")]
        if reader is read_jsonl:
            examples = _kept(_convert(task, row, f"{path}:{number}") for number, row in reader(path))
        else:
            examples = _kept(_convert(task, row, f"{path}:{row['line']}" if "line" in row else str(path))
                             for row in reader(path))
        kept = _aligned(examples, path, misaligned)
        if len(kept) < len(examples) and skipped is not None:
            skipped[str(path)] = len(examples) - len(kept)
        if not kept:
            left = f" left once {len(examples)} with misaligned answers are left out" if examples else ""
            raise DataError(f"{path}: has no examples{left}; a data file needs at least one "
                            "(an empty file, or only blank lines or comments?)")
        return kept
    task.check_available(data_dir)
    refs = task.hub_refs(language, split)
    if not refs:
        raise DataError(f"{task.name}: has no {split} split for language {language!r} on the Hub")
    return _kept(_convert(task, row, f"{ref.dataset}/{ref.config}:{ref.split}") for ref in refs for row in load_hub_rows(ref))


def _kept(examples) -> list[dict]:
    """Converted rows without the ones the converter dropped (None)."""
    return [example for example in examples if example is not None]


def misaligned_answer(example: dict) -> Optional[tuple]:
    """(text, answer_start) of the first answer of a QA example whose offset does not point at its
    text in the context, or None (also for examples that are not QA)."""
    answers, context = example.get("answers"), example.get("context")
    if not isinstance(answers, dict) or not isinstance(context, str):
        return None
    for text, start in zip(answers.get("text") or [], answers.get("answer_start") or []):
        if isinstance(start, int) and isinstance(text, str) and context[start:start + len(text)] != text:
            return text, start
    return None


def _aligned(examples: list, path: Path, misaligned: str) -> list:
    """The examples whose answers point at their text; the first one that does not is a DataError
    unless ``misaligned`` is ``skip``. (The HF SQuAD processor skips such answers with a warning
    when training; here they are named before anything runs.)"""
    kept = []
    for example in examples:
        bad = misaligned_answer(example)
        if bad is None:
            kept.append(example)
            continue
        if misaligned == "skip":
            continue
        text, start = bad
        context = example["context"]
        found = (f"the context has {context[start:start + len(text)]!r} there" if start < len(context)
                 else f"the context is only {len(context)} characters long")
        raise DataError(f"{path}: question {example.get('id')!r}: answer {text!r} does not start at answer_start "
                        f"{start} ({found}); fix the offset, or set misaligned_answers = \"skip\" under [data] "
                        "in the spec to leave such questions out (data.misaligned_answers)")
    return kept


def _convert(task: Task, row: dict, where: str) -> Optional[dict]:
    try:
        return task.convert(row, task.labels) if task.labels_file else task.convert(row)
    except Exception as error:  # a plugin's converter may raise anything about a row it cannot read
        raise DataError(f"{where}: row does not fit task {task.name!r} ({type(error).__name__}: {error})") from None


def load_hub_rows(ref) -> list[dict]:
    """Rows of a Hub dataset split at a pinned revision, filtered by ``ref.where`` and ``ref.startswith``."""
    import datasets  # heavy: only when the Hub is used

    files = {"data_files": ref.data_files} if ref.data_files else {}
    try:
        dataset = datasets.load_dataset(ref.dataset, ref.config, split=ref.split, revision=ref.revision, **files)
    except Exception as error:  # datasets raises many types; the user needs the reference
        raise DataError(
            f"cannot load {ref.dataset} (config {ref.config}, split {ref.split}, revision {ref.revision}) "
            f"from the Hub: {str(error).splitlines()[0] if str(error) else type(error).__name__}; "
            "set XTUI_DATA_DIR to a local data folder to work offline"
        ) from None
    for column, value in ref.where:
        dataset = dataset.filter(lambda row, c=column, v=value: row[c] == v)
    for column, prefix in ref.startswith:
        dataset = dataset.filter(lambda row, c=column, p=prefix: str(row[c]).startswith(p))
    return [dict(row) for row in dataset]
