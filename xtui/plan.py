"""The plan: a spec expanded into a DAG of content-hashed stages.

Stage types: ``intermediate`` -> ``target`` -> ``evaluate`` (K = 0, one language) and
``fewshot`` (K > 0, one language, one shot set, with its own evaluation). A stage's hash
covers everything that determines its output, so identical stages are shared inside a
grid and across experiments, and a stage whose hash has a result is never rerun.
"""

from __future__ import annotations

import zlib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Optional

from .errors import SpecError
from .kinds import MIXTURE
from .models import ModelRef, resolve_model
from .plugins import Registry
from .spec import NONE, Spec, intermediate_key
from .stage import StageConfig, StageType
from .tasks import Task, data_dir_from_env

@dataclass
class Plan:
    spec: Spec
    stages: dict = field(default_factory=dict)
    """hash -> xtui.stage.StageConfig, in topological order (parents first)."""
    requested: int = 0
    """How many stages the grid names before identical ones are shared."""
    notes: list = field(default_factory=list)
    """What the plan left out or warns about, one line each (shown before it runs)."""

    def naive_size(self) -> int:
        """Stages a naive run would need: every result (evaluation or shot set) its own chain
        from the pretrained model, nothing shared."""
        depth: dict = {}
        for digest, stage in self.stages.items():  # parents come first
            depth[digest] = 1 + (depth[stage.parent] if stage.parent else 0)
        return sum(depth[d] for d, s in self.stages.items() if s.type.evaluates)

    def children(self, parent: str) -> list:
        return [s for s in self.stages.values() if s.parent == parent]

    def order(self) -> list:
        return list(self.stages.values())


def _scorer(task: Task, registry: Registry) -> Optional[dict]:
    """The task's scorer as the stage records (and hashes) it: its name and version."""
    from .scorers import get_scorer, scorer_name

    name = scorer_name(task, registry.kinds)
    return get_scorer(name).to_json() if name else None


def shot_seed(task: str, language: str, shots: int, shot_set: int) -> int:
    """Shot sets depend on (task, language, K, set) only: every intermediate task and
    every training seed sees the same sets, so comparisons are paired."""
    return zlib.crc32(f"{task}|{language}|{shots}|{shot_set}".encode())


def _task_for(registry: Registry, name: str, field_name: str, role: str) -> Task:
    if name == NONE:
        raise SpecError(f"field {field_name!r}: 'none' is only valid in intermediate.tasks")
    if name not in registry.tasks:
        raise SpecError(f"field {field_name!r}: unknown task {name!r} (known: {', '.join(sorted(registry.tasks))})")
    task = registry.tasks[name]
    if role not in task.roles:
        valid = sorted(t.name for t in registry.tasks.values() if role in t.roles)
        article = "an" if role[0] in "aeiou" else "a"
        raise SpecError(f"field {field_name!r}: task {name!r} cannot be {article} {role} task (valid: {', '.join(valid)})")
    return task


def build_plan(spec: Spec, registry: Registry, source: str = "spec") -> Plan:
    """Expand a validated spec into its stage DAG. Raises SpecError naming the field."""
    data_dir = data_dir_from_env(spec.data_dir)
    if data_dir is not None and not data_dir.is_dir():
        problem = "is a file, not a folder" if data_dir.exists() else "does not exist"
        raise SpecError(f"{source}: data folder {data_dir} (data_dir or XTUI_DATA_DIR) {problem}")
    try:
        model = resolve_model(spec.model, registry.models)
    except SpecError as error:
        raise SpecError(f"{source}: {error}") from None
    from .trackers import missing

    for tracker, package in missing(spec.run.trackers):
        raise SpecError(f"{source}: field 'run.trackers': {tracker!r} needs the {package} package "
                        f"(pip install {package}, or pip install 'xtui[{tracker}]')")
    settings = spec.target.settings()
    targets = []
    for setting in settings:
        task = _prefixed(source, lambda s=setting: _task_for(registry, s.task, s.field, "target"))
        targets.append((task, _target_languages(task, setting, len(settings) > 1, source)))
    if len(targets) > 1 and not any(languages for _, languages in targets):
        raise SpecError(f"{source}: field 'target.languages': no target task has any of these languages")
    intermediates = []
    for index, entry in enumerate(spec.intermediate.tasks):
        if isinstance(entry, list):
            if len(set(entry)) != len(entry):
                raise SpecError(f"{source}: field 'intermediate.tasks[{index}]': a mixture lists a task twice")
            if NONE in entry:
                raise SpecError(f"{source}: field 'intermediate.tasks[{index}][{entry.index(NONE)}]': a mixture cannot "
                                f"include {NONE!r} (no intermediate training); list it on its own, "
                                f"e.g. tasks = ['none', {[t for t in entry if t != NONE]!r}]")
            for position, member in enumerate(entry):
                _prefixed(source, lambda m=member, i=index, j=position: _task_for(
                    registry, m, f"intermediate.tasks[{i}][{j}]", "intermediate"))
            intermediates.append(list(entry))
            continue
        if entry != NONE:
            _prefixed(source, lambda e=entry, i=index: _task_for(registry, e, f"intermediate.tasks[{i}]", "intermediate"))
        intermediates.append(entry)

    _check_pooling(spec, registry, targets, intermediates, source)
    plan = Plan(spec)
    builder = _Builder(plan, registry, model, data_dir, source)
    for seed in spec.seeds:
        for entry in intermediates:
            for (target, languages), setting in zip(targets, settings):
                if languages:
                    builder.chain(entry, target, seed, languages, setting, several=len(targets) > 1)
    builder.finish()
    from .leakage import leakage_warnings

    for target, languages in targets:
        if languages:
            for warning in leakage_warnings(list(spec.intermediate.tasks), target.name, registry, data_dir):
                builder.note(f"data overlap: {warning}")
    return plan


def _poolings(registry: Registry, task_name: str) -> tuple:
    return registry.kinds[registry.tasks[task_name].kind].poolings


def _check_pooling(spec: Spec, registry: Registry, targets: list, intermediates: list, source: str) -> None:
    """A ``pooling`` the spec sets must apply to some task it names (a tagging target has no pooled head)."""
    pooled = sorted(name for name, info in registry.kinds.items() if info.poolings)
    valid = f"pooling applies to the kinds {', '.join(pooled)}"
    if spec.intermediate.pooling is not None:
        names = [n for entry in intermediates for n in (entry if isinstance(entry, list) else [entry]) if n != NONE]
        # only "none": nothing trains here, so the setting is moot (a spec scaled down with --set keeps working)
        if names and not any(_poolings(registry, n) for n in names):
            raise SpecError(f"{source}: field 'intermediate.pooling': no intermediate task here has a pooled head "
                            f"({', '.join(names) or 'only none'}); {valid}")
    settings = spec.target.settings()
    for (task, _), setting in zip(targets, settings):
        if setting.pooling is None or setting.pooling in registry.kinds[task.kind].poolings:
            continue
        if len(settings) == 1 or setting.pooling_field != "target.pooling":
            raise SpecError(f"{source}: field {setting.pooling_field!r}: task {task.name!r} ({task.kind}) has no pooled "
                            f"head; {valid}")
    if spec.target.pooling is not None and not any(
            spec.target.pooling in registry.kinds[task.kind].poolings for task, _ in targets):
        raise SpecError(f"{source}: field 'target.pooling': no target task has a pooled head; {valid}")


def _target_languages(task: Task, setting, several: bool, source: str) -> list:
    """The languages one target is evaluated on. ``all``: every language of the task. With one
    target, a listed language the task lacks is an error; with several, each target takes the
    listed languages it has (the spec's languages are then the union)."""
    if setting.languages == "all":
        return list(task.languages)
    missing = [language for language in setting.languages if language not in task.languages]
    if missing and (not several or setting.languages_field != "target.languages"):
        raise SpecError(
            f"{source}: field {setting.languages_field!r}: task {task.name!r} has no language {missing[0]!r} "
            f"(valid: {', '.join(task.languages)})"
        )
    return [language for language in setting.languages if language in task.languages]


def _prefixed(source: str, call):
    try:
        return call()
    except SpecError as error:
        raise SpecError(f"{source}: {error}") from None


class _Builder:
    def __init__(self, plan: Plan, registry: Registry, model: ModelRef, data_dir: Optional[Path], source: str):
        self.plan, self.registry, self.model, self.data_dir, self.source = plan, registry, model, data_dir, source
        self.language_notes: dict = {}

    def _need(self, task: Task, language: str, split: Optional[str], what: str, field: str) -> str:
        from .errors import DataError

        try:
            present = split is not None and task.has_split(language, split, self.data_dir)
        except DataError as error:  # data xtui cannot fetch (Task.unavailable): say why, and where it goes
            raise SpecError(f"{self.source}: field {field!r}: {error}") from None
        if not present:
            where = f"in {self.data_dir}" if task.uses_local(self.data_dir) else "on the Hub"
            raise SpecError(f"{self.source}: field {field!r}: task {task.name!r} has no {language} {split} split {where}, "
                            f"needed for {what}")
        self._check_data(task, language, split, field)
        return task.fingerprint(language, split, self.data_dir)

    def _check_data(self, task: Task, language: str, split: str, field: str, count: bool = False) -> Optional[int]:
        """Read the split as the worker will (xtui.validate): a file it cannot read, or Hub data missing
        offline, is an error on ``field`` now; answers left out by ``data.misaligned_answers`` are noted."""
        from .errors import DataError
        from .validate import check_split

        misaligned = self.plan.spec.data.misaligned_answers
        try:
            size, skipped = check_split(task, language, split, self.data_dir, misaligned, count)
        except DataError as error:
            raise SpecError(f"{self.source}: field {field!r}: {error}") from None
        for path, questions in skipped.items():
            self.note(f"{path}: {questions} question{'s' if questions != 1 else ''} left out, their answer_start not "
                      "pointing at their answer text (data.misaligned_answers = \"skip\")")
        return size

    def _validation(self, task: Task, field: str) -> Optional[str]:
        """The fingerprint of the task's English validation split when it has one (checked like any data)."""
        if not task.validation_split or not task.has_split(task.train_language, task.validation_split, self.data_dir):
            return None
        self._check_data(task, task.train_language, task.validation_split, field)
        return task.fingerprint(task.train_language, task.validation_split, self.data_dir)

    def _check_pool(self, task: Task, language: str, shots: int) -> None:
        size = self._check_data(task, language, task.shot_split, "fewshot.shots", count=True)
        if size is not None and shots > size:
            raise SpecError(
                f"{self.source}: field 'fewshot.shots': K={shots} is larger than the {language} shot pool of "
                f"{task.name} ({task.shot_split}, {size} examples); use K <= {size}"
            )

    def _published_set(self, task: Task, language: str, shots: int, shot_set: int) -> dict:
        """With ``fewshot.shot_sets_from``: the set's file (``shot_file``, not hashed) and its content
        digest (hashed). Where the pool is cheap to read (local or generated data) every example is
        matched now, so a set drawn from other data is an error before anything runs."""
        folder = self.plan.spec.fewshot.shot_sets_from
        if not folder:
            return {}
        from .buckets import file_digest, find_set, match_set
        from .data import load_examples
        from .errors import DataError

        root = Path(folder).expanduser().resolve()
        field = "fewshot.shot_sets_from"
        if not root.is_dir():
            raise SpecError(f"{self.source}: field {field!r}: no folder {root}")
        try:
            path = find_set(root, task.name, shots, language, shot_set)
            if task.generate is not None or task.uses_local(self.data_dir):
                pool = load_examples(task, language, task.shot_split, self.data_dir, self.plan.spec.data.misaligned_answers)
                match_set(path, pool, task.with_data(self.data_dir).labels,
                          f"the {language} shot pool of {task.name} ({task.shot_split})")
        except DataError as error:
            raise SpecError(f"{self.source}: field {field!r}: {error}") from None
        return {"shot_file": str(path), "shot_source": {"layout": "fsxlt/buckets", "sha256": file_digest(path)}}

    def note(self, text: str) -> None:
        if text not in self.plan.notes:
            self.plan.notes.append(text)

    def note_language(self, task: str, reason: str, language: str) -> None:
        """One note per (task, reason), listing its languages: ``udpos: kk, th: no validation split ...``."""
        languages = self.language_notes.setdefault((task, reason), [])
        if language not in languages:
            languages.append(language)

    def finish(self) -> None:
        for (task, reason), languages in self.language_notes.items():
            self.note(f"{task} {', '.join(languages)}: {reason}")

    def _kind(self, name: str) -> dict:
        info = self.registry.kinds[name]
        return {"name": info.name, "target": info.target, "version": info.version}

    def _add(self, type_: StageType, parent: Optional[str], config: dict, grid: dict) -> StageConfig:
        """A stage of the plan (an identical one already there is shared). ``config`` holds the hashed
        content plus ``run`` and ``data_dir``, which only say how it runs."""
        stage = StageConfig.build({"type": type_, "parent": parent, **config}, grid)
        self.plan.requested += 1
        return self.plan.stages.setdefault(stage.hash, stage)

    def _task_config(self, task: Task, pooling: Optional[str] = None) -> dict:
        """The task's part of a stage config; ``pooling`` (the head's) only where the kind pools and the
        spec chose one."""
        config = {"task": task.name, "kind": self._kind(task.kind), "scorer": _scorer(task, self.registry),
                  "class_names": list(task.with_data(self.data_dir).labels)}
        if pooling is not None and pooling in self.registry.kinds[task.kind].poolings:
            config["pooling"] = pooling
        return config

    def untrained(self, entry: str, target: Task, seed: int, base: dict, parent: Optional[str], languages: list,
                  setting, several: bool) -> None:
        """Targets of a kind that does not train (sentence retrieval): each language evaluates the
        intermediate stage's encoder (or the pretrained one, for ``none``) directly. Among several
        targets, the spec's K > 0 simply do not apply to them; alone, asking for K > 0 is a mistake."""
        spec = self.plan.spec
        if any(k > 0 for k in spec.fewshot.shots):
            if not several:
                raise SpecError(f"{self.source}: field 'fewshot.shots': {target.name!r} is a {target.kind} task without "
                                "training, so only K=0 applies; use shots = [0]")
            self.note(f"{target.name} is a {target.kind} task without training: only K=0 applies to it")
        for language in languages:
            if self._shared_languages(setting, several) and not target.has_split(language, target.test_split, self.data_dir):
                self.note_language(target.name, f"no {target.test_split} split, so {self._which(setting)} leaves them out",
                                   language)
                continue
            test = self._need(target, language, target.test_split, f"evaluating {language}", setting.languages_field)
            self._add(StageType.EVALUATE, parent,
                      {**base, **self._task_config(target), "language": language,
                       "evaluation": {"split": target.test_split, "fingerprint": test},
                       "eval_batch_size": spec.fewshot.eval_batch_size, "max_length": setting.training["max_length"]},
                      {"intermediate": entry, "task": target.name, "language": language, "seed": seed,
                       "shots": 0, "shot_set": None})

    @staticmethod
    def _shared_languages(setting, several: bool) -> bool:
        """Languages not chosen for this target alone: ``all``, or one list shared by several targets
        (each takes those it has data for; a language missing is a note, not an error)."""
        return setting.languages == "all" or (several and setting.languages_field == "target.languages")

    @staticmethod
    def _which(setting) -> str:
        return "'all' languages" if setting.languages == "all" else "the shared target.languages list"

    def _intermediate_data(self, task: Task) -> dict:
        data = {"train": self._need(task, task.train_language, task.train_split, f"intermediate task {task.name}",
                                    "intermediate.tasks")}
        validation = self._validation(task, "intermediate.tasks")
        if validation is not None:
            data["validation"] = validation
        return data

    def _mixture(self, entry: list, base: dict, seed: int) -> StageConfig:
        """A multi-task intermediate stage: one shared encoder, a head per task, batches drawn
        from the tasks by the spec's sampling policy. Members are listed in the spec's order."""
        spec = self.plan.spec
        key = intermediate_key(entry)
        members = []
        for name in entry:
            task = self.registry.tasks[name]
            members.append({**self._task_config(task, spec.intermediate.pooling), "language": task.train_language,
                            "data": self._intermediate_data(task)})
        return self._add(
            StageType.INTERMEDIATE, None,
            {**base, "task": key, "kind": self._kind(MIXTURE), "class_names": [], "language": "en",
             "mixture": {"tasks": members, **spec.intermediate.mixture_config()},
             "training": spec.intermediate.training_config(), "save_checkpoint": True},
            {"intermediate": key, "task": key, "seed": seed},
        )

    def chain(self, entry, target: Task, seed: int, languages: list, setting, several: bool = False) -> None:
        """One intermediate choice -> one target (``setting``: its TargetSetting) -> its evaluations."""
        training = setting.training
        spec = self.plan.spec
        base = {"model": self.model.to_json(), "seed": seed, "data_dir": str(self.data_dir) if self.data_dir else None,
                "run": spec.run.model_dump(exclude={"executor", "slurm"})}
        if spec.data.misaligned_answers != "error":  # what the data is, so hashed; absent by default (hashes unchanged)
            base["misaligned_answers"] = spec.data.misaligned_answers
        parent = None
        if isinstance(entry, list):
            parent = self._mixture(entry, base, seed).hash
            entry = intermediate_key(entry)
        elif entry != NONE:
            task = self.registry.tasks[entry]
            stage = self._add(
                StageType.INTERMEDIATE, None,
                {**base, **self._task_config(task, spec.intermediate.pooling), "language": task.train_language,
                 "data": self._intermediate_data(task),
                 "training": spec.intermediate.training_config(), "save_checkpoint": True},
                {"intermediate": entry, "task": entry, "seed": seed},
            )
            parent = stage.hash
        if not self.registry.kinds[target.kind].trains:
            self.untrained(entry, target, seed, base, parent, languages, setting, several)
            return
        data = {"train": self._need(target, target.train_language, target.train_split, f"target task {target.name}", setting.field)}
        validation = self._validation(target, setting.field)
        if validation is not None:
            data["validation"] = validation
        target_stage = self._add(
            StageType.TARGET, parent,
            {**base, **self._task_config(target, setting.pooling), "language": target.train_language, "data": data,
             "training": training, "save_checkpoint": True},
            {"intermediate": entry, "task": target.name, "seed": seed},
        )
        languages = list(languages)
        if target.train_language not in languages and target.has_split(target.train_language, target.test_split, self.data_dir):
            languages.insert(0, target.train_language)
        fewshot = spec.fewshot
        for language in languages:
            if self._shared_languages(setting, several) and not target.has_split(language, target.test_split, self.data_dir):
                self.note_language(target.name, f"no {target.test_split} split, so {self._which(setting)} leaves them out",
                                   language)
                continue
            test = self._need(target, language, target.test_split, f"evaluating {language}", setting.languages_field)
            evaluation = {"split": target.test_split, "fingerprint": test}
            common = {**base, **self._task_config(target, setting.pooling), "language": language, "evaluation": evaluation}
            grid = {"intermediate": entry, "task": target.name, "language": language, "seed": seed}
            if 0 in fewshot.shots or language == target.train_language:
                self._add(StageType.EVALUATE, target_stage.hash, {**common, "eval_batch_size": fewshot.eval_batch_size,
                          "max_length": training["max_length"]},
                          {**grid, "shots": 0, "shot_set": None})
            if language == target.train_language:
                continue
            wanted = [k for k in fewshot.shots if k > 0]
            if wanted and several and not target.has_split(language, target.shot_split, self.data_dir):
                self.note_language(target.name, f"no {target.shot_split} split to draw shots from, so these are evaluated "
                                   "zero-shot only", language)
                wanted = []
            for shots in wanted:
                pool = self._need(target, language, target.shot_split, f"{shots}-shot fine-tuning in {language}", "fewshot.shots")
                if not fewshot.shot_sets_from:
                    self._check_pool(target, language, shots)
                for shot_set in range(fewshot.shot_sets):
                    self._add(
                        StageType.FEWSHOT, target_stage.hash,
                        {**common, "shots": shots, "shot_set": shot_set,
                         "shot_seed": shot_seed(target.name, language, shots, shot_set),
                         "shot_pool": {"split": target.shot_split, "fingerprint": pool},
                         **self._published_set(target, language, shots, shot_set),
                         "stratified": fewshot.stratified,
                         "training": fewshot.training_config(training["max_length"]),
                         "save_checkpoint": fewshot.save_checkpoints},
                        {**grid, "shots": shots, "shot_set": shot_set},
                    )
