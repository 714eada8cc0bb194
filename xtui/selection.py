"""Model selection and early stopping, as the spec sets them per training phase (``select``,
``eval_every``, ``eval_subset``, ``patience``) and as results record and show them.

``select`` says which weights a training stage keeps: ``en-dev`` (the best on the task's English
validation split: zero-shot), ``last`` (the last step's) or ``target-dev`` (the best on the target
languages' dev splits: an oracle, so every result downstream of it is marked *not zero-shot*).
Headless: the spec, the planner, the worker and the views all read it; no torch.
"""

from __future__ import annotations

import math
import random
import zlib
from typing import Optional

EN_DEV, LAST, TARGET_DEV = "en-dev", "last", "target-dev"
SELECT = (EN_DEV, LAST, TARGET_DEV)
FIELDS = ("select", "eval_every", "eval_subset", "patience")
"""The spec fields of a phase that choose its weights (each in the stage hash only when set)."""
DEFAULT = {"intermediate": EN_DEV, "target": EN_DEV, "fewshot": LAST}
"""What each phase did before these fields existed, and still does when they are unset: intermediate
and target stages keep their best English validation state (the last when there is none), few-shot
stages their last."""
NOT_ZERO_SHOT = "†"
"""Marks a table cell whose model was selected on target-language dev data."""
LEGEND = f'{NOT_ZERO_SHOT} not zero-shot: model selected on target-language dev data (select = "target-dev")'


def eval_points(total: int, updates_per_epoch: int, every: Optional[int]) -> set:
    """The steps at which a stage evaluates for selection: every ``every`` steps and at the last
    step; unset, each epoch's end for several epochs, else four points (at most ten, at least one)."""
    if every:
        return set(range(every, total + 1, every)) | {total}
    count = math.ceil(total / updates_per_epoch) if total >= 2 * updates_per_epoch else 4
    count = max(1, min(count, 10, total))
    return {math.ceil(total * i / count) for i in range(1, count + 1)}


def subset_indices(size: int, wanted: Optional[int], key: str, exclude=()) -> list:
    """The indices of a validation split's examples that selection evaluates on: ``wanted`` of them
    drawn with a seed made from ``key`` (task, language, split), so every seed and intermediate task
    of a grid is selected on the same examples; all of them when ``wanted`` is unset or larger.
    ``exclude``: examples that must not be there (a few-shot stage's shots, drawn from the same split)."""
    left = [i for i in range(size) if i not in set(exclude)]
    if wanted is None or wanted >= len(left):
        return left
    return sorted(random.Random(zlib.crc32(key.encode())).sample(left, wanted))


def recorded_select(record: dict) -> str:
    """The ``select`` of a training stage's recorded ``selection`` (inferred for results of an xtui
    before it was recorded: they kept the best English validation state, else the last step's)."""
    return record.get("select") or (LAST if record.get("strategy") == "last checkpoint" else EN_DEV)


def phase_select(training: Optional[dict], phase: str) -> str:
    """The ``select`` a stage's training config asks for (its phase's default when unset)."""
    return (training or {}).get("select") or DEFAULT[phase]


def uses_target_dev(selection: Optional[dict]) -> bool:
    """Whether a result's model was selected on target-language dev data in any phase
    (``model_selection`` of an evaluating stage's result, phase -> record)."""
    return any((record or {}).get("select") == TARGET_DEV for record in (selection or {}).values())


def selection_label(selection: Optional[dict]) -> Optional[str]:
    """``target=en-dev,fewshot=last``: how each phase of a result's chain chose its weights (rows and exports)."""
    if not selection:
        return None
    return ",".join(f"{phase}={recorded_select(record)}" for phase, record in selection.items() if record)


def describe(record: dict) -> str:
    """One line of what a training stage kept: ``en-dev: step 40, accuracy 81.2 on validation (en: 500
    examples), 6 evaluations; early stopped at step 60 (patience 2)``."""
    select = recorded_select(record)
    if "value" not in record:
        reason = f" ({record['reason']})" if record.get("reason") else ""
        return f"{select}: the last step's weights, step {record.get('step')}{reason}"
    examples = record.get("examples") if isinstance(record.get("examples"), dict) else {}
    where = ", ".join(f"{l}: {examples[l]}" if l in examples else l for l in record.get("languages") or list(examples))
    where += " examples" if examples else ""
    split = record.get("split") or "validation"
    line = (f"{select}: step {record['step']}, {record.get('metric')} {100 * record['value']:.1f} on {split}"
            + (f" ({where})" if where else "") + f", {record.get('evaluations')} evaluations")
    if record.get("early_stopped"):
        line += f"; early stopped at step {record.get('stopped_at')} (patience {record.get('patience')})"
    return line
