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
from .selection import DEFAULT, EN_DEV, FIELDS as SELECTION_FIELDS, LAST, TARGET_DEV
from .spec import NONE, Spec, intermediate_key
from .stage import StageConfig, StageType
from .tasks import ALL_LANGUAGES, Task, data_dir_from_env

@dataclass
class Plan:
    spec: Spec
    stages: dict = field(default_factory=dict)
    """hash -> xtui.stage.StageConfig, in topological order (parents first)."""
    requested: int = 0
    """How many stages the grid names before identical ones are shared."""
    notes: list = field(default_factory=list)
    """What the plan left out or warns about, one line each (shown before it runs)."""
    languages: dict = field(default_factory=dict)
    """Target task -> (the spec's languages field as written: a set name or None for a list, the languages
    it means for that task), in the spec's order of targets."""

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
    sets = language_sets(registry)
    for setting in settings:
        task = _prefixed(source, lambda s=setting: _task_for(registry, s.task, s.field, "target"))
        languages = _target_languages(task, setting, len(settings) > 1, source, sets)
        _check_local_only(task, setting, languages, len(settings) > 1, data_dir, source)
        targets.append((task, languages))
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
    _check_retrieval_fields(registry, targets, settings, source)
    plan = Plan(spec)
    builder = _Builder(plan, registry, model, data_dir, source)
    for (task, languages), setting in zip(targets, settings):
        named = setting.languages if isinstance(setting.languages, str) else None
        plan.languages[task.name] = (named, list(languages))
        if named and not languages:
            builder.note(f"{task.name} is not part of {named!r} (its sets: {', '.join(_sets_of(task))}): left out")
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
    heads = sorted(name for name, info in registry.kinds.items() if info.poolings and info.trains)
    read = sorted(name for name, info in registry.kinds.items() if info.poolings and not info.trains)
    valid = f"pooling applies to the kinds {', '.join(heads)}" + (f" (and, set per task, {', '.join(read)})" if read else "")
    if spec.intermediate.pooling is not None:
        names = [n for entry in intermediates for n in (entry if isinstance(entry, list) else [entry]) if n != NONE]
        # only "none": nothing trains here, so the setting is moot (a spec scaled down with --set keeps working)
        if names and not any(_poolings(registry, n) for n in names):
            raise SpecError(f"{source}: field 'intermediate.pooling': no intermediate task here has a pooled head "
                            f"({', '.join(names) or 'only none'}); {valid}")
    settings = spec.target.settings()
    for (task, _), setting in zip(targets, settings):
        if setting.pooling is None or pooling_applies(registry.kinds[task.kind], setting):
            continue
        if setting.own("pooling"):
            raise SpecError(f"{source}: field {setting.pooling_field!r}: task {task.name!r} ({task.kind}) has no pooled "
                            f"head; {valid}")
    if spec.target.pooling is not None and not any(
            spec.target.pooling in registry.kinds[task.kind].poolings and (registry.kinds[task.kind].trains or len(targets) == 1)
            for task, _ in targets):
        raise SpecError(f"{source}: field 'target.pooling': no target task has a pooled head; {valid}")


def pooling_applies(kind, setting) -> bool:
    """Whether a target's ``pooling`` reaches its stages: a head with that choice; for a kind that does not
    train (its encoder read directly: sentence retrieval) only when set for that target (its per_task section,
    or [target] with one target), as its default (mean) is not a head's (cls): the shared pooling of several
    targets is their heads'."""
    return setting.pooling in kind.poolings and (kind.trains or setting.own("pooling"))


def _check_retrieval_fields(registry: Registry, targets: list, settings: list, source: str) -> None:
    """``layer`` and ``retrieval_preset`` apply to targets whose encoder is read directly (sentence retrieval):
    set for one target that is not, or shared by targets none of which is, they are an error."""
    read = sorted(name for name, task in registry.tasks.items()
                  if not registry.kinds[task.kind].trains and "target" in task.roles)
    for name in ("layer", "retrieval_preset"):
        applied = False
        for (task, _), setting in zip(targets, settings):
            if getattr(setting, name) is None:
                continue
            if not registry.kinds[task.kind].trains:
                applied = True
                _check_preset(task, setting, source)
            elif setting.own(name):
                raise SpecError(f"{source}: field {getattr(setting, name + '_field')!r}: task {task.name!r} ({task.kind}) "
                                f"trains a head on the last layer; {name} applies to retrieval tasks ({', '.join(read)})")
        if not applied and any(getattr(s, name) is not None for s in settings):
            raise SpecError(f"{source}: field 'target.{name}': no target task is a retrieval task; {name} applies to "
                            f"{', '.join(read)}")


def _check_preset(task: Task, setting, source: str) -> None:
    name = setting.retrieval_preset
    if name is not None and name not in task.retrieval_presets:
        valid = ", ".join(task.retrieval_presets) or "none"
        raise SpecError(f"{source}: field {setting.retrieval_preset_field!r}: task {task.name!r} has no retrieval preset "
                        f"{name!r} (valid: {valid})")


def language_sets(registry: Registry) -> list:
    """The names a spec's ``languages`` may give: ``all`` and every benchmark set a registered task has."""
    return [ALL_LANGUAGES] + sorted({name for task in registry.tasks.values() for name in task.language_sets})


def _sets_of(task: Task) -> list:
    return [ALL_LANGUAGES, *task.language_sets]


def _target_languages(task: Task, setting, several: bool, source: str, sets: list) -> list:
    """The languages one target is evaluated on. ``all``: every language of the task; a benchmark's set
    (``xtreme-r``): the languages that benchmark evaluates the task on, nothing when the task is not part of
    it among several targets (alone, an error). With one target, a listed language the task lacks is an
    error; with several, each target takes the listed languages it has (the spec's languages are then the
    union)."""
    if setting.languages == ALL_LANGUAGES:
        return list(task.languages)
    if isinstance(setting.languages, str):
        where = f"{source}: field {setting.languages_field!r}"
        if setting.languages not in sets:
            raise SpecError(f"{where}: unknown language set {setting.languages!r} (valid: {', '.join(sets)}; or a list "
                            "of language codes)")
        if setting.languages in task.language_sets:
            return list(task.language_sets[setting.languages])
        if several and setting.languages_field == "target.languages":
            return []
        raise SpecError(f"{where}: task {task.name!r} is not part of {setting.languages!r} (its sets: "
                        f"{', '.join(_sets_of(task))}; or a list of language codes)")
    missing = [language for language in setting.languages if language not in task.languages]
    if missing and (not several or setting.languages_field != "target.languages"):
        raise SpecError(
            f"{source}: field {setting.languages_field!r}: task {task.name!r} has no language {missing[0]!r} "
            f"(valid: {', '.join(task.languages)})"
        )
    return [language for language in setting.languages if language in task.languages]


def _missing(task: Task, language: str, split: str, data_dir: Optional[Path]) -> str:
    where = f"in {data_dir}" if task.uses_local(data_dir) else "on the Hub"
    return f"task {task.name!r} has no {language} {split} split {where}"


def _local_only_hint(task: Task, language: str, data_dir: Optional[Path]) -> str:
    """Where a language with no Hub copy comes from (empty for any other, or when local data is used)."""
    if language not in task.local_only or task.uses_local(data_dir):
        return ""
    return f" (it is local data: {task.local_only[language]})"


def _shared_languages(setting, several: bool) -> bool:
    """Languages not chosen for this target alone: ``all`` or a benchmark's set, or one list shared by several
    targets (each takes those it has data for; a language missing is a note, not an error)."""
    return isinstance(setting.languages, str) or (several and setting.languages_field == "target.languages")


def _check_local_only(task: Task, setting, languages: list, several: bool, data_dir: Optional[Path], source: str) -> None:
    """A language chosen for this target (not a shared list or set) that only local data has, without it: one
    line saying where its data comes from, before anything else is checked (offline, the Hub data of the
    target's other splits would be reported first)."""
    for language in [] if _shared_languages(setting, several) else languages:
        hint = _local_only_hint(task, language, data_dir)
        if hint and not task.has_split(language, task.test_split, data_dir):
            raise SpecError(f"{source}: field {setting.languages_field!r}: "
                            f"{_missing(task, language, task.test_split, data_dir)}{hint}")


def _explicit_wins(setting, name: str) -> bool:
    """A ``layer`` or ``pooling`` the spec gives beats its retrieval preset, unless the preset was set for this
    target and the value is only shared by several targets."""
    return setting.retrieval_preset is None or setting.own(name) or not setting.own("retrieval_preset")


def _prefixed(source: str, call):
    try:
        return call()
    except SpecError as error:
        raise SpecError(f"{source}: {error}") from None


class _Builder:
    def __init__(self, plan: Plan, registry: Registry, model: ModelRef, data_dir: Optional[Path], source: str):
        self.plan, self.registry, self.model, self.data_dir, self.source = plan, registry, model, data_dir, source
        self.language_notes: dict = {}

    def _present(self, task: Task, language: str, split: Optional[str], field: str) -> bool:
        from .errors import DataError

        try:
            return split is not None and task.has_split(language, split, self.data_dir)
        except DataError as error:  # data xtui cannot fetch (Task.unavailable): say why, and where it goes
            raise SpecError(f"{self.source}: field {field!r}: {error}") from None

    def _need(self, task: Task, language: str, split: Optional[str], what: str, field: str) -> str:
        if not self._present(task, language, split, field):
            shared = (f" (with the {task.companions[split]!r} part every language's {split} split shares, "
                      f"{task.folder}/{task.companions[split]}/{split}.jsonl locally)") if split in task.companions else ""
            raise SpecError(f"{self.source}: field {field!r}: {_missing(task, language, split, self.data_dir)}{shared}, "
                            f"needed for {what}{_local_only_hint(task, language, self.data_dir)}")
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

    def _selection(self, phase: str, training: dict, field_of, task: Task, data_field: str, target_dev=None) -> tuple:
        """(training config, data fingerprints) of a training stage's model selection (xtui.selection).
        ``select`` is checked against the data it needs: the task's English validation split for
        ``en-dev`` (unset, a task without one keeps its last step, as always; one that cannot be read is
        an error on ``data_field``), each target language's dev split for ``target-dev`` (``target_dev()``
        lists them). The phase's default ``select`` stays out of the config, so stages that do not set
        it keep their hashes; ``eval_every``, ``eval_subset`` and ``patience`` are errors where nothing
        is evaluated."""
        training = dict(training)
        given = training.pop("select", None)
        select = given or DEFAULT[phase]
        data = {}
        why = 'select = "last" keeps the last step' if given else f"{phase} stages keep their last step unless select says so"
        if select == EN_DEV:
            validation = self._validation(task, data_field)
            if validation is not None:
                data["validation"] = validation
            elif given:
                raise SpecError(f"{self.source}: field {field_of('select')!r}: task {task.name!r} has no "
                                f"{task.train_language} validation split to select on; use select = \"last\""
                                + ("" if phase == "intermediate" else " or \"target-dev\""))
            why = f"task {task.name!r} has no {task.train_language} validation split"
        elif select == TARGET_DEV:
            data["selection"] = target_dev()
        if select != DEFAULT[phase]:
            training["select"] = select
        if not data:
            self._nothing_to_select(training, field_of, why)
        return training, data

    def _nothing_to_select(self, training: dict, field_of, why: str) -> None:
        for name in SELECTION_FIELDS[1:]:
            if name in training:
                raise SpecError(f"{self.source}: field {field_of(name)!r}: nothing is evaluated to select on ({why}); "
                                "it applies with select = \"en-dev\" or \"target-dev\"")

    def _target_dev(self, task: Task, languages: list, field: str, shared: bool) -> list:
        """The dev splits ``target-dev`` selects on: each target language's (not the training language's).
        A language listed for this target alone must have one; of shared languages (``all``, or one list
        for several targets), those without one are left out of the selection, with a note."""
        split = task.validation_split
        splits = []
        for language in languages:
            if language == task.train_language:
                continue
            if not self._present(task, language, split, field):
                if shared:
                    self.note_language(task.name, f"no {split} split, so select = \"target-dev\" does not select "
                                       "on them", language)
                    continue
                raise SpecError(f"{self.source}: field {field!r}: task {task.name!r} has no {language} dev split "
                                f"({split or 'it declares none'}) to select on; target-dev needs one in every target "
                                "language (use select = \"en-dev\" or \"last\")")
            self._check_data(task, language, split, field)
            splits.append({"language": language, "split": split,
                           "fingerprint": task.fingerprint(language, split, self.data_dir)})
        if not splits:
            raise SpecError(f"{self.source}: field {field!r}: task {task.name!r} has no dev split in a target language "
                            f"({', '.join(languages)}) to select on; use select = \"en-dev\" or \"last\"")
        return splits

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
        if "run" in config:
            # how many GPUs it runs on: `run`, so not part of its hash (evaluations take their target's)
            section = getattr(self.plan.spec, "target" if type_ is StageType.EVALUATE else type_.value)
            config = {**config, "run": {**config["run"], "gpus": section.gpus}}
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
        given = [name for name in SELECTION_FIELDS if name in setting.training]
        if given:
            self.note(f"{target.name} is a {target.kind} task without training: {setting.field_of(given[0])} "
                      "does not apply to it")
        if any(k > 0 for k in spec.fewshot.shots):
            if not several:
                raise SpecError(f"{self.source}: field 'fewshot.shots': {target.name!r} is a {target.kind} task without "
                                "training, so only K=0 applies; use shots = [0]")
            self.note(f"{target.name} is a {target.kind} task without training: only K=0 applies to it")
        reading = self._reading(target, setting)
        for language in languages:
            if self._left_out(target, language, setting, several):
                continue
            test = self._need(target, language, target.test_split, f"evaluating {language}", setting.languages_field)
            self._add(StageType.EVALUATE, parent,
                      {**base, **self._task_config(target), **reading, "language": language,
                       "evaluation": {"split": target.test_split, "fingerprint": test},
                       "eval_batch_size": spec.fewshot.eval_batch_size},
                      {"intermediate": entry, "task": target.name, "language": language, "seed": seed,
                       "shots": 0, "shot_set": None})

    def _reading(self, target: Task, setting) -> dict:
        """How a target that does not train reads its encoder, as its evaluate stages record (and hash) it:
        ``max_length`` always, ``layer`` and ``pooling`` where the spec chose them. A value set for this target
        (its per_task section, or [target] when alone) wins over a retrieval preset, which wins over a value
        shared by several targets."""
        reading = {"max_length": setting.training["max_length"]}
        explicit_layer = setting.layer is not None and _explicit_wins(setting, "layer")
        if setting.retrieval_preset is not None:
            preset = target.retrieval_presets[setting.retrieval_preset]
            reading["pooling"] = preset["pooling"]
            if not explicit_layer:
                reading["layer"] = self._preset_layer(target, setting, preset)
            if "max_length" in preset and "max_length" not in setting.own_fields:
                reading["max_length"] = preset["max_length"]
        if explicit_layer:
            depth = self._depth(setting.layer_field, f"layer {setting.layer}", required=False)
            if depth is not None and setting.layer > depth:
                raise SpecError(f"{self.source}: field {setting.layer_field!r}: layer {setting.layer} is past the last "
                                f"layer of {self.model.name} ({depth} layers: 0 = embeddings, 1-{depth} = its layers)")
            reading["layer"] = setting.layer
        if setting.pooling is not None and pooling_applies(self.registry.kinds[target.kind], setting) and \
                _explicit_wins(setting, "pooling"):
            reading["pooling"] = setting.pooling
        return reading

    def _preset_layer(self, target: Task, setting, preset: dict) -> int:
        """The layer a retrieval preset gives this encoder: its setting for the encoder's depth."""
        depth = self._depth(setting.retrieval_preset_field, f"retrieval_preset {setting.retrieval_preset!r}")
        if depth not in preset["layers"]:
            known = " and ".join(f"{d}-layer" for d in sorted(preset["layers"]))
            raise SpecError(f"{self.source}: field {setting.retrieval_preset_field!r}: preset {setting.retrieval_preset!r} "
                            f"of {target.name!r} gives the layer for {known} encoders ({preset.get('source', 'its source')}); "
                            f"{self.model.name} has {depth}: set target.per_task.{target.name}.layer instead")
        return preset["layers"][depth]

    def _depth(self, field: str, what: str, required: bool = True) -> Optional[int]:
        """The encoder's number of layers (None when unknown and not ``required``)."""
        from .models import encoder_depth

        depth = encoder_depth(self.model)
        if depth is None and required:
            raise SpecError(f"{self.source}: field {field!r}: {what} needs the encoder's depth, which xtui cannot read "
                            f"for {self.model.name} before loading it; set the layer itself")
        return depth

    def _left_out(self, target: Task, language: str, setting, several: bool) -> bool:
        """A language of a shared list or a named set the target has no test data for: noted, and left out."""
        if not _shared_languages(setting, several) or target.has_split(language, target.test_split, self.data_dir):
            return False
        missing = (f"no Hub copy xtui can load (local data only: `xtui tasks --json` says which, under local_only)"
                   if language in target.local_only and not target.uses_local(self.data_dir) else
                   f"no {target.test_split} split")
        self.note_language(target.name, f"{missing}, so {self._which(setting)} leaves them out", language)
        return True

    @staticmethod
    def _which(setting) -> str:
        return f"{setting.languages!r} languages" if isinstance(setting.languages, str) else "the shared target.languages list"

    def _intermediate_data(self, task: Task, validation: bool = True) -> dict:
        data = {"train": self._need(task, task.train_language, task.train_split, f"intermediate task {task.name}",
                                    "intermediate.tasks")}
        fingerprint = self._validation(task, "intermediate.tasks") if validation else None
        if fingerprint is not None:
            data["validation"] = fingerprint
        return data

    @staticmethod
    def _intermediate_field(name: str) -> str:
        return f"intermediate.{name}"

    def _mixture(self, entry: list, base: dict, seed: int) -> StageConfig:
        """A multi-task intermediate stage: one shared encoder, a head per task, batches drawn
        from the tasks by the spec's sampling policy. Members are listed in the spec's order."""
        spec = self.plan.spec
        key = intermediate_key(entry)
        training = spec.intermediate.training_config()
        select = training.pop("select", None)
        members = []
        for name in entry:
            task = self.registry.tasks[name]
            members.append({**self._task_config(task, spec.intermediate.pooling), "language": task.train_language,
                            "data": self._intermediate_data(task, validation=select != LAST)})
        if select == LAST:
            training["select"] = LAST
            self._nothing_to_select(training, self._intermediate_field, 'select = "last" keeps the last step')
        elif not any("validation" in m["data"] for m in members):
            if select == EN_DEV:
                raise SpecError(f"{self.source}: field 'intermediate.select': no task of the mixture {key!r} has an "
                                "English validation split to select on; use select = \"last\"")
            self._nothing_to_select(training, self._intermediate_field, f"no task of the mixture {key!r} has a "
                                    "validation split")
        return self._add(
            StageType.INTERMEDIATE, None,
            {**base, "task": key, "kind": self._kind(MIXTURE), "class_names": [], "language": "en",
             "mixture": {"tasks": members, **spec.intermediate.mixture_config()},
             "training": training, "save_checkpoint": True},
            {"intermediate": key, "task": key, "seed": seed},
        )

    def _phases(self, target: Task, setting) -> list:
        """The tasks a target trains on before its own data in its target stage, as stage members: those of
        its recipe (the spec's ``train``, else the task's first), each with its English data checked like the
        target's; empty when it trains on its own data alone."""
        field = f"target.per_task.{target.name}.train"
        if not target.recipes:
            if setting.recipe is not None:
                several = sorted(t.name for t in self.registry.tasks.values() if t.recipes)
                raise SpecError(f"{self.source}: field {field!r}: task {target.name!r} trains on its own data only; "
                                f"train chooses a recipe of {', '.join(several) or 'no task'}")
            return []
        name = setting.recipe or next(iter(target.recipes))
        if name not in target.recipes:
            raise SpecError(f"{self.source}: field {field!r}: {name!r} is not a way to train {target.name} "
                            f"(valid: {', '.join(map(repr, target.recipes))})")
        members = []
        for task_name in target.recipes[name][:-1]:
            task = self.registry.tasks.get(task_name)
            if task is None or task.kind != target.kind:
                problem = "no plugin registers it" if task is None else f"it is {task.kind}, {target.name} is {target.kind}"
                raise SpecError(f"{self.source}: field {field!r}: recipe {name!r} of {target.name} trains {task_name!r} "
                                f"first, but {problem}")
            data = {"train": self._need(task, task.train_language, task.train_split,
                                        f"recipe {name!r} of {target.name}", field)}
            validation = self._validation(task, field)
            if validation is not None:
                data["validation"] = validation
            members.append({**self._task_config(task), "language": task.train_language, "data": data})
        if members:
            earlier = ", then ".join(member["task"] for member in members)
            self.note(f"{target.name} trains on {earlier}, then on its own English data, in one target stage (recipe "
                      f"{name!r}; {field} = {' or '.join(map(repr, target.recipes))})")
        return members

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
            data = self._intermediate_data(task, validation=False)
            training_config, selection = self._selection("intermediate", spec.intermediate.training_config(),
                                                         self._intermediate_field, task, "intermediate.tasks")
            stage = self._add(
                StageType.INTERMEDIATE, None,
                {**base, **self._task_config(task, spec.intermediate.pooling), "language": task.train_language,
                 "data": {**data, **selection}, "training": training_config, "save_checkpoint": True},
                {"intermediate": entry, "task": entry, "seed": seed},
            )
            parent = stage.hash
        if not self.registry.kinds[target.kind].trains:
            if setting.recipe is not None:
                self._phases(target, setting)  # a task without training has no recipes: say so
            self.untrained(entry, target, seed, base, parent, languages, setting, several)
            return
        phases = self._phases(target, setting)
        shared = _shared_languages(setting, several)
        evaluated = [l for l in languages if not (shared and not target.has_split(l, target.test_split, self.data_dir))]
        data = {"train": self._need(target, target.train_language, target.train_split, f"target task {target.name}",
                                    setting.field)}
        training, selection = self._selection(
            "target", training, setting.field_of, target, setting.field,
            lambda: self._target_dev(target, evaluated, setting.field_of("select"), shared))
        data.update(selection)
        target_stage = self._add(
            StageType.TARGET, parent,
            {**base, **self._task_config(target, setting.pooling), "language": target.train_language, "data": data,
             **({"phases": phases} if phases else {}), "training": training, "save_checkpoint": True},
            {"intermediate": entry, "task": target.name, "seed": seed},
        )
        languages = list(languages)
        if target.train_language not in languages and target.has_split(target.train_language, target.test_split, self.data_dir):
            languages.insert(0, target.train_language)
        fewshot = spec.fewshot
        for language in languages:
            if self._left_out(target, language, setting, several):
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
            if wanted:
                fewshot_training, selection = self._selection(
                    "fewshot", fewshot.training_config(training["max_length"]), lambda name: f"fewshot.{name}", target,
                    "fewshot.select", lambda: self._target_dev(target, [language], "fewshot.select", shared=False))
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
                         "training": fewshot_training, **({"data": selection} if selection else {}),
                         "save_checkpoint": fewshot.save_checkpoints},
                        {**grid, "shots": shots, "shot_set": shot_set},
                    )
