"""Saved predictions: every evaluation writes what it decoded, with the gold side, next to its
``result.json``, so a score can be recomputed from files alone (``xtui runs rescore``) and a
submission folder written from them (``xtui.submission``).

``predictions.jsonl.gz`` is gzip-compressed JSON Lines. The first line is ``{"meta": {...}}``
(format, stage, task, language, split, scorer name and version, number of examples, the shape of
both sides); then one line per item:

* predictions with one entry per example (labels, tag lists, answer texts, chosen candidates):
  ``{"i": 3, "id": "<example id>", "prediction": ..., "gold": ...}``;
* predictions that are one structure for the whole split (Tatoeba's retrieved rows, BUCC's mined
  candidates per part, LAReQA's rankings): ``{"side": "prediction", "field": "ranked", "i": 0,
  "value": ...}`` per element of each list field, ``{"side": ..., "field": ..., "value": ...}``
  for any other field.

Pure Python (no torch): reading and rescoring need only the file.
"""

from __future__ import annotations

import gzip
import json
import os
from pathlib import Path
from typing import Any, Iterator, Optional, Sequence

PREDICTIONS_FILE = "predictions.jsonl.gz"
FORMAT = 1


def example_id(example: dict, index: int) -> str:
    """An example's id as saved: its ``id`` when it has one, else its position in the split."""
    value = example.get("id") if isinstance(example, dict) else None
    return str(value) if value not in (None, "") else str(index)


def _shape(value: Any) -> Any:
    if isinstance(value, dict):
        return {key: ("list" if isinstance(item, list) else "value") for key, item in value.items()}
    return "list" if isinstance(value, list) else "value"


def _structure_lines(side: str, value: Any) -> Iterator[dict]:
    if isinstance(value, dict):
        for field, item in value.items():
            if isinstance(item, list):
                for index, element in enumerate(item):
                    yield {"side": side, "field": field, "i": index, "value": element}
            else:
                yield {"side": side, "field": field, "value": item}
    elif isinstance(value, list):
        for index, element in enumerate(value):
            yield {"side": side, "i": index, "value": element}
    else:
        yield {"side": side, "value": value}


def lines(outputs: Any, references: Any, examples: Sequence[dict], meta: dict) -> Iterator[dict]:
    """The file's records (see the module)."""
    per_example = (isinstance(outputs, list) and isinstance(references, list)
                   and len(outputs) == len(references) == len(examples))
    yield {"meta": {**meta, "format": FORMAT, "examples": len(examples), "per_example": per_example,
                    "shape": {"prediction": _shape(outputs), "gold": _shape(references)}}}
    if per_example:
        for index, (prediction, gold) in enumerate(zip(outputs, references)):
            yield {"i": index, "id": example_id(examples[index], index), "prediction": prediction, "gold": gold}
        return
    yield from _structure_lines("prediction", outputs)
    yield from _structure_lines("gold", references)


def write_predictions(path: Path, outputs: Any, references: Any, examples: Sequence[dict], meta: dict) -> None:
    """Write the file atomically (a temporary file, then ``os.replace``)."""
    path = Path(path)
    temporary = path.with_name(path.name + ".tmp")
    with gzip.open(temporary, "wt", encoding="utf-8", compresslevel=6) as handle:
        for record in lines(outputs, references, examples, meta):
            handle.write(json.dumps(record, ensure_ascii=False, separators=(",", ":")) + "\n")
    os.replace(temporary, path)


def _empty(shape: Any) -> Any:
    if isinstance(shape, dict):
        return {field: [] if kind == "list" else None for field, kind in shape.items()}
    return [] if shape == "list" else None


def read_predictions(path: Path) -> dict:
    """``{"meta", "outputs", "references", "ids"}`` of a predictions file, as they were written."""
    from .errors import DataError

    try:
        with gzip.open(path, "rt", encoding="utf-8") as handle:
            records = [json.loads(line) for line in handle if line.strip()]
    except (OSError, EOFError, json.JSONDecodeError) as error:
        raise DataError(f"{path}: cannot read the saved predictions ({type(error).__name__}: {error})") from None
    if not records or "meta" not in records[0] or records[0]["meta"].get("format") != FORMAT:
        raise DataError(f"{path}: not an xtui predictions file of format {FORMAT}")
    meta = records[0]["meta"]
    if meta["per_example"]:
        body = sorted(records[1:], key=lambda record: record["i"])
        return {"meta": meta, "outputs": [r["prediction"] for r in body], "references": [r["gold"] for r in body],
                "ids": [r["id"] for r in body]}
    sides = {side: _empty(meta["shape"][side]) for side in ("prediction", "gold")}
    for record in records[1:]:
        side = record["side"]
        if "field" in record:
            if "i" in record:
                sides[side][record["field"]].append(record["value"])
            else:
                sides[side][record["field"]] = record["value"]
        elif "i" in record:
            sides[side].append(record["value"])
        else:
            sides[side] = record["value"]
    return {"meta": meta, "outputs": sides["prediction"], "references": sides["gold"], "ids": None}


def score_and_keep(kind, predictions: list, examples: Sequence[dict], features: Sequence[dict],
                   keep: Optional[Path] = None, meta: Optional[dict] = None) -> dict:
    """The kind's metrics of ``predictions``; with ``keep``, the decoded outputs and the gold side
    are also written there. A kind that scores itself (overrides ``metrics`` without ``outputs``)
    is scored as before and keeps nothing."""
    if keep is None:
        return kind.metrics(predictions, examples, features)
    try:
        outputs = kind.outputs(predictions, examples, features)
        references = kind.references(examples)
    except NotImplementedError:
        return kind.metrics(predictions, examples, features)
    scorer = kind.scorer
    language = kind.options.get("language")
    scores = scorer.score(outputs, references, language)
    write_predictions(keep, outputs, references, examples,
                      {**(meta or {}), "language": language, "scorer": scorer.to_json()})
    return scores


def rescore_stage(stage_dir: Path, scorer_name: Optional[str] = None) -> Optional[dict]:
    """The metrics of a stage recomputed from its saved predictions, by the scorer that made them
    (or ``scorer_name``): ``{"stored", "rescored", "scorer", "saved_scorer"}``; None without a file."""
    from .scorers import get_scorer

    path = Path(stage_dir) / PREDICTIONS_FILE
    if not path.is_file():
        return None
    saved = read_predictions(path)
    meta = saved["meta"]
    try:
        scorer = get_scorer(scorer_name or meta["scorer"]["name"])
    except ValueError as error:
        from .errors import XtuiError

        raise XtuiError(f"stage {Path(stage_dir).name}: {error}; is the plugin that registers it installed?") from None
    rescored = scorer.score(saved["outputs"], saved["references"], meta.get("language"))
    result_path = Path(stage_dir) / "result.json"
    stored = json.loads(result_path.read_text(encoding="utf-8")).get("metrics") if result_path.is_file() else None
    return {"stored": stored, "rescored": rescored, "scorer": scorer.to_json(), "saved_scorer": meta["scorer"]}


def _same(stored: Optional[dict], rescored: dict) -> bool:
    """Every stored metric the rescoring also gives is equal to it (exactly: the same scorer on
    the same saved values computes the same floats)."""
    if not stored:
        return False
    shared = [name for name in stored if name in rescored]
    return bool(shared) and all(stored[name] == rescored[name] for name in shared)


def rescore_experiment(store, experiment: dict) -> list:
    """One row per evaluating stage of the experiment: its labels, ``status`` (``same``,
    ``different``, ``scorer changed`` (its version is not the one that scored the stage),
    ``no predictions``, ``not finished``) and the stored and rescored metrics."""
    from .stage import find_stage

    rows = []
    for digest in experiment.get("stages", []):
        folder = store.stage_dir(digest)
        stage = find_stage(folder)
        if stage is None or not stage.type.evaluates:
            continue
        labels = stage.grid.to_json()
        row = {"hash": digest, "type": stage.type.value, "task": stage.task, "language": stage.language,
               "intermediate": labels.get("intermediate"), "shots": labels.get("shots"),
               "shot_set": labels.get("shot_set"), "seed": labels.get("seed")}
        if store.stage_result(digest) is None:
            rows.append({**row, "status": "not finished"})
            continue
        rescored = rescore_stage(folder)
        if rescored is None:
            rows.append({**row, "status": "no predictions"})
            continue
        same = _same(rescored["stored"], rescored["rescored"])
        # a scorer whose version changed since may legitimately give other numbers
        changed = rescored["saved_scorer"].get("version") != rescored["scorer"]["version"]
        rows.append({**row, **rescored, "status": "same" if same else ("scorer changed" if changed else "different")})
    return rows
