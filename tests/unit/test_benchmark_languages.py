"""xtui's XTREME and XTREME-R tasks against google-research/xtreme's own task -> language tables
(tests/support/xtreme_tables.py, copied from its evaluate.py): every task of the benchmark xtui has covers at least
those languages, and its named set (``languages = "xtreme-r"``) is exactly them; as the registry holds them and
as ``xtui tasks --json`` reports them."""

from __future__ import annotations

import json

import pytest

import xtui_xtreme
from support.xtreme_tables import TASK_NAMES, XTREME_R_LAREQA, XTREME_R_TASK2LANGS, XTREME_TASK2LANGS

BENCHMARKS = {"xtreme": XTREME_TASK2LANGS, "xtreme-r": XTREME_R_TASK2LANGS}
CASES = [(benchmark, task) for benchmark, table in BENCHMARKS.items() for task in table]
ABSENT: dict = {}
"""Upstream tasks xtui does not have here, with why (the case is skipped, and fails once the task is there)."""


@pytest.fixture(scope="module")
def tasks() -> dict:
    registered: list = []
    xtui_xtreme.register_tasks(registered.append)
    return {task.name: {"languages": list(task.languages), "language_sets": dict(task.language_sets)}
            for task in registered}


@pytest.fixture(scope="module")
def cli_tasks() -> dict:
    """``xtui tasks --json``, in this process (the command the user runs, without a subprocess)."""
    from typer.testing import CliRunner

    from xtui.cli import app

    done = CliRunner().invoke(app, ["tasks", "--json"])
    assert done.exit_code == 0, done.output
    return {item["name"]: item for item in json.loads(done.stdout)}


def _expected(benchmark: str, upstream: str) -> set:
    if benchmark == "xtreme-r" and upstream == "lareqa":
        return set(XTREME_R_LAREQA)
    return set(BENCHMARKS[benchmark][upstream])


def mismatches(table: dict, benchmark: str, upstream: str) -> list:
    """What differs between xtui's task (``table``: name -> languages, language_sets) and the upstream list."""
    name = next((n for n in TASK_NAMES.get(upstream, (upstream,)) if n in table), None)
    if name is None:
        if upstream in ABSENT:
            pytest.skip(ABSENT[upstream])
        return [f"{benchmark} {upstream}: no such task in xtui"]
    expected, task = _expected(benchmark, upstream), table[name]
    problems = []
    lacking = sorted(expected - set(task["languages"]))
    if lacking:
        problems.append(f"{benchmark} {name}: languages lack {', '.join(lacking)}")
    chosen = set(task["language_sets"].get(benchmark, ()))
    if chosen != expected:
        problems.append(f"{benchmark} {name}: set {benchmark!r} misses {', '.join(sorted(expected - chosen)) or '-'}, "
                        f"has extra {', '.join(sorted(chosen - expected)) or '-'}")
    return problems


@pytest.mark.parametrize("benchmark, upstream", CASES)
def test_the_registry_matches_evaluate_py(tasks, benchmark, upstream):
    assert mismatches(tasks, benchmark, upstream) == []


@pytest.mark.parametrize("benchmark, upstream", CASES)
def test_xtui_tasks_json_matches_evaluate_py(cli_tasks, benchmark, upstream):
    assert mismatches(cli_tasks, benchmark, upstream) == []


def test_no_task_claims_a_benchmark_it_is_not_part_of(cli_tasks):
    members = {benchmark: {name for upstream in table for name in TASK_NAMES.get(upstream, (upstream,))}
               for benchmark, table in BENCHMARKS.items()}
    claimed = sorted(f"{name}: {benchmark}" for name, item in cli_tasks.items() for benchmark in item["language_sets"]
                     if benchmark not in members or name not in members[benchmark])
    assert claimed == []


def test_the_comparison_fails_on_a_missing_language(tasks):
    """The check can fail: a task without Romanian is reported, for its languages and for its set."""
    table = {"xquad": {"languages": ["en", "de"], "language_sets": {"xtreme-r": ["en", "de"]}}}
    found = mismatches(table, "xtreme-r", "xquad")
    assert found[0].startswith("xtreme-r xquad: languages lack ar, el, es, hi, ro")
    assert "set 'xtreme-r' misses ar, el, es, hi, ro" in found[1]
    assert mismatches({}, "xtreme", "pawsx") == ["xtreme pawsx: no such task in xtui"]


def test_the_submission_formats_list_the_same_languages():
    """``runs export --format xtreme-r`` keeps its own table (folder names and languages): the same lists."""
    from xtui.submission import FORMATS

    wrong = [f"{benchmark} {folder}" for benchmark, table in BENCHMARKS.items()
             for folder, languages in FORMATS[benchmark].values()
             if set(languages.split(",")) != (set(XTREME_R_LAREQA) if folder == "lareqa" else set(table[folder]))]
    assert wrong == [] and {folder for folder, _ in FORMATS["xtreme-r"].values()} == set(XTREME_R_TASK2LANGS)
