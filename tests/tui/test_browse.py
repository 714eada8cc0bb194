"""History, a run's detail view, the results heat map, export, compare and the plugins view (Pilot)."""

from __future__ import annotations

import csv
import io

from textual.widgets import DataTable, Input, Static

from xtui.results import experiment_rows, export, summary_tables
from xtui.tui.compare import CompareScreen
from xtui.tui.experiment_screen import ExperimentScreen
from xtui.tui.experiment_view import ExperimentView
from xtui.tui.fewshot_curve import FewshotCurve
from xtui.tui.heat_map import HeatMap
from xtui.tui.history import HistoryScreen
from xtui.tui.results_view import ResultsView

from .conftest import make_app, wait_for


def cells(table: DataTable) -> list:
    return [[str(c) for c in table.get_row_at(i)] for i in range(table.row_count)]


async def test_history_lists_sorts_filters_and_opens(store, two_experiments):
    app = make_app(store)
    async with app.run_test(size=(160, 48)) as pilot:
        screen = app.screen
        assert isinstance(screen, HistoryScreen)
        table = screen.query_one("#history-table", DataTable)
        await wait_for(pilot, lambda: table.row_count == 2)
        rows = cells(table)
        assert rows[0][2] == "higher-lr" and rows[1][2] == "baseline"  # newest first
        assert "✓ done" in rows[0][1] and "none demo_nli → demo_sentiment" == rows[0][4]
        assert rows[1][8] == "2023-11-14 22:13" and rows[1][9] == "59s"
        assert rows[0][3].startswith("accuracy 66.0 (demo_nli, K=4)")
        await pilot.press("o")  # sort by name
        assert screen.sort_by == "name" and cells(table)[0][2] == "higher-lr"
        await pilot.press("O")
        assert cells(table)[0][2] == "baseline"
        await pilot.press("slash")
        await pilot.press(*"higher")
        assert [r[2] for r in cells(table)] == ["higher-lr"]
        assert "1 of 2 experiments" in str(screen.query_one("#history-summary", Static).render())
        await pilot.press("escape")
        assert table.row_count == 2 and table.has_focus
        table.move_cursor(row=[r[2] for r in cells(table)].index("baseline"))
        await pilot.press("enter")
        await wait_for(pilot, lambda: isinstance(app.screen, ExperimentScreen))
        assert app.screen.experiment_id == "20231114-221320-baseline-aaaa"


async def test_detail_view_shows_stages_results_spec_and_exports(store, two_experiments, tmp_path):
    first, _ = two_experiments
    app = make_app(store)
    async with app.run_test(size=(160, 48)) as pilot:
        app.push_screen(ExperimentScreen(first["id"]))
        await wait_for(pilot, lambda: isinstance(app.screen, ExperimentScreen) and app.screen.query(ExperimentView))
        view = app.screen.query_one(ExperimentView)
        await wait_for(pilot, lambda: view.updates > 0 and view.query_one("#stage-table", DataTable).row_count == 17)
        stage_rows = cells(view.query_one("#stage-table", DataTable))
        assert sum("done" in r[0] for r in stage_rows) == 17
        header = str(view.query_one("#experiment-header", Static).render())
        assert "17/17 stages done" in header and "59s" in header
        # the results tab: a heat map per K with Δ against none, and the few-shot curve
        await pilot.press("2")
        results = view.query_one(ResultsView)
        await wait_for(pilot, lambda: results.tables)
        heat = results.query_one(HeatMap)
        assert [str(c.label) for c in heat.columns.values()] == ["intermediate", "en", "de", "fr", "avg", "avg+en"]
        rows = cells(heat)
        assert rows[0] == ["none", "81.0", "62.0", "55.0", "58.5", "66.0"]
        assert rows[1] == ["demo_nli", "84.0 (+3.0)", "66.0 (+4.0)", "54.0 (-1.0)", "60.0 (+1.5)", "68.0 (+2.0)"]
        # two shot sets give too few pairs to test a Δ: nothing is coloured (tests/tui/test_results_view.py
        # has the significant case)
        assert all(not cell.style for cell in heat.get_row_at(1)[1:])
        await pilot.press("right_square_bracket")
        assert results.tables[results.index]["shots"] == 4
        rows = cells(heat)
        assert rows[0] == ["none", "66.0 ± 2.8", "59.0 ± 1.4", "62.5 ± 2.1"]
        assert rows[1][1] == "70.0 ± 1.4 (+4.0)"
        curve = results.query_one(FewshotCurve)
        assert "K (shots)" in curve.render().plain and "intermediate none" in curve.render().plain
        heat.focus()
        await pilot.press("down")  # the curve follows the selected intermediate
        assert "intermediate demo_nli" in curve.render().plain
        # export in every format of `xtui runs export`
        rows_expected = experiment_rows(store, first)
        tables_expected = summary_tables(rows_expected, first)
        for fmt in ("csv", "json", "md"):
            await pilot.press("e")
            await pilot.pause(0.1)
            path_input = app.screen.query_one("#path-input", Input)
            path_input.value = str(tmp_path / f"out.{fmt}")
            await pilot.click(f"#format-{fmt}")
            path_input.value = str(tmp_path / f"out.{fmt}")
            await pilot.click("#ok")
            await pilot.pause(0.1)
            assert (tmp_path / f"out.{fmt}").read_text() == export(rows_expected, tables_expected, fmt)
        exported = list(csv.DictReader(io.StringIO((tmp_path / "out.csv").read_text())))
        assert len(exported) == len(rows_expected)
        await pilot.press("3")
        spec = view.spec_text
        assert 'name = "baseline"' in spec and "[target]" in spec


async def test_compare_two_experiments(store, two_experiments):
    app = make_app(store)
    async with app.run_test(size=(160, 48)) as pilot:
        table = app.screen.query_one("#history-table", DataTable)
        await wait_for(pilot, lambda: table.row_count == 2)
        await pilot.press("c")  # nothing marked: told, nothing happens
        assert isinstance(app.screen, HistoryScreen)
        await pilot.press("space", "space", "c")
        await wait_for(pilot, lambda: isinstance(app.screen, CompareScreen))
        screen = app.screen
        diff = screen.query_one("#spec-diff", DataTable)
        await wait_for(pilot, lambda: diff.row_count > 0)
        assert cells(diff) == [["name", "baseline", "higher-lr"], ["target.learning_rate", "0.0001", "0.0003"]] or \
            cells(diff) == [["name", "higher-lr", "baseline"], ["target.learning_rate", "0.0003", "0.0001"]]
        shared = screen.query_one("#shared-results", DataTable)
        rows = cells(shared)
        assert len(rows) == 2 * 5 + 2 * 3  # K=0: 2 intermediates x (en de fr avg avg+en); K=4: 2 x (de fr avg)
        first_row = rows[0]
        assert first_row[:4] == ["demo_sentiment", "0", "none", "en"]
        assert {first_row[4], first_row[5]} == {"81.0", "83.0"} and first_row[6] in ("+2.0", "-2.0")
        await pilot.press("escape")
        assert isinstance(app.screen, HistoryScreen)


async def test_plugins_view_lists_plugins_failures_and_tasks(store):
    from xtui.plugins import PluginInfo, load_plugins

    registry = load_plugins()
    broken = PluginInfo("broken", "broken_plugin", "broken-plugin", "0.3", error="ImportError: No module named 'nope'")
    registry.plugins.append(broken)
    try:
        app = make_app(store, registry=registry, start="plugins")
        async with app.run_test(size=(160, 48)) as pilot:
            await pilot.pause(0.2)
            plugins = cells(app.screen.query_one("#plugins-table", DataTable))
            assert ["xtreme", "xtui"] == [r[0] for r in plugins if r[0] == "xtreme"] + [r[1] for r in plugins if r[0] == "xtreme"]
            assert any(r[0] == "broken" and r[2] == "0.3" and "failed: ImportError" in r[4] for r in plugins)
            tasks = {r[0]: r for r in cells(app.screen.query_one("#tasks-table", DataTable))}
            assert tasks["xnli"][1:4] == ["classification", "accuracy", "target"] or tasks["xnli"][1] == "classification"
            assert "sw" in tasks["xnli"][5].split() and tasks["demo_nli"][3] == "intermediate"
            assert "1 failed" in str(app.screen.query_one("#plugins-title", Static).render())
    finally:
        registry.plugins.remove(broken)
