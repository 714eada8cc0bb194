"""Shot sets others published: the few-shot buckets of Zhao et al. 2021 ("A Closer Look at Few-Shot
Crosslingual Transfer: The Choice of Shots Matters"; github.com/fsxlt/buckets), read as a spec's
shot sets and written from xtui's own.

Their layout, per task, K and language, several sampled sets::

    <root>/<task>/<K>-shots/<language>/<i>-th/sampled.json   # classification: {label: [examples]}
    <root>/<task>/<K>-shots/<language>/<i>-th/train.tsv      # tagging: token<TAB>tag, blank line between sentences

Classification folders are named by the language's English name (``german``), tagging folders by
its ISO code (``de``); a classification example is ``{"uid", "text_a", "text_b", "label"}``. K is
per label for classification (a 2-shot XNLI set has 6 examples). An imported example is matched to
the task's shot pool by its content (text and text pair, or tokens), never by position, so a set
names the same examples whichever copy of the data is loaded; one that is not in the pool is an
error naming the file and the example.
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from .errors import DataError

LANGUAGE_NAMES = {
    "ar": "arabic", "bg": "bulgarian", "de": "german", "el": "greek", "en": "english", "es": "spanish", "fr": "french",
    "hi": "hindi", "ja": "japanese", "ko": "korean", "ru": "russian", "sw": "swahili", "th": "thai", "tr": "turkish",
    "ur": "urdu", "vi": "vietnamese", "zh": "chinese",
}
FILES = ("sampled.json", "train.tsv")


def set_folder(root: Path, task: str, shots: int, language: str, shot_set: int) -> list:
    """The folders a set may be in (by language name, then ISO code)."""
    base = Path(root) / task / f"{shots}-shots"
    names = [LANGUAGE_NAMES[language]] if language in LANGUAGE_NAMES else []
    return [base / name / f"{shot_set}-th" for name in names + [language]]


def find_set(root: Path, task: str, shots: int, language: str, shot_set: int) -> Path:
    """The file of one shot set; DataError naming where it was looked for."""
    folders = set_folder(root, task, shots, language, shot_set)
    for folder in folders:
        for name in FILES:
            if (folder / name).is_file():
                return folder / name
    raise DataError(f"fewshot.shot_sets_from: no shot set {shot_set} of {task} {language} K={shots}: looked for "
                    f"{' or '.join(str(f / n) for f in folders for n in FILES)}")


def read_set(path: Path) -> list:
    """The examples of a set file: ``{"uid", "text", "text_pair", "label"}`` (label as written) for
    sampled.json, ``{"tokens", "tags"}`` for train.tsv, in file order."""
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as error:
        raise DataError(f"{path}: cannot read the shot set ({type(error).__name__})") from None
    if path.name == "train.tsv":
        sentences = []
        for number, block in enumerate(text.strip().split("\n\n"), 1):
            rows = [line.split("\t") for line in block.splitlines() if line.strip()]
            if not rows or any(len(row) != 2 for row in rows):
                raise DataError(f"{path}: sentence {number} is not token<TAB>tag lines")
            sentences.append({"tokens": [r[0] for r in rows], "tags": [r[1] for r in rows]})
        return sentences
    try:
        grouped = json.loads(text)
    except json.JSONDecodeError as error:
        raise DataError(f"{path}: not JSON ({error.msg} at line {error.lineno})") from None
    if not isinstance(grouped, dict) or not all(isinstance(v, list) for v in grouped.values()):
        raise DataError(f"{path}: expected {{label: [examples]}} as in fsxlt/buckets")
    examples = []
    for label, items in grouped.items():
        for item in items:
            if not isinstance(item, dict) or "text_a" not in item:
                raise DataError(f"{path}: an example of label {label!r} has no text_a")
            examples.append({"uid": item.get("uid"), "text": item["text_a"], "text_pair": item.get("text_b"),
                             "label": str(item.get("label", label))})
    return examples


def _key(example: dict) -> tuple:
    if "tokens" in example:
        return ("tokens", tuple(example["tokens"]))
    return ("text", " ".join(str(example.get("text") or "").split()), " ".join(str(example.get("text_pair") or "").split()))


def _label_name(label, label_names) -> str:
    if isinstance(label, int) and 0 <= label < len(label_names):
        return label_names[label]
    return str(label)


def match_set(path: Path, pool: list, label_names, what: str) -> list:
    """Indices into ``pool`` of the examples of the set file at ``path``, in the file's order;
    DataError naming the file and the first example that is not in the pool (or whose label differs)."""
    index = {}
    for position, example in enumerate(pool):
        index.setdefault(_key(example), position)
    chosen = []
    for number, example in enumerate(read_set(path), 1):
        position = index.get(_key(example))
        shown = example.get("uid") or " ".join(example.get("tokens") or [str(example.get("text"))])[:60]
        if position is None:
            raise DataError(f"{path}: example {number} ({shown!r}) is not in {what}; the set was drawn from other "
                            "data (fsxlt/buckets draws classification sets from the official dev sets)")
        if "label" in example:
            names = [str(n) for n in label_names]
            given, found = example["label"], _label_name(pool[position].get("label"), names)
            if given != found and not (given.isdigit() and int(given) < len(names) and names[int(given)] == found):
                raise DataError(f"{path}: example {number} ({shown!r}) has label {given!r}; {what} has {found!r}")
        chosen.append(position)
    return chosen


def file_digest(path: Path) -> str:
    return hashlib.sha256(Path(path).read_bytes()).hexdigest()


def write_set(folder: Path, examples: list, label_names) -> Path:
    """One shot set in the buckets' layout: sampled.json (grouped by label) or train.tsv (tagging)."""
    folder.mkdir(parents=True, exist_ok=True)
    if examples and "tokens" in examples[0]:
        path = folder / "train.tsv"
        path.write_text("\n\n".join("\n".join(f"{t}\t{_label_name(g, label_names)}" for t, g in zip(e["tokens"], e["tags"]))
                                    for e in examples) + "\n", encoding="utf-8")
        return path
    grouped: dict = {}
    for number, example in enumerate(examples):
        label = _label_name(example.get("label"), list(label_names))
        grouped.setdefault(label, []).append({"uid": example.get("id", f"xtui-{number}"), "text_a": example.get("text"),
                                              "label": label, "portion_identifier": -1,
                                              "text_b": example.get("text_pair")})
    path = folder / "sampled.json"
    path.write_text(json.dumps(grouped, ensure_ascii=False), encoding="utf-8")
    return path


def export_sets(store, record: dict, root: Path) -> list:
    """Every few-shot stage's saved examples (shots.jsonl) of an experiment, in the buckets' layout
    (one set per shot set index; the same sets serve every intermediate task and seed)."""
    from .stage import StageType, find_stage

    written, seen = [], set()
    for digest in record.get("stages", []):
        folder = store.stage_dir(digest)
        stage = find_stage(folder)
        shots_file = folder / "shots.jsonl"
        if stage is None or stage.type is not StageType.FEWSHOT or not shots_file.is_file():
            continue
        key = (stage.task, stage.shots, stage.language, stage.shot_set)
        if key in seen:
            continue
        seen.add(key)
        examples = [json.loads(line) for line in shots_file.read_text(encoding="utf-8").splitlines() if line.strip()]
        names = list(stage.class_names)
        tagging = bool(examples) and "tokens" in examples[0]
        language = stage.language if tagging else LANGUAGE_NAMES.get(stage.language, stage.language)
        target = Path(root) / stage.task / f"{stage.shots}-shots" / language / f"{stage.shot_set}-th"
        written.append(write_set(target, examples, names))
    return written

