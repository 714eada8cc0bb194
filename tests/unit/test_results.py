"""Results: tidy rows from result.json files, summary tables (mean ± std over shot sets),
and the csv / md / json exports. Every number here is written by hand."""

from __future__ import annotations

import csv
import io
import itertools
import json
import statistics

import pytest

from xtui.files import atomic_write_json
from xtui.results import experiment_rows, export, headline, summary_tables, table_lines
from xtui.store import RunStore

TIDY_COLUMNS = ("experiment", "stage", "intermediate", "task", "language", "shots", "shot_set", "seed", "split",
                "metric", "value")

ZERO_SHOT = {("none", "en"): 0.90, ("none", "de"): 0.60, ("none", "fr"): 0.50,
             ("demo_nli", "en"): 0.92, ("demo_nli", "de"): 0.66, ("demo_nli", "fr"): 0.58}
FEW_SHOT = {("none", "de"): [0.62, 0.64, 0.69], ("none", "fr"): [0.51, 0.55, 0.50],
            ("demo_nli", "de"): [0.70, 0.68, 0.72], ("demo_nli", "fr"): [0.60, 0.61, 0.65]}
MACRO_F1_OFFSET = 0.05

_counter = itertools.count(1)


def write_result(store: RunStore, type_: str, intermediate: str, language: str, *, seed: int = 1, shots=None,
                 shot_set=None, metrics=None, validation=None, status: str = "done") -> str:
    digest = f"{next(_counter):016x}" * 4  # stage folders use the first 16 characters
    labels = {"intermediate": intermediate, "task": "demo_sentiment", "language": language, "seed": seed}
    if shots is not None:
        labels.update(shots=shots, shot_set=shot_set)
    result = {"hash": digest, "type": type_, "status": status, "task": "demo_sentiment", "language": language,
              "labels": labels, "seed": seed, "metric": "accuracy", "seconds": 1.0}
    if metrics is not None:
        result.update(metrics=metrics, evaluation={"split": "test", "language": language, "examples": 200})
    if validation is not None:
        result["validation"] = validation
    atomic_write_json(store.stage_dir(digest) / "result.json", result)
    return digest


def scores(value: float) -> dict:
    return {"accuracy": value, "macro_f1": value - MACRO_F1_OFFSET}


@pytest.fixture
def grid(tmp_path):
    """A finished experiment: [none, demo_nli] x [de, fr] x K [0, 4] x 3 shot sets, seed 1."""
    store = RunStore(tmp_path / "runs")
    stages = []
    for intermediate in ("none", "demo_nli"):
        stages.append(write_result(store, "target", intermediate, "en", validation={"accuracy": 0.9}))
        for language in ("en", "de", "fr"):
            stages.append(write_result(store, "evaluate", intermediate, language, shots=0,
                                       metrics=scores(ZERO_SHOT[intermediate, language])))
        for language in ("de", "fr"):
            for shot_set, value in enumerate(FEW_SHOT[intermediate, language]):
                stages.append(write_result(store, "fewshot", intermediate, language, shots=4, shot_set=shot_set,
                                           metrics=scores(value)))
    stages.append(write_result(store, "fewshot", "none", "de", shots=4, shot_set=3, metrics=scores(0.0), status="failed"))
    stages.append(f"{next(_counter):016x}" * 4)  # never ran: no folder at all
    experiment = {"id": "20240101-grid-abcd", "name": "grid", "intermediate": ["none", "demo_nli"],
                  "languages": ["de", "fr"], "metric": "accuracy", "stages": stages}
    return store, experiment


def table(tables, shots):
    return next(t for t in tables if t["shots"] == shots)


def test_rows_are_tidy_and_skip_unfinished_stages(grid):
    store, experiment = grid
    rows = experiment_rows(store, experiment)
    # 6 evaluate + 12 fewshot stages x 2 metrics, + 2 target validation rows
    assert len(rows) == (6 + 12) * 2 + 2
    assert all(set(TIDY_COLUMNS) <= set(row) for row in rows)
    assert all(row["experiment"] == "20240101-grid-abcd" and len(row["stage"]) == 12 for row in rows)
    assert not any(row["value"] == 0.0 for row in rows), "the failed stage is left out"
    validation = [r for r in rows if r["split"] == "validation"]
    assert [(r["stage_type"], r["language"], r["shots"], r["value"]) for r in validation] == [("target", "en", None, 0.9)] * 2
    few = [r for r in rows if r["stage_type"] == "fewshot" and r["metric"] == "accuracy"
           and r["intermediate"] == "demo_nli" and r["language"] == "fr"]
    assert [(r["shots"], r["shot_set"], r["split"], r["value"]) for r in few] == [
        (4, 0, "test", 0.60), (4, 1, "test", 0.61), (4, 2, "test", 0.65)]
    zero = [r for r in rows if r["stage_type"] == "evaluate" and r["metric"] == "macro_f1" and r["language"] == "en"]
    assert [(r["intermediate"], r["shots"], r["shot_set"]) for r in zero] == [("none", 0, None), ("demo_nli", 0, None)]
    assert zero[0]["value"] == pytest.approx(0.90 - MACRO_F1_OFFSET)


def test_summary_mean_and_std_over_shot_sets(grid):
    store, experiment = grid
    tables = summary_tables(experiment_rows(store, experiment), experiment)
    assert [(t["task"], t["metric"], t["shots"]) for t in tables] == [("demo_sentiment", "accuracy", 0),
                                                                     ("demo_sentiment", "accuracy", 4)]
    k4 = table(tables, 4)
    assert k4["intermediates"] == ["none", "demo_nli"]
    mean, std = k4["cells"]["none"]["de"]
    assert mean == pytest.approx((0.62 + 0.64 + 0.69) / 3)
    # sample std by hand: deviations -0.03, -0.01, +0.04 -> sqrt((9 + 1 + 16) e-4 / 2)
    assert std == pytest.approx((0.0026 / 2) ** 0.5)
    assert std == pytest.approx(statistics.stdev([0.62, 0.64, 0.69]))
    assert k4["cells"]["demo_nli"]["fr"] == pytest.approx((0.62, statistics.stdev([0.60, 0.61, 0.65])))
    assert k4["cells"]["none"]["en"] == (None, None), "English has no few-shot cell"

    k0 = table(tables, 0)
    assert k0["languages"] == ["en", "de", "fr"]
    assert k0["cells"]["demo_nli"]["en"] == (pytest.approx(0.92), 0.0)


def test_avg_column_averages_target_languages_per_shot_set(grid):
    store, experiment = grid
    tables = summary_tables(experiment_rows(store, experiment), experiment)
    per_set = [(de + fr) / 2 for de, fr in zip(FEW_SHOT["none", "de"], FEW_SHOT["none", "fr"])]  # 0.565, 0.595, 0.595
    mean, std = table(tables, 4)["cells"]["none"]["avg"]
    assert mean == pytest.approx(sum(per_set) / 3)
    assert std == pytest.approx(statistics.stdev(per_set))
    assert std != pytest.approx(statistics.stdev(FEW_SHOT["none", "de"] + FEW_SHOT["none", "fr"]))
    # zero-shot: one draw, English left out of the average
    assert table(tables, 0)["cells"]["none"]["avg"] == (pytest.approx(0.55), 0.0)


def test_table_uses_the_experiment_metric(grid):
    store, experiment = grid
    tables = summary_tables(experiment_rows(store, experiment), {**experiment, "metric": "macro_f1"})
    assert {t["metric"] for t in tables} == {"macro_f1"}
    assert table(tables, 0)["cells"]["none"]["de"][0] == pytest.approx(0.60 - MACRO_F1_OFFSET)


def test_headline_is_the_best_average_at_the_largest_k(grid):
    store, experiment = grid
    best = headline(summary_tables(experiment_rows(store, experiment), experiment))
    assert best["shots"] == 4 and best["intermediate"] == "demo_nli" and best["metric"] == "accuracy"
    assert best["value"] == pytest.approx((0.70 + 0.68 + 0.72 + 0.60 + 0.61 + 0.65) / 6)
    assert headline([]) is None


def test_mean_and_std_pool_seeds_and_shot_sets(tmp_path):
    store = RunStore(tmp_path / "runs")
    values = {(1, 0): 0.5, (1, 1): 0.6, (2, 0): 0.7, (2, 1): 0.9}
    stages = [write_result(store, "fewshot", "none", "de", seed=seed, shots=8, shot_set=shot_set, metrics={"f1": value})
              for (seed, shot_set), value in values.items()]
    experiment = {"id": "e", "intermediate": ["none"], "languages": ["de"], "metric": "f1", "stages": stages}
    [only] = summary_tables(experiment_rows(store, experiment), experiment)
    assert only["cells"]["none"]["de"] == (pytest.approx(0.675), pytest.approx(statistics.stdev(values.values())))
    assert only["cells"]["none"]["avg"] == only["cells"]["none"]["de"]


def test_md_export_shows_mean_std_and_delta_vs_none(grid):
    store, experiment = grid
    rows = experiment_rows(store, experiment)
    text = export(rows, summary_tables(rows, experiment), "md")
    lines = text.splitlines()
    assert "### demo_sentiment · accuracy (%) · K=0 (zero-shot)" in lines
    assert "### demo_sentiment · accuracy (%) · K=4" in lines
    assert "| intermediate | en | de | fr | avg | avg+en |" in lines, "K=0: the average with English too, as XTREME's"
    assert "| none | 90.0 | 60.0 | 50.0 | 55.0 | 66.7 |" in lines, "std 0 and no Δ for the baseline"
    assert "| demo_nli | 92.0 (+2.0) | 66.0 (+6.0) | 58.0 (+8.0) | 62.0 (+7.0) | 72.0 (+5.3) |" in lines
    k4 = lines[lines.index("### demo_sentiment · accuracy (%) · K=4") + 2:]
    assert k4[0] == "| intermediate | de | fr | avg |", "columns without values (en at K=4) are left out"
    assert k4[1] == "|---|---:|---:|---:|"
    assert k4[2] == "| none | 65.0 ± 3.6 | 52.0 ± 2.6 | 58.5 ± 1.7 |"
    assert k4[3].startswith("| demo_nli | 70.0 ± 2.0 (+5.0*) | 62.0 ± 2.6 (+10.0*) |"), "paired Δ, interval excludes 0"


def test_csv_export_has_the_tidy_columns(grid):
    store, experiment = grid
    rows = experiment_rows(store, experiment)
    text = export(rows, [], "csv")
    reader = csv.DictReader(io.StringIO(text))
    assert set(TIDY_COLUMNS) <= set(reader.fieldnames)
    assert [c for c in reader.fieldnames if c in TIDY_COLUMNS] == list(TIDY_COLUMNS), "in this order"
    parsed = list(reader)
    assert len(parsed) == len(rows)
    row = next(r for r in parsed if r["intermediate"] == "demo_nli" and r["language"] == "de" and r["shot_set"] == "2"
               and r["metric"] == "accuracy")
    assert (row["experiment"], row["task"], row["shots"], row["seed"], row["split"]) == (
        "20240101-grid-abcd", "demo_sentiment", "4", "1", "test")
    assert float(row["value"]) == pytest.approx(0.72)
    zero = next(r for r in parsed if r["stage_type"] == "evaluate" and r["language"] == "en")
    assert zero["shot_set"] == "" and zero["shots"] == "0"


def test_json_export_is_the_rows(grid):
    store, experiment = grid
    rows = experiment_rows(store, experiment)
    assert json.loads(export(rows, [], "json")) == rows


def test_unknown_export_format(grid):
    with pytest.raises(ValueError):
        export([], [], "xlsx")


def test_english_listed_as_target_language_is_one_column(grid):
    store, experiment = grid
    experiment = {**experiment, "languages": ["en", "de", "fr"]}
    tables = summary_tables(experiment_rows(store, experiment), experiment)
    assert table(tables, 0)["languages"] == ["en", "de", "fr"]
    title, header, body = table_lines(table(tables, 0))
    assert header == ["intermediate", "en", "de", "fr", "avg", "avg+en"]


def test_deltas_table_pairs_shot_sets_and_marks_the_cells(grid):
    from xtui.results import delta_rows
    from xtui.stats import t_test_p

    store, experiment = grid
    tables = summary_tables(experiment_rows(store, experiment), experiment, holm=True)
    deltas = {(d["task"], d["shots"], d["intermediate"], d["column"]): d for d in delta_rows(tables, "e")}
    de = deltas[("demo_sentiment", 4, "demo_nli", "de")]
    differences = [a - b for a, b in zip(FEW_SHOT["demo_nli", "de"], FEW_SHOT["none", "de"])]  # .08 .04 .03
    assert de["mean"] == pytest.approx(0.05) and de["n"] == 3 and de["metric"] == "accuracy"
    assert de["p"] == pytest.approx(t_test_p(differences))
    assert 0.03 - 1e-9 <= de["low"] < de["high"] <= 0.08 + 1e-9 and de["significant"] == (de["p_holm"] < 0.05)
    zero_shot = deltas[("demo_sentiment", 0, "demo_nli", "de")]
    assert zero_shot["n"] == 1 and zero_shot["low"] is None and not zero_shot["significant"], "one draw: no interval"
    text = export([], tables, "csv", "deltas", "e")
    assert text.splitlines()[0] == "experiment,task,shots,intermediate,column,metric,mean,low,high,p,p_holm,n,significant"
    assert len(text.splitlines()) == 1 + len(deltas)
