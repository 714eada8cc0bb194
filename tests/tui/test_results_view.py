"""The results tab: the heat map shows its columns whole beside (or above) the few-shot curve, and the curve
draws each K's spread over shot sets on an axis that does not magnify noise."""

from __future__ import annotations

import pytest
from textual.coordinate import Coordinate

from xtui.tui.experiment_view import ExperimentView
from xtui.tui.fewshot_curve import FewshotCurve
from xtui.tui.heat_map import HeatMap
from xtui.tui.results_view import ResultsView

from .conftest import make_app, screen_text, wait_for
from .fake_runs import T0

BASELINE = "20231114-221320-baseline-aaaa"


async def open_results(pilot) -> ResultsView:
    app = pilot.app
    await wait_for(pilot, lambda: app.screen.query(ExperimentView))
    view = app.screen.query_one(ExperimentView)
    results = view.query_one(ResultsView)
    await wait_for(pilot, lambda: view.updates > 0 and results.tables, what="results")
    await pilot.press("2")
    await pilot.pause(0.3)
    return results


@pytest.mark.parametrize("size", [(80, 24), (100, 30), (120, 36), (160, 48)], ids=lambda s: f"{s[0]}x{s[1]}")
async def test_the_heat_map_shows_every_column_whole_and_the_curve_beside_or_below(store, two_experiments, size):
    app = make_app(store, start="live", watch=BASELINE)
    async with app.run_test(size=size) as pilot:
        results = await open_results(pilot)
        for _ in range(len(results.tables)):
            heat = results.query_one(HeatMap)
            curve = results.query_one(FewshotCurve)
            await wait_for(pilot, lambda: heat.virtual_size.width > 0, what="the heat map measured")
            await pilot.pause(0.2)
            assert not heat.region.overlaps(curve.region)
            # every column fits: nothing to scroll sideways, nothing hidden under the curve
            assert heat.scrollable_content_region.width >= heat.virtual_size.width, (
                f"{size}: the heat map is {heat.scrollable_content_region.width} wide for "
                f"{heat.virtual_size.width} of columns")
            assert curve.region.width >= 30 and curve.region.height >= 8, curve.region
            await pilot.press("right_square_bracket")


def k_tables(values_by_k: dict) -> list:
    """Summary tables of one task and intermediate `none`, language de: K -> list of shot-set scores (0-1)."""
    import statistics

    tables = []
    for shots, values in sorted(values_by_k.items()):
        mean = statistics.fmean(values)
        std = statistics.stdev(values) if len(values) > 1 else 0.0
        tables.append({"task": "demo_sentiment", "metric": "accuracy", "shots": shots, "languages": ["de"], "columns": ["de"],
                       "intermediates": ["none"], "cells": {"none": {"de": (mean, std), "avg": (mean, std)}}})
    return tables


def axis_labels(text: str) -> list:
    """The numbers on the curve's y axis, as drawn (a label left of ┤)."""
    import re

    return [float(found) for found in re.findall(r"(-?\d+(?:\.\d+)?)┤", text)]


def plot_interior(text: str) -> str:
    """What is drawn inside the plot's frame (between its left axis and its right edge)."""
    inside = []
    for line in text.splitlines():
        left = min((i for i in (line.find("┤"), line.find("│")) if i >= 0), default=-1)
        right = line.rfind("│")
        if 0 <= left < right:
            inside.append(line[left + 1:right])
    return "\n".join(inside)


def test_the_series_carry_the_spread_over_shot_sets():
    from xtui.tui.fewshot_curve import curve_series

    series = curve_series(k_tables({0: [0.60], 4: [0.64, 0.68], 8: [0.70, 0.71, 0.72]}), "demo_sentiment", "none")
    (k0, mean0, std0), (k4, mean4, std4), (k8, mean8, std8) = series["de"]
    assert (k0, mean0, std0) == (0, 60.0, 0.0)
    assert k4 == 4 and mean4 == pytest.approx(66.0) and std4 == pytest.approx(2.8284, abs=1e-3)
    assert k8 == 8 and mean8 == pytest.approx(71.0) and std8 == pytest.approx(1.0)


def test_the_y_axis_keeps_a_readable_span_and_fits_the_error_bars():
    from xtui.tui.fewshot_curve import MIN_SPAN, curve_series, y_range

    flat = curve_series(k_tables({0: [0.7000], 4: [0.7001, 0.7003]}), "demo_sentiment", "none")
    low, high = y_range(flat)
    assert high - low >= MIN_SPAN >= 5 and low <= 70.0 <= high  # 0.02 points do not fill the height
    wide = curve_series(k_tables({0: [0.30], 4: [0.50, 0.90]}), "demo_sentiment", "none")
    low, high = y_range(wide)
    mean, std = 70.0, 28.2843
    assert low <= 30.0 and high >= mean + std - 1e-6 and high <= 100.0 and low >= 0.0
    assert high - low <= 1.2 * (mean + std - 30.0)  # a wide spread is not padded further
    top = curve_series(k_tables({0: [0.99], 4: [0.995, 1.0]}), "demo_sentiment", "none")
    low, high = y_range(top)
    assert high <= 100.0 and high - low >= MIN_SPAN


async def test_the_curve_draws_error_bars_on_a_span_that_does_not_magnify_noise(store):
    from textual.app import App

    class One(App):
        def compose(self):
            yield FewshotCurve(id="curve")

    app = One()
    async with app.run_test(size=(70, 24)) as pilot:
        curve = app.query_one(FewshotCurve)
        # K=4 spreads over its shot sets: bars above and below its mean
        curve.show(k_tables({0: [0.60], 4: [0.60, 0.72], 8: [0.70, 0.71]}), "demo_sentiment", "none", "accuracy")
        await pilot.pause(0.2)
        text = curve.render().plain
        assert plot_interior(text).count("│") >= 2, text
        # scores 0.02 points apart: the axis spans at least MIN_SPAN points, not 0.02
        curve.show(k_tables({0: [0.7000], 4: [0.7001, 0.7003]}), "demo_sentiment", "none", "accuracy")
        await pilot.pause(0.2)
        labels = axis_labels(curve.render().plain)
        assert labels and max(labels) - min(labels) >= 5, curve.render().plain


async def test_one_heat_map_per_target_switchable_plus_the_overall_one():
    """Several targets: t walks xnli -> udpos -> xquad -> overall (at the K shown where the target has it),
    [ ] switch K within the target; each heat map has that target's own languages (the overall one the
    targets), the same cells as the printed tables."""
    import tempfile
    from pathlib import Path

    from textual.app import App

    from unit.test_results_targets import grid as grid_fixture
    from xtui.results import experiment_rows, summary_tables, table_columns

    store, experiment = grid_fixture.__wrapped__(Path(tempfile.mkdtemp()))
    rows = experiment_rows(store, experiment)
    tables = summary_tables(rows, experiment)

    class Host(App):
        def compose(self):
            yield ResultsView()

    async with Host().run_test(size=(160, 48)) as pilot:
        results = pilot.app.query_one(ResultsView)
        results.show(tables, experiment, rows)
        results.query_one(HeatMap).focus()
        await pilot.pause()

        def shown():
            heat = results.query_one(HeatMap)
            table = results.tables[results.index]
            return table["task"], table["shots"], [str(c.label) for c in heat.columns.values()]

        assert shown() == ("xnli", 0, ["intermediate", "en", "de", "sw", "avg", "avg+en"])
        await pilot.press("right_square_bracket")
        assert shown()[:2] == ("xnli", 4)
        await pilot.press("t")
        assert shown() == ("udpos", 4, ["intermediate", "de", "es", "avg"])  # the same K, udpos's own languages
        await pilot.press("right_square_bracket")
        assert shown()[:2] == ("udpos", 0)  # K wraps within the target
        await pilot.press("t")
        assert shown()[:2] == ("xquad", 0)
        await pilot.press("t")
        task, shots, columns = shown()
        assert (task, shots) == ("overall", 0) and columns == ["intermediate"] + table_columns(results.tables[results.index])
        assert {"xnli", "udpos", "xquad"} <= set(columns)
        title = str(results.query_one("#results-title").render())
        assert "target: xnli · udpos · xquad · overall" in title
        await pilot.press("t")
        assert shown()[0] == "xnli"


def test_the_heat_map_colours_only_the_significant_deltas():
    """A Δ whose paired interval excludes 0 is coloured and marked *, as in the printed tables; one that
    noise could explain (interval across 0, or too few pairs to test) is written but not coloured."""
    from xtui.tui.heat_map import heat_cells

    table = {"task": "xnli", "shots": 4, "columns": ["de", "sw"], "languages": ["de", "sw"], "intermediates": ["none", "anli"],
             "cells": {"none": {"de": (0.60, 0.01), "sw": (0.50, 0.02), "avg": (0.55, 0.01)},
                       "anli": {"de": (0.66, 0.01), "sw": (0.52, 0.05), "avg": (0.59, 0.02)}},
             "deltas": {"anli": {"de": {"mean": 0.06, "low": 0.05, "high": 0.07, "p": 0.001, "n": 5, "excludes_zero": True},
                                 "sw": {"mean": 0.02, "low": -0.03, "high": 0.07, "p": 0.4, "n": 5, "excludes_zero": False},
                                 "avg": None}}}
    columns, rows = heat_cells(table)
    assert columns == ["de", "sw", "avg"]
    anli = dict(zip(columns, dict(rows)["anli"]))
    assert anli["de"][0].endswith("(+6.0)*") and "on rgb(0," in anli["de"][1]
    assert anli["sw"][0].endswith("(+2.0)") and anli["sw"][1] == ""
    assert anli["avg"][0].endswith("(+4.0)") and anli["avg"][1] == ""  # too few pairs to test: not coloured


async def test_f_saves_the_experiments_figures_where_the_app_says(store, two_experiments):
    """The figures of `xtui runs plot` from the results tab: PNG, SVG and PDF under the runs folder."""
    pytest.importorskip("matplotlib")
    app = make_app(store, start="live", watch=BASELINE)
    async with app.run_test(size=(120, 36)) as pilot:
        await open_results(pilot)
        await pilot.press("f")
        folder = store.home / "figures" / BASELINE
        await wait_for(pilot, lambda: folder.is_dir() and any(folder.glob("*.pdf")), what="the figures", timeout=60)
        await wait_for(pilot, lambda: any("figure files to" in str(n.message) for n in app._notifications),
                       what="the notification", timeout=30)
        names = sorted(p.name for p in folder.iterdir())
        assert {p.suffix for p in folder.iterdir()} == {".png", ".svg", ".pdf"}
        assert f"{BASELINE}-demo_sentiment-heatmap-K0.pdf" in names and f"{BASELINE}-demo_sentiment-fewshot.svg" in names
        assert (folder / names[0]).stat().st_size > 1000


def test_the_heat_map_marks_the_same_cells_as_the_printed_tables():
    """One experiment's tables (4 shot sets: a consistent gain in de, noise in sw): the cells runs show marks
    * are exactly the ones the heat map marks and colours."""
    from xtui.results import summary_tables, table_lines
    from xtui.tui.heat_map import heat_cells

    rows = []
    for shot_set, (de_gain, sw_gain) in enumerate(((0.05, 0.03), (0.06, -0.04), (0.04, 0.05), (0.05, -0.03))):
        for intermediate, (de, sw) in (("none", (0.60, 0.50)), ("anli", (0.60 + de_gain, 0.50 + sw_gain))):
            for language, value in (("de", de + 0.01 * shot_set), ("sw", sw + 0.01 * shot_set)):
                rows.append({"experiment": "e", "stage": f"{intermediate}{language}{shot_set}", "stage_type": "fewshot",
                             "intermediate": intermediate, "task": "xnli", "language": language, "shots": 4,
                             "shot_set": shot_set, "seed": 1, "split": "test", "metric": "accuracy", "value": value})
    experiment = {"id": "e", "intermediate": ["none", "anli"], "targets": ["xnli"], "metric": "accuracy",
                  "languages": ["de", "sw"], "targets_info": {"xnli": {"metric": "accuracy", "shown": ["accuracy"],
                                                                       "languages": ["de", "sw"]}}}
    (table,) = summary_tables(rows, experiment)
    _, header, body = table_lines(table)
    printed = {(row[0], column) for row in body for column, cell in zip(header[1:], row[1:]) if "*" in cell}
    columns, cells = heat_cells(table)
    drawn = {(name, column) for name, row in cells for column, (text, style) in zip(columns, row) if text.endswith("*")}
    coloured = {(name, column) for name, row in cells for column, (text, style) in zip(columns, row) if style}
    assert printed == drawn == coloured == {("anli", "de"), ("anli", "avg")}, (printed, drawn, coloured)  # not sw


async def test_results_selected_on_target_dev_are_marked_not_zero_shot_in_the_app(store, two_experiments):
    """select = "target-dev": every cell of the heat map carries the mark, the title says "not zero-shot"
    and the legend says what the mark means; the zero-shot experiment beside it shows neither."""
    from xtui.selection import LEGEND, NOT_ZERO_SHOT

    from .fake_runs import write_experiment

    oracle = "20231116-080000-oracle-cccc"
    # its own learning rate: its own stages (fake stage hashes are made of the learning rate and the grid)
    write_experiment(store, oracle, name="oracle", created=T0 + 70_000, learning_rate=5e-5, select="target-dev")
    for watched, marked in ((oracle, True), (BASELINE, False)):
        app = make_app(store, start="live", watch=watched)
        async with app.run_test(size=(160, 48)) as pilot:
            results = await open_results(pilot)
            await wait_for(pilot, lambda: results.query_one(HeatMap).row_count > 0, what="the heat map")
            heat = results.query_one(HeatMap)
            cells = [str(heat.get_cell_at(Coordinate(row, column)))
                     for row in range(heat.row_count) for column in range(1, len(heat.columns))]
            title = str(results.query_one("#results-title").render())
            screen = screen_text(app)
            if marked:
                assert cells and all(cell.endswith(f" {NOT_ZERO_SHOT}") for cell in cells), cells
                assert "K=0 (not zero-shot †)" in title and LEGEND in screen
            else:
                assert not any(NOT_ZERO_SHOT in cell for cell in cells) and "K=0 (zero-shot)" in title
                assert "not zero-shot" not in screen
