"""The stage contract: what the planner hands the executors and the worker, typed and versioned.

A stage is written to ``stages/<hash>/stage.json`` by the executor and read back, strictly, by
the worker and the views: :meth:`StageConfig.to_json` / :meth:`StageConfig.from_json`. The file
carries a schema version; a field this version does not know, a missing field or a content that
no longer matches its hash is an error naming the file, never a silent default. Files of the
first schema (before this module) are read through :func:`upgrade` for the views.

The hash covers the content (:meth:`StageConfig.content`): everything that determines the
stage's output. What only says how or where it runs this time (``run``, ``data_dir``, the
parent's folder, the cache and tracking folders, the published shot file's path) is not hashed.
Headless: no torch, no Textual.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import asdict, dataclass, field, fields, is_dataclass, replace
from enum import Enum
from typing import Any, Optional

from .supervision import StrEnum

SCHEMA = 2
CONTENT_FORMAT = "1"
"""Part of every hash; changes only when the meaning of a field changes."""
NOT_HASHED = ("run", "data_dir", "shot_file")
PER_RUN = ("parent_dir", "cache_dir", "tracking")
"""Written by the executor for this run only (never hashed, never part of the plan)."""


class StageError(ValueError):
    """A stage.json that this version cannot read as it is (named with its file by the caller)."""


class StageType(StrEnum):
    """``intermediate`` -> ``target`` -> ``evaluate`` (K = 0) and ``fewshot`` (K > 0)."""

    INTERMEDIATE = "intermediate"
    TARGET = "target"
    EVALUATE = "evaluate"
    FEWSHOT = "fewshot"

    @property
    def trains(self) -> bool:
        return self is not StageType.EVALUATE

    @property
    def evaluates(self) -> bool:
        """Scores a test split (and is then one cell of the results)."""
        return self in (StageType.EVALUATE, StageType.FEWSHOT)

    @property
    def grouped(self) -> bool:
        """Small stages sharing a parent run in one worker, which loads the parent once."""
        return self.evaluates


@dataclass(frozen=True)
class Grid:
    """Where a stage sits in the experiment's grid (its coordinates in tables)."""

    intermediate: str
    task: str
    seed: int
    language: Optional[str] = None
    shots: Optional[int] = None
    shot_set: Optional[int] = None

    def to_json(self) -> dict:
        return asdict(self)

    def get(self, name: str, default=None):
        """A coordinate by name (views look them up by the grid's column names)."""
        value = getattr(self, name, None)
        return default if value is None else value

    def __getitem__(self, name: str):
        return getattr(self, name)


@dataclass(frozen=True)
class KindRef:
    name: str
    target: str
    version: str


@dataclass(frozen=True)
class ScorerRef:
    name: str
    version: str


@dataclass(frozen=True)
class Split:
    """A split a stage reads and the fingerprint of its data."""

    split: str
    fingerprint: str


@dataclass(frozen=True)
class Training:
    batch_size: int
    learning_rate: float
    max_steps: Optional[int]
    epochs: Optional[float]
    warmup_ratio: float
    weight_decay: float
    max_length: int
    gradient_accumulation: int
    eval_batch_size: int
    freeze_embeddings: Optional[bool] = None
    """Only in the hash when set (stages that never set it kept their hashes)."""
    select: Optional[str] = None
    """Model selection and early stopping (xtui.selection), each only in the hash when set; ``select``
    only when it is not the phase's default (the planner leaves that out)."""
    eval_every: Optional[int] = None
    eval_subset: Optional[int] = None
    patience: Optional[int] = None

    def to_json(self) -> dict:
        return {k: v for k, v in asdict(self).items() if v is not None or k not in OPTIONAL_TRAINING}


OPTIONAL_TRAINING = ("freeze_embeddings", "select", "eval_every", "eval_subset", "patience")
"""Training fields left out of stage.json (and so of the hash) when unset."""


@dataclass(frozen=True)
class Member:
    """One task of a multi-task intermediate stage."""

    task: str
    kind: KindRef
    scorer: Optional[ScorerRef]
    class_names: tuple
    language: str
    data: dict
    pooling: Optional[str] = None


@dataclass(frozen=True)
class Mixture:
    tasks: tuple
    sampling: str
    temperature: Optional[float]


@dataclass(frozen=True)
class StageConfig:
    """One stage of a plan. Optional fields belong to some stage types only (see ``TYPE_FIELDS``)."""

    hash: str
    type: StageType
    parent: Optional[str]
    model: dict
    """``xtui.models.ModelRef.to_json()``: name, source, tiny, fingerprint."""
    seed: int
    task: str
    kind: KindRef
    class_names: tuple
    """The task's label names (label ids index into them)."""
    language: str
    grid: Grid
    scorer: Optional[ScorerRef] = None
    run: dict = field(default_factory=dict)
    data_dir: Optional[str] = None
    format: str = CONTENT_FORMAT
    training: Optional[Training] = None
    data: Optional[dict] = None
    """Training stages: ``{"train": fingerprint, "validation": fingerprint}`` of the English data."""
    save_checkpoint: bool = False
    pooling: Optional[str] = None
    layer: Optional[int] = None
    """Retrieval evaluations: the hidden-state index the encoder is read at (0 = embeddings), where the spec
    chose one; absent: the kind's default (stages that never set it kept their hashes)."""
    mixture: Optional[Mixture] = None
    phases: Optional[tuple] = None
    """Target stages of a task's recipe: the tasks (``Member``) trained before the stage's own, in order,
    on the same model (XTREME-R's XCOPA: SocialIQA, then English COPA); absent: its own data alone."""
    evaluation: Optional[Split] = None
    eval_batch_size: Optional[int] = None
    max_length: Optional[int] = None
    shots: Optional[int] = None
    shot_set: Optional[int] = None
    shot_seed: Optional[int] = None
    shot_pool: Optional[Split] = None
    stratified: Optional[bool] = None
    shot_source: Optional[dict] = None
    shot_file: Optional[str] = None
    misaligned_answers: Optional[str] = None
    """``"skip"``: QA questions whose answer_start does not point at their text are left out of the
    data (``[data] misaligned_answers``); absent for the default, an error at plan time."""
    # -- this run only --------------------------------------------------------------------
    parent_dir: Optional[str] = None
    cache_dir: Optional[str] = None
    tracking: Optional[dict] = None

    @property
    def short(self) -> str:
        return self.hash[:12]

    @property
    def config(self) -> dict:
        """The hashed content as a dict (what determines the stage's output)."""
        return self.content()

    def describe(self) -> str:
        return describe_stage(self.type, self.grid.to_json())

    @property
    def input_length(self) -> int:
        """The maximum length features are cut to: the training one, else the evaluation one."""
        return (self.training.max_length if self.training else None) or self.max_length or 128

    @property
    def eval_batch(self) -> int:
        return self.eval_batch_size or (self.training.eval_batch_size if self.training else 64)

    # -- serialisation ----------------------------------------------------------------------
    def content(self) -> dict:
        """What the hash covers: every field but the hash, the grid and what only says how it runs."""
        data = self.to_json()
        for key in ("schema", "hash", "grid", *NOT_HASHED, *PER_RUN):
            data.pop(key, None)
        return data

    def to_json(self) -> dict:
        data = {"schema": SCHEMA}
        for item in fields(self):
            value = getattr(self, item.name)
            if item.name in OMITTED_WHEN_EMPTY and value is None:
                continue
            data[item.name] = _plain(value)
        return data

    @classmethod
    def from_json(cls, data: dict) -> "StageConfig":
        """Read a stage.json strictly (schema 1 is upgraded first); StageError says what is wrong."""
        if not isinstance(data, dict):
            raise StageError("not a JSON object")
        upgraded = "schema" not in data
        if upgraded:
            data = upgrade(data)
        if data.get("schema") != SCHEMA:
            raise StageError(f"schema {data.get('schema')!r}; this xtui reads schema {SCHEMA} (a newer xtui wrote it?)")
        known = {f.name for f in fields(cls)} | {"schema"}
        unknown = sorted(set(data) - known)
        if unknown:
            raise StageError(f"unknown field {unknown[0]!r} (a newer xtui wrote it?)")
        missing = [f.name for f in fields(cls) if f.name not in data and f.name in REQUIRED]
        if missing:
            raise StageError(f"field {missing[0]!r} is missing")
        try:
            stage = cls(**{k: _typed(k, v) for k, v in data.items() if k != "schema"})
        except (TypeError, ValueError, KeyError) as error:
            raise StageError(f"a field has the wrong shape ({type(error).__name__}: {error})") from None
        if not upgraded and stage_hash(stage.content()) != stage.hash:
            raise StageError(f"its content does not match its hash {stage.hash[:12]} (edited or damaged)")
        return stage

    @classmethod
    def build(cls, content: dict, grid: dict, **not_hashed) -> "StageConfig":
        """A stage as the planner builds it, from its content (hashed), its grid and what is not hashed;
        its hash is computed here, from :meth:`content`."""
        stage = cls(hash="", grid=Grid(**grid), **{k: _typed(k, v) for k, v in {**content, **not_hashed}.items()})
        return replace(stage, hash=stage_hash(stage.content()))

    @classmethod
    def standalone(cls, task: str, kind: dict, model: dict, language: str, training: Optional[dict] = None,
                   type: str = "target", seed: int = 1, data_dir: Optional[str] = None, class_names=(),
                   **fields) -> "StageConfig":
        """A stage outside any plan, for scripts and benchmarks that drive the worker's parts directly
        (``xtui.worker.runners.Worker``): ``kind`` and ``model`` as a plan records them."""
        content = {"type": type, "parent": None, "model": model, "seed": seed, "task": task,
                   "kind": {"name": kind.get("name", task), "target": kind["target"], "version": kind.get("version", "1")},
                   "class_names": list(class_names), "language": language, "training": training, **fields}
        return cls.build(content, {"intermediate": "none", "task": task, "seed": seed}, data_dir=data_dir)

    def with_run(self, **values) -> "StageConfig":
        """This stage with this run's folders (``parent_dir``, ``cache_dir``, ``tracking``)."""
        unknown = set(values) - set(PER_RUN)
        if unknown:
            raise StageError(f"{sorted(unknown)[0]!r} is not a per-run field ({', '.join(PER_RUN)})")
        return replace(self, **values)


REQUIRED = ("hash", "type", "parent", "model", "seed", "task", "kind", "class_names", "language", "grid")
OMITTED_WHEN_EMPTY = ("training", "data", "pooling", "layer", "mixture", "phases", "evaluation", "eval_batch_size",
                      "max_length", "shots", "shot_set", "shot_seed", "shot_pool", "stratified", "shot_source", "shot_file",
                      "misaligned_answers", "parent_dir", "cache_dir", "tracking", "scorer")


def _plain(value: Any) -> Any:
    """A field as JSON: enums by value, nested records as objects, tuples as lists."""
    if isinstance(value, Enum):
        return value.value
    if isinstance(value, Training):
        return value.to_json()
    if is_dataclass(value):
        return {f.name: _plain(getattr(value, f.name)) for f in fields(value)}
    if isinstance(value, (tuple, list)):
        return [_plain(v) for v in value]
    return value


def _member(data: dict) -> Member:
    return Member(task=data["task"], kind=KindRef(**data["kind"]),
                  scorer=ScorerRef(**data["scorer"]) if data.get("scorer") else None,
                  class_names=tuple(data["class_names"]), language=data["language"], data=dict(data["data"]),
                  pooling=data.get("pooling"))


_READERS = {
    "type": StageType,
    "kind": lambda v: KindRef(**v),
    "scorer": lambda v: ScorerRef(**v) if v else None,
    "class_names": tuple,
    "grid": lambda v: v if isinstance(v, Grid) else Grid(**v),
    "training": lambda v: Training(**v) if v is not None else None,
    "evaluation": lambda v: Split(**v) if v is not None else None,
    "shot_pool": lambda v: Split(**v) if v is not None else None,
    "mixture": lambda v: Mixture(tuple(_member(m) for m in v["tasks"]), v["sampling"], v.get("temperature"))
    if v is not None else None,
    "phases": lambda v: tuple(_member(m) for m in v) if v is not None else None,
}


def _typed(name: str, value: Any) -> Any:
    reader = _READERS.get(name)
    return reader(value) if reader is not None else value


def upgrade(data: dict) -> dict:
    """A schema-1 stage.json (grid in ``labels``, class names in ``labels_names``) as schema 2. Its
    hash was computed over the old field names, so :meth:`StageConfig.from_json` does not check it."""
    renamed = {"labels": "grid", "labels_names": "class_names"}
    out = {renamed.get(k, k): v for k, v in data.items()}
    for member in ((out.get("mixture") or {}).get("tasks") or []):
        if "labels_names" in member:
            member["class_names"] = member.pop("labels_names")
    grid = dict(out.get("grid") or {})
    out["grid"] = {k: grid.get(k) for k in ("intermediate", "task", "seed", "language", "shots", "shot_set")}
    out.setdefault("class_names", [])
    out["schema"] = SCHEMA
    return out


def stage_hash(content: dict) -> str:
    encoded = json.dumps(content, sort_keys=True, separators=(",", ":"), ensure_ascii=True)
    return hashlib.sha256(encoded.encode()).hexdigest()


def describe_stage(type_, grid: dict) -> str:
    """``fewshot anli xnli de K=9 set 2 seed 1``: what a stage is, in one line."""
    type_ = StageType(type_) if not isinstance(type_, StageType) else type_
    parts = [type_.value, grid.get("intermediate", "")]
    if grid.get("task") != grid.get("intermediate"):
        parts.append(grid.get("task", ""))
    if type_.evaluates:
        parts.append(grid.get("language", ""))
    if type_ is StageType.FEWSHOT:
        parts.append(f"K={grid.get('shots')} set {grid.get('shot_set')}")
    if grid.get("seed") is not None:
        parts.append(f"seed {grid['seed']}")
    return " ".join(str(p) for p in parts if p not in ("", None))


def read_stage(folder) -> StageConfig:
    """The stage of a stage folder, read strictly; StageError naming the file otherwise."""
    from pathlib import Path

    path = Path(folder) / "stage.json"
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise StageError(f"{path}: missing") from None
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as error:
        raise StageError(f"{path}: damaged ({type(error).__name__}: {error})") from None
    try:
        return StageConfig.from_json(data)
    except StageError as error:
        raise StageError(f"{path}: {error}") from None


def find_stage(folder) -> Optional[StageConfig]:
    """The stage of a folder for a view: None when its stage.json is missing or cannot be read
    (the view then shows what the other files tell; ``read_stage`` says why)."""
    try:
        return read_stage(folder)
    except StageError:
        return None


def result_grid(result: dict) -> dict:
    """The grid of a result.json (``labels`` in those written before schema 2)."""
    return result.get("grid") or result.get("labels") or {}
