"""Data overlap between intermediate and target tasks, told in the plan.

An intermediate task whose data is (part of) a target task's training or evaluation data
makes a comparison misleading: MultiNLI *is* XNLI's English training data, XQuAD's
questions *are* SQuAD v1.1 development data. Two sources of knowledge:

* declared: ``Task.overlaps`` maps another task's name to a one-line explanation, on either
  side (``mnli.overlaps["xnli"]`` or ``xnli.overlaps["mnli"]``);
* found: the intermediate task's English train/validation data and the target task's English
  data come from the same Hub dataset split (any revision) or the same local folder.

Pure functions of the registry: no data is read, nothing imports torch.
"""

from __future__ import annotations

from typing import Any, Iterable, Mapping, Optional, Union

from .tasks import Task

NONE = "none"
INTERMEDIATE_SPLITS = ("train", "validation")
"""What an intermediate stage reads: it trains on ``train`` and selects on ``validation``."""


def _tasks(registry: Any) -> Mapping[str, Task]:
    """A Registry (``.tasks``) or a plain name -> Task mapping."""
    return registry.tasks if hasattr(registry, "tasks") else registry


def _members(entries: Iterable[Union[str, list, tuple]]) -> list:
    """(member name, mixture it belongs to or None) for every intermediate entry, in order.
    A mixture is a list of names, or its key ``"a+b"`` (task names never contain ``+``)."""
    members = []
    for entry in entries:
        if isinstance(entry, str) and "+" in entry:
            entry = entry.split("+")
        if isinstance(entry, (list, tuple)):
            members.extend((name, tuple(entry)) for name in entry)
        else:
            members.append((entry, None))
    return members


def _split_names(split: str) -> set:
    """``train_r1+train_r2`` -> {"train_r1", "train_r2"} (datasets' split arithmetic)."""
    return {part.strip() for part in split.split("+") if part.strip()}


def shared_sources(intermediate: Task, target: Task, data_dir=None) -> list:
    """(intermediate split, target split, what) for every source both tasks read: the same
    local file when both read local files, else the same Hub dataset split (any revision)."""
    found = []
    both_local = data_dir is not None and intermediate.uses_local(data_dir) and target.uses_local(data_dir)
    for mine in INTERMEDIATE_SPLITS:
        for theirs in ("train", "validation", "test"):
            if both_local:
                path = intermediate.local_file(data_dir, intermediate.train_language, mine)
                if path is not None and path == target.local_file(data_dir, target.train_language, theirs):
                    found.append((mine, theirs, f"the file {path}"))
                continue
            for ref in _refs(intermediate, intermediate.train_language, mine):
                for other in _refs(target, target.train_language, theirs):
                    if (ref.dataset, ref.config) == (other.dataset, other.config) and \
                            _split_names(ref.split) & _split_names(other.split):
                        config = f" {ref.config}" if ref.config else ""
                        found.append((mine, theirs, f"{ref.dataset}{config} {ref.split}"))
    return found


def _refs(task: Task, language: str, split: str) -> tuple:
    try:
        return task.hub_refs(language, split)
    except Exception:  # a third-party locator that fails must not hide the plan
        return ()


def _reason(intermediate: Task, target: Task, data_dir) -> Optional[str]:
    declared = intermediate.overlaps.get(target.name) or target.overlaps.get(intermediate.name)
    if declared:
        return declared
    shared = shared_sources(intermediate, target, data_dir)
    if shared:
        mine, theirs, what = shared[0]
        return f"{intermediate.name}'s {mine} data and {target.name}'s English {theirs} data are both {what}"
    return None


def leakage_warnings(intermediate_names: list, target_name: str, registry: Any, data_dir=None) -> list:
    """One warning per intermediate task (mixture members included) whose data overlaps the
    target task's training or evaluation data; ``none`` and unknown names are skipped.

    ``intermediate_names`` is the spec's ``intermediate.tasks``: names, ``"none"`` and mixtures
    (lists of names, or their ``"a+b"`` keys). ``registry`` is a ``Registry`` or a name -> Task mapping. ``data_dir``
    (optional) lets the check compare local folders too.
    """
    tasks = _tasks(registry)
    target = tasks.get(target_name)
    if target is None:
        return []
    warnings, seen = [], set()
    for name, mixture in _members(intermediate_names):
        if name == NONE or name in seen or name not in tasks:
            continue
        reason = _reason(tasks[name], target, data_dir)
        if reason is None:
            continue
        seen.add(name)
        where = f" (in the mixture {'+'.join(mixture)})" if mixture else ""
        warnings.append(f"intermediate task {name!r}{where} overlaps target task {target_name!r}: {reason}")
    return warnings


def render_leakage_warnings(warnings: list) -> str:
    """The warnings as lines for the plan output (``warning: data overlap: ...``); "" when none."""
    return "\n".join(f"warning: data overlap: {warning}" for warning in warnings)


__all__ = ["leakage_warnings", "render_leakage_warnings", "shared_sources"]
