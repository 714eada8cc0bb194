"""The whole flow with real tiny training: compose → launch → quit and reopen while it runs → watch it
finish → results heat map and few-shot curve → history → a second run that reuses stages → compare."""

from __future__ import annotations

import pytest
from textual.widgets import DataTable, SelectionList

from xtui.tui.choice_dialog import ChoiceDialog
from xtui.tui.compare import CompareScreen
from xtui.tui.compose import ComposeScreen
from xtui.tui.experiment_view import ExperimentView
from xtui.tui.fewshot_curve import FewshotCurve
from xtui.tui.heat_map import HeatMap
from xtui.tui.history import HistoryScreen
from xtui.tui.results_view import ResultsView

from .conftest import make_app, screen_text, wait_for
from .test_browse import cells
from .test_compose import fill, settle

pytestmark = pytest.mark.slow


async def compose_tiny(pilot, screen, name: str, shot_sets: int) -> None:
    await fill(pilot, screen, "f-name", name)
    await fill(pilot, screen, "f-model", "tiny")
    languages = screen.query_one("#f-target-languages", SelectionList)
    languages.deselect_all()
    languages.select("de")
    await fill(pilot, screen, "f-target-max_steps", "5")
    await fill(pilot, screen, "f-target-learning_rate", "1e-3")
    await fill(pilot, screen, "f-fewshot-shots", "0, 4")
    await fill(pilot, screen, "f-fewshot-shot_sets", str(shot_sets))
    await fill(pilot, screen, "f-fewshot-steps", "2")
    await settle(pilot, screen)


async def watch_until_done(pilot, app, timeout: float = 150.0) -> ExperimentView:
    await wait_for(pilot, lambda: app.screen.query(ExperimentView), what="dashboard")
    view = app.screen.query_one(ExperimentView)
    await wait_for(pilot, lambda: view.status == "done", timeout=timeout, what="experiment done")
    await pilot.pause(0.5)
    return view


async def test_compose_launch_reopen_watch_results_history_compare(store):
    app = make_app(store, start="compose")
    async with app.run_test(size=(120, 36)) as pilot:
        screen = app.screen
        assert isinstance(screen, ComposeScreen)
        await compose_tiny(pilot, screen, "e2e", shot_sets=2)
        assert screen.plan_error is None, screen.plan_error
        assert screen.plan_summary["stages"] == 5 and screen.plan_summary["done"] == 0
        await pilot.press("ctrl+r")
        await wait_for(pilot, lambda: app.watching and app.current_mode == "live", what="watching")
        first_id = app.watching
        await wait_for(pilot, lambda: app.screen.query(ExperimentView), what="dashboard")
        view = app.screen.query_one(ExperimentView)
        await wait_for(pilot, lambda: view.status == "running" and view.counts.get("running"), timeout=90,
                       what="a running stage")
        # leave it running and close the app
        await pilot.press("ctrl+q")
        await wait_for(pilot, lambda: isinstance(app.screen, ChoiceDialog))
        await pilot.press("l")
    supervisor = app.launched[first_id].process
    assert supervisor.poll() is None, "leaving the app must not stop the experiment"

    # reopened while it runs: the app watches it again, loss curve and scores fill in
    app = make_app(store)
    async with app.run_test(size=(120, 36)) as pilot:
        assert app.current_mode == "live" and app.watching == first_id
        view = await watch_until_done(pilot, app)
        target = next(s for s in view.stages.values() if s.type == "target")
        assert len(target.losses) == 5 and target.step == 5
        assert view.counts == {"done": 5}
        text = screen_text(app)
        assert "5/5 stages done" in text
        await pilot.press("2")
        results = view.query_one(ResultsView)
        await wait_for(pilot, lambda: len(results.tables) == 2, what="results")
        heat = results.query_one(HeatMap)
        assert [str(c.label) for c in heat.columns.values()] == ["intermediate", "en", "de", "avg", "avg+en"]  # avg leaves English out; avg+en as XTREME averages
        assert cells(heat)[0][0] == "none"
        await pilot.press("right_square_bracket")
        assert results.tables[results.index]["shots"] == 4
        curve = results.query_one(FewshotCurve).render().plain
        assert "K (shots)" in curve and "de" in curve
        # history has it
        await pilot.press("f4")
        await wait_for(pilot, lambda: isinstance(app.screen, HistoryScreen) and app.screen.loaded)
        history = app.screen.query_one("#history-table", DataTable)
        assert cells(history)[0][2] == "e2e" and "done" in cells(history)[0][1]
        # a second run with one more shot set reuses every finished stage
        await pilot.press("f2")
        screen = app.screen
        await compose_tiny(pilot, screen, "e2e-more", shot_sets=3)
        assert screen.plan_summary["stages"] == 6 and screen.plan_summary["done"] == 5
        await pilot.press("ctrl+r")
        await wait_for(pilot, lambda: app.watching and app.watching != first_id, what="second launch")
        second_id = app.watching
        await wait_for(pilot, lambda: app.screen.query_one(ExperimentView).experiment_id == second_id)
        view = await watch_until_done(pilot, app, timeout=90)
        assert view.counts == {"reused": 5, "done": 1}
        # compare the two
        await pilot.press("f4")
        await wait_for(pilot, lambda: isinstance(app.screen, HistoryScreen) and app.screen.query_one(
            "#history-table", DataTable).row_count == 2, what="history of two")
        await pilot.pause(0.3)
        app.screen.query_one("#history-table", DataTable).move_cursor(row=0)
        await pilot.press("space", "space", "c")
        await wait_for(pilot, lambda: isinstance(app.screen, CompareScreen))
        diff = app.screen.query_one("#spec-diff", DataTable)
        await wait_for(pilot, lambda: diff.row_count > 0)
        differences = {row[0]: row[1:] for row in cells(diff)}
        assert set(differences) == {"name", "fewshot.shot_sets"}
        assert sorted(differences["fewshot.shot_sets"]) == ["2", "3"]
        shared = cells(app.screen.query_one("#shared-results", DataTable))
        # K=0: en, de, avg; K=4: de, avg; the zero-shot cells are the very same stages
        assert len(shared) == 5
        zero_shot = [r for r in shared if r[1] == "0"]
        assert all(r[4] == r[5] and r[6] == "+0.0" for r in zero_shot)
    supervisor.wait(timeout=30)
    for launched in app.launched.values():
        launched.process.wait(timeout=30)
