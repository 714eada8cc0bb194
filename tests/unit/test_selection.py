"""Model selection and early stopping as spec fields (``select``, ``eval_every``, ``eval_subset``,
``patience``): the hashes of specs that do not set them, the plan's checks, real tiny training that
stops early, and ``target-dev`` marked "not zero-shot" in every table and export.

The runs here are real (the tiny model, the demo data) but in this process: the executor's worker
subprocess is replaced by the same worker code run here (``InProcessWorker``), which keeps them in
the unit tier."""

from __future__ import annotations

import csv
import io
import json
import shutil
import subprocess
import sys
from contextlib import redirect_stderr, redirect_stdout
from pathlib import Path

import pytest

from conftest import REPO
from support.unit_fixtures import registry, spec_data  # noqa: F401  (registry is a fixture)
from xtui.errors import SpecError
from xtui.plan import build_plan
from xtui.selection import LEGEND, NOT_ZERO_SHOT, eval_points, subset_indices
from xtui.spec import load_spec, parse_spec

SOURCE = "spec.toml"


def _plan(registry, **sections):
    return build_plan(parse_spec(spec_data(**sections), SOURCE), registry, SOURCE)


def _hashes(plan) -> dict:
    return {(s.type.value, s.grid.language, s.grid.shots, s.grid.shot_set): s.hash for s in plan.order()}


# -- the hashes of specs that do not set the fields ---------------------------------------------------
def test_the_quickstart_plans_the_stages_it_always_planned(monkeypatch):
    """The hashes `xtui run examples/quickstart.toml --dry-run --json` gave before these fields existed."""
    from xtui.plugins import load_plugins

    pinned = json.loads((REPO / "tests" / "data" / "quickstart_plan_hashes.json").read_text())["hashes"]
    monkeypatch.chdir(REPO)  # its data_dir is relative to the repository root
    monkeypatch.delenv("XTUI_DATA_DIR", raising=False)
    spec, _ = load_spec(REPO / "examples" / "quickstart.toml")
    plan = build_plan(spec, load_plugins(strict=False), "examples/quickstart.toml")
    assert list(plan.stages) == pinned


def test_each_phases_default_spelled_out_keeps_the_hashes(registry):
    target = {"task": "demo_sentiment", "languages": ["de"], "max_steps": 4}
    plain = _plan(registry, intermediate={"tasks": ["none", "demo_nli"]}, target=target, fewshot={"shots": [0, 4]})
    spelled = _plan(registry, intermediate={"tasks": ["none", "demo_nli"], "select": "en-dev"},
                    target={**target, "select": "en-dev"}, fewshot={"shots": [0, 4], "select": "last"})
    assert _hashes(spelled) == _hashes(plain)
    assert all("select" not in (s.config.get("training") or {}) for s in spelled.order())


def test_a_set_field_changes_its_phase_and_what_descends_from_it_only(registry):
    target = {"task": "demo_sentiment", "languages": ["de"], "max_steps": 4}
    intermediate = {"tasks": ["demo_nli"], "max_steps": 4}
    plain = _plan(registry, intermediate=intermediate, target=target, fewshot={"shots": [0, 4]})
    stopping = _plan(registry, intermediate=intermediate, target={**target, "eval_every": 2, "patience": 3},
                     fewshot={"shots": [0, 4]})
    changed = {key for key, digest in _hashes(stopping).items() if _hashes(plain)[key] != digest}
    assert ("intermediate", None, None, None) not in changed
    assert {key[0] for key in changed} == {"target", "evaluate", "fewshot"}
    trained = next(s for s in stopping.order() if s.type == "target")
    assert trained.config["training"]["eval_every"] == 2 and trained.config["training"]["patience"] == 3
    fewshot = _plan(registry, intermediate=intermediate, target=target, fewshot={"shots": [0, 4], "select": "target-dev"})
    changed = {key[0] for key, digest in _hashes(fewshot).items() if _hashes(plain)[key] != digest}
    assert changed == {"fewshot"}
    stage = next(s for s in fewshot.order() if s.type == "fewshot")
    assert stage.config["data"]["selection"] == [{"language": "de", "split": "validation",
                                                  "fingerprint": stage.config["shot_pool"]["fingerprint"]}]


def test_target_dev_selects_on_the_target_languages_dev_splits_not_englishs(registry):
    plan = _plan(registry, target={"task": "demo_sentiment", "languages": ["en", "de", "fr"], "select": "target-dev"})
    target = next(s for s in plan.order() if s.type == "target")
    assert [s["language"] for s in target.config["data"]["selection"]] == ["de", "fr"]
    assert "validation" not in target.config["data"] and target.config["training"]["select"] == "target-dev"
    last = _plan(registry, target={"task": "demo_sentiment", "languages": ["de"], "select": "last"})
    target = next(s for s in last.order() if s.type == "target")
    assert set(target.config["data"]) == {"train"}  # the English dev split is not read, so not hashed


def test_shared_languages_without_a_dev_split_are_left_out_of_target_dev_with_a_note(registry, tmp_path):
    data = shutil.copytree(REPO / "tests" / "bad_inputs" / "select-target-dev-no-dev-split" / "data", tmp_path / "data")
    plan = _plan(registry, data_dir=str(data), target={"task": "xnli", "languages": "all", "select": "target-dev",
                                                       "max_steps": 2})
    target = next(s for s in plan.order() if s.type == "target")
    assert [s["language"] for s in target.config["data"]["selection"]] == ["de"]
    assert any(note.startswith("xnli sw: no validation split") and "target-dev" in note for note in plan.notes)


def test_an_untrained_target_notes_that_selection_does_not_apply(registry, tmp_path):
    data = tmp_path / "data" / "tatoeba" / "de"
    data.mkdir(parents=True)
    (data / "test.jsonl").write_text('{"source_sentence": "Hallo", "target_sentence": "Hello", "source_lang": "deu", '
                                     '"target_lang": "eng"}\n')
    plan = _plan(registry, data_dir=str(tmp_path / "data"), target={"task": "tatoeba", "languages": ["de"], "patience": 2})
    assert any("tatoeba is a retrieval task without training: target.patience does not apply" in n for n in plan.notes)


def test_a_mixture_selects_as_its_section_says(registry):
    sections = {"data_dir": str(REPO / "examples" / "data"), "target": {"task": "udpos", "languages": ["de"]}}
    mixture = {"tasks": [["demo_nli", "anli"]], "max_steps": 2}
    plan = _plan(registry, intermediate={**mixture, "select": "last"}, **sections)
    stage = next(s for s in plan.order() if s.type == "intermediate")
    assert stage.config["training"]["select"] == "last"
    assert all(set(member["data"]) == {"train"} for member in stage.config["mixture"]["tasks"])
    with pytest.raises(SpecError) as caught:
        _plan(registry, intermediate={**mixture, "select": "last", "patience": 2}, **sections)
    assert "'intermediate.patience'" in str(caught.value) and "\n" not in str(caught.value)


def test_eval_points_and_the_seeded_subset():
    assert eval_points(10, 100, 3) == {3, 6, 9, 10}
    assert eval_points(40, 10, None) == {10, 20, 30, 40}  # unset: each epoch's end, as before
    first = subset_indices(150, 40, "demo_sentiment|en|validation")
    assert len(first) == 40 and first == sorted(set(first)) and first == subset_indices(150, 40, "demo_sentiment|en|validation")
    assert first != subset_indices(150, 40, "demo_sentiment|de|validation")
    assert subset_indices(10, None, "k") == list(range(10)) == subset_indices(10, 50, "k")
    assert not set(subset_indices(20, 10, "k", exclude=[1, 2, 3])) & {1, 2, 3}


# -- real runs, in this process -------------------------------------------------------------------
REAL_POPEN = subprocess.Popen


class InProcessWorker:
    """Stands in for ``subprocess.Popen`` of ``python -m xtui.worker DIR ...`` (the executor's): the same
    worker code runs the stages here, before the call returns. Any other command runs as it would."""

    def __new__(cls, command, **kwargs):
        return super().__new__(cls) if "xtui.worker" in command else REAL_POPEN(command, **kwargs)

    def __init__(self, command, **_):
        from xtui.worker import Worker

        worker = Worker()
        folders = command[command.index("xtui.worker") + 1:]
        self.returncode = 0 if all([worker.run_stage(Path(folder)) for folder in folders]) else 1
        self.pid = -1

    def poll(self):
        return self.returncode

    def wait(self):
        return self.returncode


@pytest.fixture
def xtui_here(tmp_path, monkeypatch):
    """``xtui ARGS`` run by ``xtui.cli.main`` in this process, workers included: (exit code, stdout, stderr)."""
    from xtui import cli, executor, liveness

    monkeypatch.setenv("XTUI_HOME", str(tmp_path / "runs"))
    monkeypatch.setenv("COLUMNS", "200")
    monkeypatch.delenv("XTUI_DATA_DIR", raising=False)
    monkeypatch.setattr(executor.subprocess, "Popen", InProcessWorker)
    monkeypatch.setattr(liveness, "group_alive", lambda pgid: False)

    def run(*args):
        out, err = io.StringIO(), io.StringIO()
        monkeypatch.setattr(sys, "argv", ["xtui", *map(str, args)])
        with redirect_stdout(out), redirect_stderr(err):
            try:
                cli.main()
                code = 0
            except SystemExit as exit_:
                code = exit_.code if isinstance(exit_.code, int) else 0
        return code, out.getvalue(), err.getvalue()

    return run


def flat(text: str) -> str:
    """Printed text with each run of whitespace as one space: Rich wraps lines to the console's width,
    fixed when xtui.cli was first imported in this process."""
    return " ".join(text.split())


def _spec(tmp_path, target: str, fewshot: str = "shots = [0]") -> Path:
    path = tmp_path / "spec.toml"
    path.write_text(f'name = "sel"\nmodel = "tiny"\n[target]\ntask = "demo_sentiment"\nbatch_size = 8\nmax_length = 32\n'
                    f'{target}\n[fewshot]\n{fewshot}\n')
    return path


def _stage(home: Path, type_: str) -> tuple:
    """(result.json, events) of the first stage of ``type_`` of the latest experiment."""
    from xtui.store import RunStore

    store = RunStore(home)
    record = store.experiment_record(store.experiments()[-1]["id"])
    for digest in record["stages"]:
        result = store.stage_result(digest)
        if result and result["type"] == type_:
            lines = (store.stage_dir(digest) / "events.jsonl").read_text().splitlines()
            return result, [json.loads(line) for line in lines]
    raise AssertionError(f"no {type_} stage")


# learning rate 1e-9: the tiny model's predictions cannot change, so the validation score of the first
# evaluation (step 2) is never beaten; with patience 2, evaluations at steps 4 and 6 do not improve on it
STEPS = 'languages = ["de"]\nmax_steps = 20\nlearning_rate = 1e-9'
STUCK = STEPS + "\neval_every = 2\neval_subset = 40"


def test_early_stopping_stops_a_tiny_run_at_the_expected_step(xtui_here, tmp_path):
    code, out, err = xtui_here("run", _spec(tmp_path, STUCK + "\npatience = 2"))
    assert code == 0, err + out
    result, events = _stage(tmp_path / "runs", "target")
    steps = [e["step"] for e in events if e["event"] == "step"]
    assert steps[-1] == 6 and steps == sorted(steps)
    assert [e["step"] for e in events if e["event"] == "eval" and e.get("selection")] == [2, 4, 6]
    assert any(e["event"] == "log" and "early stopping at step 6 of 20" in e.get("message", "") for e in events)
    chosen = result["selection"]
    assert chosen["step"] == 2 and chosen["early_stopped"] is True and chosen["stopped_at"] == 6
    assert chosen["select"] == "en-dev" and chosen["split"] == "validation" and chosen["examples"] == {"en": 40}
    assert chosen["evaluations"] == 3 and chosen["patience"] == 2 and result["train"]["steps"] == 6
    code, out, _ = xtui_here("runs", "show", "latest")
    assert code == 0 and "early stopped at step 6 (patience 2)" in flat(out) and "en-dev: step 2, accuracy" in flat(out)


def test_select_last_and_en_dev_keep_different_steps(xtui_here, tmp_path):
    code, _, err = xtui_here("run", _spec(tmp_path, STUCK))
    assert code == 0, err
    best, _ = _stage(tmp_path / "runs", "target")
    code, _, err = xtui_here("run", _spec(tmp_path, STEPS + '\nselect = "last"'))
    assert code == 0, err
    last, events = _stage(tmp_path / "runs", "target")
    assert best["hash"] != last["hash"]
    assert (best["selection"]["select"], best["selection"]["step"], best["selection"]["early_stopped"]) == ("en-dev", 2, False)
    assert (last["selection"]["select"], last["selection"]["step"]) == ("last", 20)
    assert last["selection"]["reason"] == 'select = "last"' and not any(e["event"] == "eval" for e in events)


TARGET_DEV = ('languages = ["de", "fr"]\nmax_steps = 4\nlearning_rate = 1e-3\nselect = "target-dev"\neval_every = 2\n'
              'eval_subset = 30')


def test_target_dev_is_marked_not_zero_shot_in_every_table_and_export(xtui_here, tmp_path):
    fewshot = 'shots = [0, 4]\nshot_sets = 1\nsteps = 2\nselect = "target-dev"\neval_every = 1'
    code, out, err = xtui_here("run", _spec(tmp_path, TARGET_DEV, fewshot))
    assert code == 0, err + out
    out = flat(out)
    assert "K=0 (not zero-shot †)" in out and LEGEND in out and f" {NOT_ZERO_SHOT}" in out  # xtui run's end tables
    target, _ = _stage(tmp_path / "runs", "target")
    assert target["selection"]["languages"] == ["de", "fr"] and target["selection"]["examples"] == {"de": 30, "fr": 30}
    shots, _ = _stage(tmp_path / "runs", "fewshot")
    # its own language's dev split, which is also its shot pool: all 100 examples but its 4 shots
    assert shots["selection"]["select"] == "target-dev" and shots["selection"]["evaluations"] == 2
    assert shots["selection"]["examples"] == {shots["language"]: 100 - 4}
    code, shown, _ = xtui_here("runs", "show", "latest")
    shown = flat(shown)
    assert code == 0 and "K=0 (not zero-shot †)" in shown and LEGEND in shown
    assert "target-dev: step" in shown and "on validation (de: 30, fr: 30 examples)" in shown
    _, text, _ = xtui_here("runs", "export", "latest", "--format", "csv")
    rows = list(csv.DictReader(io.StringIO(text)))
    tested = [r for r in rows if r["split"] == "test"]
    assert tested and all(r["zero_shot"] == "False" for r in tested)
    assert {r["selection"] for r in tested} == {"target=target-dev", "target=target-dev,fewshot=target-dev"}
    _, text, _ = xtui_here("runs", "export", "latest", "--format", "json")
    assert all(r["zero_shot"] is False for r in json.loads(text) if r["split"] == "test")
    _, markdown, _ = xtui_here("runs", "export", "latest", "--format", "md")
    assert "K=0 (not zero-shot †)" in markdown and LEGEND in markdown and " † |" in markdown
    _, latex, _ = xtui_here("runs", "export", "latest", "--format", "latex")
    assert r"$^{\dagger}$" in latex and "not zero-shot: model selected on target-language dev data" in latex

    code, out, err = xtui_here("run", _spec(tmp_path, TARGET_DEV, "shots = [0]"), "--set", 'target.select="en-dev"')
    assert code == 0, err
    assert "K=0 (zero-shot)" in flat(out) and "not zero-shot" not in flat(out) and NOT_ZERO_SHOT not in out
    _, text, _ = xtui_here("runs", "export", "latest", "--format", "csv")
    tested = [r for r in csv.DictReader(io.StringIO(text)) if r["split"] == "test"]
    assert tested and all(r["zero_shot"] == "True" and r["selection"] == "target=en-dev" for r in tested)


# -- the marks in the views -------------------------------------------------------------------------
def _row(task: str, value: float, selection: str) -> dict:
    return {"experiment": "e", "stage": "s", "stage_type": "evaluate", "intermediate": "none", "task": task,
            "language": "de", "shots": 0, "shot_set": None, "seed": 1, "split": "test", "metric": "accuracy",
            "value": value, "selection": selection, "zero_shot": "target-dev" not in selection}


def test_the_marks_reach_averages_the_overall_table_and_the_comparison():
    from xtui.comparison import compare_legend, format_cell, shared_results, spec_differences
    from xtui.results import summary_tables, table_legend, table_lines, table_title

    info = {"metric": "accuracy", "shown": ["accuracy"], "languages": ["de"]}
    experiment = {"targets": ["a", "b"], "intermediate": ["none"], "targets_info": {"a": info, "b": info}}
    oracle = summary_tables([_row("a", 0.5, "target=target-dev"), _row("b", 0.6, "target=en-dev")], experiment)
    a, b, overall = oracle
    assert a["not_zero_shot"] == {"none": ["de", "avg"]} and "not_zero_shot" not in b
    assert overall["not_zero_shot"] == {"none": ["a", "avg"]}
    assert table_title(a).endswith("K=0 (not zero-shot †)") and table_title(b).endswith("K=0 (zero-shot)")
    assert table_lines(a)[2] == [["none", "50.0 †", "50.0 †"]] and table_legend(a) == LEGEND and table_legend(b) is None
    plain = summary_tables([_row("a", 0.5, "target=en-dev"), _row("b", 0.6, "target=en-dev")], experiment)
    rows, _ = shared_results([plain, oracle])
    cells = {(task, column): [format_cell(v) for v in values] for task, _, _, _, column, values in rows}
    assert cells[("a", "de")] == ["50.0", "50.0 †"] and cells[("b", "de")] == ["60.0", "60.0"]
    assert compare_legend(rows) == LEGEND and compare_legend(shared_results([plain, plain])[0]) == ""
    # a spec recorded before the fields existed does not differ from one that leaves them unset
    assert spec_differences([{"target": {"lr": 1}}, {"target": {"lr": 1, "select": None}}]) == []
