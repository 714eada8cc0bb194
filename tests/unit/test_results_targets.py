"""Results tables of a spec with several targets: one table per target task and K, each with the
task's own headline metric (F1 for tagging, EM / F1 for QA), its own languages and avg, and an
overall table (the mean of each target's avg) per K. Every expected number is computed by hand."""

from __future__ import annotations

import itertools

import pytest

from support.unit_fixtures import registry, spec_data  # noqa: F401  (registry is a fixture)
from xtui.experiment import targets_info as _targets_info
from xtui.files import atomic_write_json
from xtui.plan import build_plan
from xtui.results import experiment_rows, export, headline, summary_tables, table_caption, table_lines
from xtui.spec import parse_spec
from xtui.store import RunStore

_counter = itertools.count(1)

# (task, intermediate, language) -> metrics at K=0; K=4 adds +0.10 to the headline of set 0 and +0.20 of set 1
SCORES = {
    ("xnli", "none", "en"): {"accuracy": 0.80, "macro_f1": 0.79},
    ("xnli", "none", "de"): {"accuracy": 0.60, "macro_f1": 0.58},
    ("xnli", "none", "sw"): {"accuracy": 0.50, "macro_f1": 0.47},
    ("xnli", "anli", "en"): {"accuracy": 0.84, "macro_f1": 0.83},
    ("xnli", "anli", "de"): {"accuracy": 0.66, "macro_f1": 0.65},
    ("xnli", "anli", "sw"): {"accuracy": 0.54, "macro_f1": 0.50},
    ("udpos", "none", "en"): {"accuracy": 0.95, "f1": 0.94},
    ("udpos", "none", "de"): {"accuracy": 0.90, "f1": 0.70},
    ("udpos", "none", "es"): {"accuracy": 0.88, "f1": 0.74},
    ("udpos", "anli", "en"): {"accuracy": 0.95, "f1": 0.93},
    ("udpos", "anli", "de"): {"accuracy": 0.91, "f1": 0.72},
    ("udpos", "anli", "es"): {"accuracy": 0.87, "f1": 0.70},
    ("xquad", "none", "en"): {"exact_match": 0.60, "f1": 0.75},
    ("xquad", "none", "de"): {"exact_match": 0.40, "f1": 0.55},
    ("xquad", "none", "es"): {"exact_match": 0.44, "f1": 0.61},
    ("xquad", "anli", "en"): {"exact_match": 0.62, "f1": 0.76},
    ("xquad", "anli", "de"): {"exact_match": 0.41, "f1": 0.57},
    ("xquad", "anli", "es"): {"exact_match": 0.46, "f1": 0.63},
}
HEADLINE = {"xnli": "accuracy", "udpos": "f1", "xquad": "f1"}
LANGUAGES = {"xnli": ["de", "sw"], "udpos": ["de", "es"], "xquad": ["de", "es"]}
GAIN = (0.10, 0.20)


def _write(store, type_, task, intermediate, language, metrics, shots=0, shot_set=None):
    digest = f"{next(_counter):016x}" * 4
    labels = {"intermediate": intermediate, "task": task, "language": language, "seed": 1, "shots": shots,
              "shot_set": shot_set}
    atomic_write_json(store.stage_dir(digest) / "result.json", {
        "hash": digest, "type": type_, "status": "done", "task": task, "language": language, "labels": labels,
        "seed": 1, "metric": HEADLINE[task], "metrics": metrics,
        "evaluation": {"split": "test", "language": language, "examples": 100}})
    return digest


@pytest.fixture
def grid(tmp_path):
    """none/anli x {xnli, udpos, xquad} x K in {0, 4} (xquad zero-shot only), 2 shot sets."""
    store = RunStore(tmp_path / "runs")
    stages = []
    for metrics in SCORES.values():  # as the QA scorer writes it (before the files: the first test saw none)
        if "exact_match" in metrics:
            metrics["em_f1_mean"] = (metrics["exact_match"] + metrics["f1"]) / 2
    for (task, intermediate, language), metrics in SCORES.items():
        stages.append(_write(store, "evaluate", task, intermediate, language, metrics))
        if language != "en" and task != "xquad":
            for shot_set, gain in enumerate(GAIN):
                stages.append(_write(store, "fewshot", task, intermediate, language,
                                     {**metrics, HEADLINE[task]: metrics[HEADLINE[task]] + gain}, 4, shot_set))
    info = {task: {"metric": HEADLINE[task], "shown": ["exact_match", "f1"] if task == "xquad" else [HEADLINE[task]],
                   "overall_metric": "em_f1_mean" if task == "xquad" else HEADLINE[task], "languages": LANGUAGES[task]}
            for task in HEADLINE}
    experiment = {"id": "e", "intermediate": ["none", "anli"], "targets": ["xnli", "udpos", "xquad"],
                  "targets_info": info, "metric": "accuracy", "languages": ["de", "sw", "es"], "stages": stages}
    return store, experiment


def _tables(grid):
    store, experiment = grid
    return summary_tables(experiment_rows(store, experiment), experiment)


def _find(tables, task, shots):
    return next(t for t in tables if t["task"] == task and t["shots"] == shots)


def test_one_table_per_target_and_k_then_the_overall_tables(grid):
    tables = _tables(grid)
    assert [(t["task"], t["shots"]) for t in tables] == [
        ("xnli", 0), ("xnli", 4), ("udpos", 0), ("udpos", 4), ("xquad", 0), ("overall", 0), ("overall", 4)]
    assert [t["metric"] for t in tables[:5]] == ["accuracy", "accuracy", "f1", "f1", "f1"]


def test_each_target_has_its_own_metric_languages_and_avg(grid):
    tables = _tables(grid)
    title, header, body = table_lines(_find(tables, "udpos", 0))
    assert title == "udpos · f1 (%) · K=0 (zero-shot)"
    assert header == ["intermediate", "en", "de", "es", "avg", "avg+en"], "udpos's own languages, not xnli's sw"
    assert body[0] == ["none", "94.0", "70.0", "74.0", "72.0", "79.3"]  # F1, not token accuracy
    assert body[1] == ["anli", "93.0 (-1.0)", "72.0 (+2.0)", "70.0 (-4.0)", "71.0 (-1.0)", "78.3 (-1.0)"]
    title, header, body = table_lines(_find(tables, "xnli", 4))
    assert header == ["intermediate", "de", "sw", "avg"]
    # shot set 0: (0.70 + 0.60) / 2 = 0.65, set 1: 0.75 -> mean 0.70, std 0.0707
    assert body[0] == ["none", "75.0 ± 7.1", "65.0 ± 7.1", "70.0 ± 7.1"]


def test_qa_tables_show_em_and_f1_with_the_spread_and_delta_of_f1(grid):
    xquad = _find(_tables(grid), "xquad", 0)
    title, header, body = table_lines(xquad)
    assert title == "xquad · EM / F1 (%) · K=0 (zero-shot)"
    assert header == ["intermediate", "en", "de", "es", "avg", "avg+en"]
    assert body[0] == ["none", "60.0 / 75.0", "40.0 / 55.0", "44.0 / 61.0", "42.0 / 58.0", "48.0 / 63.7"]
    assert body[1] == ["anli", "62.0 / 76.0 (+1.0)", "41.0 / 57.0 (+2.0)", "46.0 / 63.0 (+2.0)", "43.5 / 60.0 (+2.0)",
                       "49.7 / 65.3 (+1.7)"]


def test_overall_is_the_mean_of_each_targets_avg_with_delta_vs_none(grid):
    tables = _tables(grid)
    title, header, body = table_lines(_find(tables, "overall", 0))
    assert title == "overall · mean of the targets' avg (%) · K=0 (zero-shot)"
    assert header == ["intermediate", "xnli", "udpos", "xquad", "avg"]
    # QA counts as (EM + F1) / 2, as XTREME's evaluate.py: xquad none (47.5 + 52.5) / 2 = 50.0, anli (49 + 54.5) / 2
    # = 51.75; none: xnli 55.0, udpos 72.0, xquad 50.0 -> 59.0; anli: 60.0, 71.0, 51.75 -> 60.917
    assert body[0] == ["none", "55.0", "72.0", "50.0", "59.0"]
    assert body[1][:3] == ["anli", "60.0 (+5.0)", "71.0 (-1.0)"]
    assert body[1][3].startswith("51.7 (+1.7") or body[1][3].startswith("51.8 (+1.8"), body[1][3]
    assert body[1][4] == "60.9 (+1.9)"
    assert "xquad (EM + F1) / 2" in table_caption(_find(tables, "overall", 0))
    k4 = _find(tables, "overall", 4)
    assert k4["columns"] == ["xnli", "udpos"] and k4["missing"] == ["xquad"]
    # none, set 0: xnli 0.65, udpos 0.82 -> 0.735; set 1: 0.75, 0.92 -> 0.835
    assert k4["cells"]["none"]["avg"][0] == pytest.approx(0.785)


def test_markdown_export_and_headline_use_the_per_target_tables(grid):
    store, experiment = grid
    rows = experiment_rows(store, experiment)
    tables = summary_tables(rows, experiment)
    text = export(rows, tables, "md")
    assert "### udpos · f1 (%) · K=0 (zero-shot)" in text
    assert "| none | 94.0 | 70.0 | 74.0 | 72.0 |" in text
    assert "### xquad · EM / F1 (%) · K=0 (zero-shot)" in text
    assert "### overall · mean of the targets' avg (%) · K=4" in text
    assert "not at this K: xquad" in text
    best = headline(tables)
    assert (best["task"], best["shots"], best["intermediate"]) == ("overall", 4, "anli")


def test_the_experiment_records_each_targets_metric_and_languages(registry):
    data = spec_data(intermediate={"tasks": ["none", "demo_nli"], "max_steps": 3},
                     target={"tasks": ["demo_sentiment", "demo_entities"], "languages": ["de", "fr"], "max_steps": 3,
                             "per_task": {"demo_entities": {"languages": ["nl", "en"]}}},
                     fewshot={"shots": [0, 4], "shot_sets": 2})
    spec = parse_spec(data, "t.toml")
    info = _targets_info(spec, build_plan(spec, registry, "t.toml"), registry)
    assert info == {"demo_sentiment": {"metric": "accuracy", "shown": ["accuracy"], "overall_metric": "accuracy",
                                       "languages": ["de", "fr"], "scorer": "classification v1"},
                    "demo_entities": {"metric": "f1", "shown": ["f1"], "overall_metric": "f1", "languages": ["nl", "en"],
                                      "scorer": "seqeval v1"}}
