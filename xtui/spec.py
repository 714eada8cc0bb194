"""The spec: one TOML file describing a grid of experiments, validated with pydantic.

Every error names the file and the field and says what would be valid, in one line.
"""

from __future__ import annotations

import re
import tomllib
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated, Any, Literal, Optional, Union, get_args, get_origin

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from .errors import SpecError
from .selection import FIELDS as SELECTION_FIELDS, SELECT, TARGET_DEV
from .tasks import ALL_LANGUAGES, LANGUAGE_SET_NAME

NAME_PATTERN = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$")
NONE = "none"
Pooling = Optional[Literal["cls", "mean"]]
INT64_MAX = 2**63 - 1
"""Step counts end up in torch int64 tensors and schedulers: larger integers never finish."""
SEED_MAX = 2**32 - 1
"""NumPy's seed range (``accelerate.utils.set_seed`` seeds random, NumPy and torch with one value)."""
EPOCHS_MAX = 1_000_000
GPUS_MAX = 1024
Seed = Annotated[int, Field(ge=0, le=SEED_MAX)]


class _Strict(BaseModel):
    # inf and nan parse from TOML as floats; no training setting means them
    model_config = ConfigDict(extra="forbid", validate_assignment=True, strict=True, allow_inf_nan=False)


def _check_select(select):
    if select is not None and select not in SELECT:
        raise ValueError(f"must be one of {', '.join(SELECT)}")
    return select


class _Selection(_Strict):
    """Model selection and early stopping of a training phase (see xtui.selection); unset: what the
    phase always did, and the stage hashes it always had."""

    select: Optional[str] = None
    """Which weights the phase keeps: ``en-dev`` (best on the task's English validation split; the
    default of intermediate and target), ``last`` (the last step's; the default of few-shot) or
    ``target-dev`` (best on the target languages' dev splits: not zero-shot, marked so in tables)."""
    eval_every: Optional[int] = Field(None, ge=1, le=INT64_MAX)
    """Evaluate for selection every this many optimizer steps (and at the last); unset: at each
    epoch's end for several epochs, else at four points."""
    eval_subset: Optional[int] = Field(None, ge=1, le=INT64_MAX)
    """Evaluate on this many validation examples per language, drawn with a seed of their own
    (the same examples for every seed); unset: all of them."""
    patience: Optional[int] = Field(None, ge=1, le=INT64_MAX)
    """Stop training after this many evaluations without improvement; unset: never stop early."""

    @field_validator("select")
    @classmethod
    def _select(cls, select):
        return _check_select(select)

    def selection_config(self) -> dict:
        """The fields that are set (the planner checks and normalises them; xtui.plan)."""
        return {name: getattr(self, name) for name in SELECTION_FIELDS if getattr(self, name) is not None}


class Training(_Selection):
    """Hyper-parameters shared by every training phase."""

    batch_size: int = Field(16, ge=1, le=4096)
    learning_rate: float = Field(2e-5, gt=0, lt=1)
    max_steps: Optional[int] = Field(None, ge=1, le=INT64_MAX)
    epochs: Optional[float] = Field(None, gt=0, le=EPOCHS_MAX)
    warmup_ratio: float = Field(0.1, ge=0, lt=1)
    weight_decay: float = Field(0.01, ge=0, lt=1)
    max_length: int = Field(128, ge=8, le=4096)
    gradient_accumulation: int = Field(1, ge=1, le=1024)
    eval_batch_size: int = Field(64, ge=1, le=4096)
    freeze_embeddings: bool = False
    """Keep the encoder's embedding layer fixed in this phase (word, position and token-type embeddings
    and their LayerNorm): far fewer parameters to train (most of a multilingual encoder's are its
    vocabulary), and target-language word vectors stay where pretraining aligned them with English."""
    pooling: Pooling = None
    """How the head of a kind that pools a sequence (classification, multiple choice) reads the encoder:
    ``cls`` (the first token, RoBERTa's head) or ``mean`` (the mean over real tokens, how E5 and
    sentence encoders are trained); unset: the kind's default, ``cls``. Few-shot stages use the head of
    their target stage, so its pooling. Kinds that do not pool (tagging, QA) have no such choice. A retrieval
    target (no head: its encoder is read directly, default ``mean``) takes the pooling set for it, in its
    ``[target.per_task.<task>]`` section or in [target] when it is the only target."""
    gpus: int = Field(1, ge=1, le=GPUS_MAX)
    """GPUs (one process each, Accelerate data parallel) a stage of this section runs on; how it runs, not
    what it computes: not part of stage hashes, and the results equal a one-GPU run's up to floating point
    and dropout noise. The local executor waits for that many free GPUs; on Slurm a job asks for them.
    Evaluations run as wide as [target]."""

    def training_config(self) -> dict:
        """What determines the training of a stage (part of its hash). ``pooling`` is not here: it is the
        head's, recorded on every stage of the task (see :func:`xtui.plan`); ``freeze_embeddings`` only
        when set, so stages that do not use it keep the hashes they always had."""
        data = self.model_dump(include=set(Training.model_fields) - {"pooling", "freeze_embeddings", "gpus",
                                                                      *SELECTION_FIELDS})
        if data["max_steps"] is None and data["epochs"] is None:
            data["epochs"] = 1.0
        if self.freeze_embeddings:
            data["freeze_embeddings"] = True
        return {**data, **self.selection_config()}


Mixture = list[str]


SAMPLING_POLICIES = ("proportional", "temperature", "uniform")


class Intermediate(Training):
    tasks: list[Union[str, Mixture]] = Field(default_factory=lambda: [NONE], min_length=1)
    learning_rate: float = Field(1e-5, gt=0, lt=1)
    sampling: str = "proportional"
    """How a mixture picks the task of each batch: ``proportional`` to its training set size,
    ``temperature`` (size ** (1 / temperature), as XTREME-R / mT5 do), or ``uniform``."""
    temperature: float = Field(2.0, ge=1, le=100)

    @field_validator("select")
    @classmethod
    def _no_target_dev(cls, select):
        if select == TARGET_DEV:
            raise ValueError("an intermediate task has no target-language dev data to select on; use en-dev or last")
        return select

    @field_validator("sampling")
    @classmethod
    def _sampling(cls, sampling):
        if sampling not in SAMPLING_POLICIES:
            raise ValueError(f"must be one of {', '.join(SAMPLING_POLICIES)}")
        return sampling

    def mixture_config(self) -> dict:
        """What determines how a mixture samples its tasks (part of a mixture stage's hash only)."""
        return {"sampling": self.sampling, "temperature": self.temperature if self.sampling == "temperature" else None}

    @field_validator("tasks")
    @classmethod
    def _no_duplicates(cls, tasks):
        seen = set()
        for task in tasks:
            key = task if isinstance(task, str) else "+".join(task)
            if key in seen:
                raise ValueError(f"{key!r} is listed twice")
            if isinstance(task, list) and len(task) < 2:
                raise ValueError("a mixture is a list of at least two tasks")
            seen.add(key)
        return tasks


Layer = Optional[int]
"""The encoder layer a retrieval target embeds with: a hidden-state index as Hugging Face counts them
(0 = the embeddings, N = the output of the N-th transformer layer). Unset: the kind's default, the layer at
14/24 of the depth (X-STILTs' layer 14 of XLM-R Large's 24; 7 of a 12-layer encoder)."""
LAYER_MAX = 1024


class TargetOverride(_Strict):
    """``[target.per_task.<task>]``: what differs for one target of several (unset = the [target] value)."""

    languages: Optional[Union[list[str], str]] = None
    batch_size: Optional[int] = Field(None, ge=1, le=4096)
    learning_rate: Optional[float] = Field(None, gt=0, lt=1)
    max_steps: Optional[int] = Field(None, ge=1, le=INT64_MAX)
    epochs: Optional[float] = Field(None, gt=0, le=EPOCHS_MAX)
    warmup_ratio: Optional[float] = Field(None, ge=0, lt=1)
    weight_decay: Optional[float] = Field(None, ge=0, lt=1)
    max_length: Optional[int] = Field(None, ge=8, le=4096)
    gradient_accumulation: Optional[int] = Field(None, ge=1, le=1024)
    eval_batch_size: Optional[int] = Field(None, ge=1, le=4096)
    freeze_embeddings: Optional[bool] = None
    pooling: Pooling = None
    select: Optional[str] = None
    eval_every: Optional[int] = Field(None, ge=1, le=INT64_MAX)
    eval_subset: Optional[int] = Field(None, ge=1, le=INT64_MAX)
    patience: Optional[int] = Field(None, ge=1, le=INT64_MAX)
    train: Optional[str] = None
    """How this target trains, for a task with several ways (its recipes): XCOPA ``"siqa+copa"``
    (XTREME-R's: SocialIQA, then English COPA, in one target stage; the default) or ``"copa"``
    (English COPA alone). Checked against the task's recipes when the plan is built."""
    layer: Layer = Field(None, ge=0, le=LAYER_MAX)
    retrieval_preset: Optional[str] = None

    @field_validator("languages")
    @classmethod
    def _languages(cls, languages):
        return _check_languages(languages)

    @field_validator("select")
    @classmethod
    def _select(cls, select):
        return _check_select(select)

    @field_validator("train")
    @classmethod
    def _train(cls, train):
        if train is not None and not train.strip():
            raise ValueError("give the name of one of the task's recipes (e.g. \"siqa+copa\"), or leave the field out")
        return train

    @field_validator("retrieval_preset")
    @classmethod
    def _preset(cls, name):
        return _check_preset(name)


def _check_languages(languages):
    if isinstance(languages, str):
        if not LANGUAGE_SET_NAME.match(languages):
            raise ValueError(f"give a list of language codes, {ALL_LANGUAGES!r} or the name of a benchmark's "
                             "language set (e.g. 'xtreme-r')")
        return languages
    if not languages:
        raise ValueError("list at least one language")
    if len(set(languages)) != len(languages):
        raise ValueError("languages are listed twice")
    return languages


def _check_preset(name):
    if name is not None and not LANGUAGE_SET_NAME.match(name):
        raise ValueError("give the name of a retrieval preset, e.g. 'xtreme' (XTREME's scripts' layer and pooling)")
    return name


@dataclass(frozen=True)
class TargetSetting:
    """One target task of a spec, with its resolved languages field and training config."""

    task: str
    languages: Union[list, str]
    training: dict
    field: str
    """Where its task is named in the spec (``target.task`` or ``target.tasks[2]``), for errors."""
    languages_field: str
    pooling: Optional[str] = None
    pooling_field: str = "target.pooling"
    overridden: tuple = ()
    """The fields ``[target.per_task.<task>]`` sets for this target (errors name them there)."""
    recipe: Optional[str] = None
    """``[target.per_task.<task>] train``: the recipe the spec chose (None: the task's default)."""
    layer: Optional[int] = None
    layer_field: str = "target.layer"
    retrieval_preset: Optional[str] = None
    retrieval_preset_field: str = "target.retrieval_preset"
    own_fields: frozenset = frozenset()
    """The training fields its ``[target.per_task.<task>]`` section sets (a preset gives way to them)."""
    alone: bool = True
    """The spec's only target."""

    def field_of(self, name: str) -> str:
        """Where the spec sets ``name`` for this target: ``target.per_task.xnli.patience`` or ``target.patience``."""
        return f"target.per_task.{self.task}.{name}" if name in self.overridden else f"target.{name}"

    def own(self, name: str) -> bool:
        """Whether ``name`` (``pooling``, ``layer``, ...) was set for this target: in its per_task section, or
        in [target] when it is the only target."""
        return self.alone or getattr(self, f"{name}_field").startswith("target.per_task.")


class Target(Training):
    task: Optional[str] = None
    """One target task; or ``tasks``, several, sharing this section's settings."""
    tasks: Optional[list[str]] = None
    languages: Union[list[str], str]
    """Language codes, or ``"all"``: every language the task has."""
    per_task: dict[str, TargetOverride] = Field(default_factory=dict)
    layer: Layer = Field(None, ge=0, le=LAYER_MAX)
    """Retrieval targets (bucc, tatoeba): the layer they embed with (see ``Layer``)."""
    retrieval_preset: Optional[str] = None
    """Retrieval targets: a named setting of layer, pooling and length for them, e.g. ``"xtreme"`` (XTREME's
    scripts); the task's ``retrieval_presets`` hold them. ``layer``, ``pooling`` and ``max_length`` set in a
    target's per_task section win over it."""

    @field_validator("languages")
    @classmethod
    def _unique(cls, languages):
        return _check_languages(languages)

    @field_validator("retrieval_preset")
    @classmethod
    def _preset(cls, name):
        return _check_preset(name)

    @field_validator("tasks")
    @classmethod
    def _tasks(cls, tasks):
        if tasks is not None:
            if not tasks:
                raise ValueError("list at least one task")
            if len(set(tasks)) != len(tasks):
                raise ValueError("a task is listed twice")
        return tasks

    @model_validator(mode="after")
    def _one_way(self):
        if (self.task is None) == (self.tasks is None):
            raise ValueError("give either 'task' (one target) or 'tasks' (several)")
        unknown = sorted(set(self.per_task) - set(self.names()))
        if unknown:
            raise ValueError(f"per_task names {', '.join(map(repr, unknown))}, which is not a target "
                             f"(targets: {', '.join(self.names())})")
        return self

    def names(self) -> list:
        return [self.task] if self.task is not None else list(self.tasks)

    def settings(self) -> list:
        """Every target with its languages and training config (``per_task`` applied)."""
        base = self.training_config()
        out = []
        for index, name in enumerate(self.names()):
            override = self.per_task.get(name)
            training = dict(base)
            chosen = {"languages": self.languages, "pooling": self.pooling, "layer": self.layer,
                      "retrieval_preset": self.retrieval_preset}
            fields = {key: f"target.{key}" for key in chosen}
            own_fields, overridden, recipe = frozenset(), (), None
            if override is not None:
                given = override.model_dump(exclude_none=True)
                overridden = tuple(given)
                recipe = given.pop("train", None)
                for key in chosen:
                    if key in given:
                        chosen[key], fields[key] = given.pop(key), f"target.per_task.{name}.{key}"
                own_fields = frozenset(given)
                if "epochs" in given or "max_steps" in given:  # one says how long: the other no longer applies
                    training["epochs"] = training["max_steps"] = None
                if given.pop("freeze_embeddings", training.get("freeze_embeddings", False)):
                    training["freeze_embeddings"] = True
                else:
                    training.pop("freeze_embeddings", None)
                training.update(given)
            field = "target.task" if self.task is not None else f"target.tasks[{index}]"
            out.append(TargetSetting(name, chosen["languages"], training, field, fields["languages"], chosen["pooling"],
                                     fields["pooling"], overridden=overridden, recipe=recipe, layer=chosen["layer"],
                                     layer_field=fields["layer"], retrieval_preset=chosen["retrieval_preset"],
                                     retrieval_preset_field=fields["retrieval_preset"], own_fields=own_fields,
                                     alone=len(self.names()) == 1))
        return out


class Fewshot(_Selection):
    shots: list[int] = Field(default_factory=lambda: [0], min_length=1)
    shot_sets: int = Field(5, ge=1, le=100)
    steps: int = Field(10, ge=1, le=INT64_MAX)
    batch_size: int = Field(8, ge=1, le=4096)
    learning_rate: float = Field(1e-5, gt=0, lt=1)
    warmup_ratio: float = Field(0.0, ge=0, lt=1)
    weight_decay: float = Field(0.01, ge=0, lt=1)
    max_length: Optional[int] = Field(None, ge=8, le=4096)
    eval_batch_size: int = Field(64, ge=1, le=4096)
    stratified: bool = True
    save_checkpoints: bool = False
    shot_sets_from: Optional[str] = None
    """A folder of published shot sets in the fsxlt/buckets layout (``<task>/<K>-shots/<language>/<i>-th/``),
    used instead of drawing: set i of each K is that folder's ``i-th`` (see xtui.buckets)."""

    @field_validator("shot_sets_from")
    @classmethod
    def _shot_sets_from(cls, folder):
        if folder is not None and not folder.strip():
            raise ValueError("give a folder in the fsxlt/buckets layout, or leave the field out")
        return folder
    freeze_embeddings: bool = False
    gpus: int = Field(1, ge=1, le=GPUS_MAX)
    """GPUs a few-shot stage runs on (see Training.gpus); its group of shot sets shares them."""

    @field_validator("shots")
    @classmethod
    def _shots(cls, shots):
        if any(k < 0 for k in shots):
            raise ValueError("shot counts must be 0 or more")
        if any(k > INT64_MAX for k in shots):
            raise ValueError(f"shot counts must be at most {INT64_MAX}")
        if len(set(shots)) != len(shots):
            raise ValueError("shot counts are listed twice")
        return sorted(shots)

    def training_config(self, max_length: int) -> dict:
        data = {
            "batch_size": self.batch_size,
            "learning_rate": self.learning_rate,
            "max_steps": self.steps,
            "epochs": None,
            "warmup_ratio": self.warmup_ratio,
            "weight_decay": self.weight_decay,
            "max_length": self.max_length or max_length,
            "gradient_accumulation": 1,
            "eval_batch_size": self.eval_batch_size,
        }
        if self.freeze_embeddings:
            data["freeze_embeddings"] = True
        return {**data, **self.selection_config()}


TRACKERS = ("tensorboard", "wandb", "mlflow")


SLURM_TIME = re.compile(r"^(\d+-\d{1,2}(:\d{1,2}){0,2}|\d+(:\d{1,2}){0,2})$")
"""Slurm's --time forms: minutes, minutes:seconds, hours:minutes:seconds, days-hours[:minutes[:seconds]]."""
def slurm_seconds(limit: str) -> int:
    """Seconds of a Slurm time limit: ``M``, ``M:S``, ``H:M:S``, ``D-H``, ``D-H:M``, ``D-H:M:S``."""
    days, _, rest = limit.rpartition("-")
    parts = [int(p) for p in rest.split(":")]
    if days:
        parts += [0] * (3 - len(parts))
        return int(days) * 86400 + parts[0] * 3600 + parts[1] * 60 + parts[2]
    if len(parts) == 1:
        return parts[0] * 60
    if len(parts) == 2:
        return parts[0] * 60 + parts[1]
    return parts[0] * 3600 + parts[1] * 60 + parts[2]


SLURM_MEMORY = re.compile(r"^\d+[KMGT]?$")
SLURM_NAME = re.compile(r"^[^\s'\"]+$")


class SlurmResources(_Strict):
    """What one batch job of a stage type asks for (``[run.slurm]`` for every type, or
    ``[run.slurm.intermediate]`` / ``target`` / ``evaluate`` / ``fewshot`` for one)."""

    time: Optional[str] = None
    """The job's time limit, as sbatch --time takes it (``90``, ``4:00:00``, ``1-12``)."""
    gpus: Optional[int] = Field(None, ge=0, le=GPUS_MAX)
    """GPUs per job (``--gres=gpu:N``): 0 for a CPU job; more than 1 only as the stage section's ``gpus``
    says (a stage runs one process per GPU; xtui.slurm.check_gpus)."""
    cpus: Optional[int] = Field(None, ge=1, le=1024)
    mem: Optional[str] = None
    """Memory per node, as sbatch --mem takes it (``16G``, ``64000M``)."""

    @field_validator("time")
    @classmethod
    def _time(cls, value):
        if value is not None and not SLURM_TIME.match(value):
            raise ValueError("give a Slurm time limit: minutes, HH:MM:SS or D-HH:MM:SS (e.g. '4:00:00')")
        return value

    @field_validator("mem")
    @classmethod
    def _mem(cls, value):
        if value is not None and not SLURM_MEMORY.match(value):
            raise ValueError("give a size with an optional unit K, M, G or T (e.g. '16G')")
        return value


class Slurm(SlurmResources):
    """``[run.slurm]``: where and how the Slurm executor submits a plan's stages (``xtui.slurm``)."""

    partition: Optional[str] = None
    account: Optional[str] = None
    qos: Optional[str] = None
    sbatch: list[str] = Field(default_factory=list)
    """Extra sbatch options, one per line of the job script (``--constraint=a100``)."""
    setup: str = ""
    """Shell lines run before the worker in every job (``module load ...``, ``source venv/bin/activate``)."""
    python: Optional[str] = None
    """The Python that runs the worker in a job; unset: the one running ``xtui run`` (a shared filesystem)."""
    max_jobs: int = Field(500, ge=1, le=100_000)
    """Jobs of this experiment in the queue at once; the rest are submitted as those end."""
    warning: int = Field(120, ge=0, le=65535)
    """Seconds before a job's time limit Slurm warns it (``--signal=B:USR1@N``; 0: no warning). Warned,
    a training stage saves a checkpoint at its next step and the job requeues itself to continue there."""
    requeue: int = Field(3, ge=0, le=1000)
    """How many times one job may requeue itself after a warning (0: never; ``xtui run --resume`` still
    continues from the checkpoint)."""
    intermediate: SlurmResources = Field(default_factory=SlurmResources)
    target: SlurmResources = Field(default_factory=SlurmResources)
    evaluate: SlurmResources = Field(default_factory=SlurmResources)
    fewshot: SlurmResources = Field(default_factory=SlurmResources)

    @field_validator("partition", "account", "qos")
    @classmethod
    def _names(cls, value):
        if value is not None and not SLURM_NAME.match(value):
            raise ValueError("must be one word (no spaces or quotes)")
        return value

    @field_validator("sbatch")
    @classmethod
    def _sbatch(cls, lines):
        for line in lines:
            if not line.startswith("--") or "\n" in line:
                raise ValueError(f"each line is one sbatch option starting with '--' (got {line!r})")
        return lines

    @model_validator(mode="after")
    def _warning_before_the_limit(self):
        """A warning as long as the time limit would arrive as the job starts, and again after every requeue."""
        for stage_type in ("intermediate", "target", "evaluate", "fewshot"):
            limit = self.resources(stage_type)["time"]
            if self.warning and limit and slurm_seconds(limit) <= self.warning:
                raise ValueError(f"warning ({self.warning} s) must be shorter than the time limit of {stage_type} "
                                 f"jobs (time = '{limit}', {slurm_seconds(limit)} s): lower warning or raise time")
        return self

    def resources(self, stage_type: str) -> dict:
        """time, gpus, cpus, mem of one stage type: its own section over the defaults of [run.slurm]."""
        own = getattr(self, stage_type)
        return {name: getattr(own, name) if getattr(own, name) is not None else getattr(self, name)
                for name in SlurmResources.model_fields}


class Run(_Strict):
    """How stages run; none of it changes their results (not part of stage hashes)."""

    executor: Literal["local", "slurm"] = "local"
    """``local``: worker processes on this machine's GPUs (or CPU); ``slurm``: one batch job per stage."""
    slurm: Slurm = Field(default_factory=Slurm)
    checkpoint_every_minutes: float = Field(10.0, ge=0)
    checkpoint_every_steps: Optional[int] = Field(None, ge=1, le=INT64_MAX)
    auto_batch_size: bool = False
    trackers: list[str] = Field(default_factory=list)
    """Experiment trackers fed by every stage's events (``tensorboard``, ``wandb``, ``mlflow``; xtui.trackers)."""

    @field_validator("trackers")
    @classmethod
    def _trackers(cls, trackers):
        unknown = [t for t in trackers if t not in TRACKERS]
        if unknown:
            raise ValueError(f"unknown tracker {unknown[0]!r} (valid: {', '.join(TRACKERS)})")
        if len(set(trackers)) != len(trackers):
            raise ValueError("a tracker is listed twice")
        return trackers


MISALIGNED_ANSWERS = ("error", "skip")


class Data(_Strict):
    """``[data]``: what to do with data that is well-formed but wrong."""

    misaligned_answers: str = "error"
    """QA answers whose ``answer_start`` does not point at their text: ``error`` (name the file,
    question and offset before anything runs) or ``skip`` (leave those questions out; the plan
    says how many)."""

    @field_validator("misaligned_answers")
    @classmethod
    def _misaligned(cls, value):
        if value not in MISALIGNED_ANSWERS:
            raise ValueError(f"must be one of {', '.join(MISALIGNED_ANSWERS)}")
        return value


class Spec(_Strict):
    name: str
    model: str = "xlm-roberta-base"
    seeds: list[Seed] = Field(default_factory=lambda: [1], min_length=1)
    data_dir: Optional[str] = None
    description: str = ""
    data: Data = Field(default_factory=Data)
    intermediate: Intermediate = Field(default_factory=Intermediate)
    target: Target
    fewshot: Fewshot = Field(default_factory=Fewshot)
    run: Run = Field(default_factory=Run)

    @field_validator("name")
    @classmethod
    def _name(cls, name):
        if not NAME_PATTERN.match(name):
            raise ValueError("use 1-64 letters, digits, '.', '_' or '-', starting with a letter or digit")
        if ".." in name:  # experiment ids contain the name, and an id never contains '..'
            raise ValueError("must not contain '..' (the experiment id is made from it)")
        return name

    @field_validator("data_dir")
    @classmethod
    def _data_dir(cls, folder):
        if folder is not None and not folder.strip():
            raise ValueError("give a data folder, or leave the field out (then XTUI_DATA_DIR, or the Hub)")
        return folder

    @field_validator("seeds")
    @classmethod
    def _seeds(cls, seeds):
        if len(set(seeds)) != len(seeds):
            raise ValueError("seeds are listed twice")
        return seeds

    @field_validator("model")
    @classmethod
    def _model(cls, model):
        if not model.strip():
            raise ValueError("must not be empty: give a preset (e5-small-multilingual, minilm, tiny, xlm-roberta-base, "
                             "xlm-roberta-large), a Hub id or a folder")
        return model


def _field_path(location: tuple) -> str:
    parts = []
    for item in location:
        if isinstance(item, int):
            parts[-1] = f"{parts[-1]}[{item}]" if parts else f"[{item}]"
        else:
            parts.append(str(item))
    return ".".join(parts) or "(top level)"


def _describe(error: dict) -> str:
    kind = error["type"]
    field = _field_path(tuple(x for x in error["loc"] if not (isinstance(x, str) and x in ("str", "list[str]"))))
    if kind == "extra_forbidden":
        parent = field.rsplit(".", 1)[0] if "." in field else None
        model = _model_at(parent)
        valid = ", ".join(model.model_fields) if model else ""
        return f"unknown field {field!r}" + (f" (valid: {valid})" if valid else "")
    if kind == "missing":
        return f"field {field!r} is required"
    message = error["msg"].removeprefix("Value error, ")
    given = error.get("input")
    shown = f" (got {given!r})" if given is not None and not isinstance(given, (dict, list)) else ""
    return f"field {field!r}: {message}{shown}"


def _model_at(path: Optional[str]):
    """The section model at a dotted field path; a ``dict[str, Model]`` field (``target.per_task``)
    takes the next part as its key."""
    model = Spec
    if not path or path == "(top level)":
        return Spec
    parts = path.split(".")
    while parts:
        info = model.model_fields.get(parts.pop(0))
        annotation = info.annotation if info is not None else None
        if get_origin(annotation) is dict and parts:
            parts.pop(0)  # the key: a task name
            annotation = get_args(annotation)[1]
        if not isinstance(annotation, type) or not issubclass(annotation, BaseModel):
            return None
        model = annotation
    return model


def parse_override(text: str) -> tuple[list[str], Any]:
    """``target.learning_rate=1e-5`` -> (["target", "learning_rate"], 1e-5)."""
    if "=" not in text:
        raise SpecError(f"--set {text!r}: expected FIELD=VALUE, e.g. target.learning_rate=1e-5")
    key, raw = text.split("=", 1)
    path = [part.strip() for part in key.strip().split(".")]
    if not all(path):
        raise SpecError(f"--set {text!r}: field name is empty")
    try:
        value = tomllib.loads(f"v = {raw.strip()}")["v"]
    except tomllib.TOMLDecodeError:
        value = raw.strip()
    return path, value


def apply_overrides(data: dict, overrides: list[str]) -> dict:
    for text in overrides:
        path, value = parse_override(text)
        node = data
        for part in path[:-1]:
            child = node.setdefault(part, {})
            if not isinstance(child, dict):
                raise SpecError(f"--set {text!r}: {part!r} is not a section")
            node = child
        node[path[-1]] = value
    return data


def parse_spec(data: dict, source: str = "spec") -> Spec:
    try:
        return Spec.model_validate(data)
    except ValidationError as error:
        problems = [_describe(e) for e in error.errors()]
        raise SpecError(f"{source}: " + "; ".join(problems)) from None


def load_spec(path: Path, overrides: Optional[list[str]] = None) -> tuple[Spec, str]:
    """Read, override and validate a spec; returns it with the TOML text as run."""
    path = Path(path)
    try:
        raw = path.read_bytes()
    except FileNotFoundError:
        raise SpecError(f"{path}: no such spec file") from None
    except OSError as error:
        raise SpecError(f"{path}: cannot read spec ({error.strerror or error})") from None
    if raw.startswith(b"\xef\xbb\xbf"):
        raise SpecError(f"{path}: starts with a UTF-8 byte order mark (BOM), which TOML does not allow; "
                        "save the spec as UTF-8 without BOM")
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as error:
        raise SpecError(f"{path}: cannot read spec: not UTF-8 text (byte {raw[error.start]:#04x} at offset "
                        f"{error.start}); save it as UTF-8") from None
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as error:
        raise SpecError(f"{path}: invalid TOML: {error}") from None
    data = apply_overrides(data, overrides or [])
    return parse_spec(data, str(path)), text


def intermediate_key(entry: Union[str, list]) -> str:
    """The name of an intermediate choice in tables: ``none``, ``anli``, ``mnli+squad_v1``."""
    return entry if isinstance(entry, str) else "+".join(entry)
