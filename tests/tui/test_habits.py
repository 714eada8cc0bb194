"""Keyboard and mouse, the command palette, and every screen at 200x60."""

from __future__ import annotations

from xtui.tui.compose import ComposeScreen
from xtui.tui.experiment_view import ExperimentView
from xtui.tui.history import HistoryScreen
from xtui.tui.mode_bar import ModeBar
from xtui.tui.plugins_view import PluginsScreen

from .conftest import make_app, screen_text, wait_for


def titles(app) -> set:
    return {command.title for command in app.get_system_commands(app.screen)}


async def test_every_action_is_in_the_command_palette(store, two_experiments):
    app = make_app(store, start="history")
    async with app.run_test(size=(120, 36)) as pilot:
        await wait_for(pilot, lambda: isinstance(app.screen, HistoryScreen) and app.screen.loaded)
        assert {"Open", "Mark", "Compare", "Watch", "Filter", "Sort", "Reverse", "Reindex", "Compose", "Live", "History",
                "Plugins", "Quit"} <= titles(app)
        await pilot.press("enter")
        await wait_for(pilot, lambda: app.screen.query(ExperimentView))
        await pilot.press("2")
        assert {"Stages", "Results", "Spec", "Follow", "Stop", "Back", "Watch live", "K-", "K+", "Export"} <= titles(app)
        await pilot.press("f2")
        assert {"Launch", "Save spec", "Load spec", "All langs"} <= titles(app)
        # and the palette runs them
        await pilot.press("ctrl+p")
        await pilot.pause(0.2)
        await pilot.press(*"Plugins")
        await pilot.pause(0.5)
        await pilot.press("enter")
        await wait_for(pilot, lambda: isinstance(app.screen, PluginsScreen), what="plugins via the palette")


async def test_the_mouse_switches_places_and_opens_rows(store, two_experiments):
    app = make_app(store, start="history")
    async with app.run_test(size=(120, 36)) as pilot:
        await wait_for(pilot, lambda: isinstance(app.screen, HistoryScreen) and app.screen.loaded)
        line = screen_text(app).splitlines()[0]
        await pilot.click(ModeBar, offset=(line.index("F2 Compose") + 2, 0))
        await wait_for(pilot, lambda: isinstance(app.screen, ComposeScreen), what="compose by click")
        assert app.current_mode == "compose"  # the tab switched the app's mode, as F2 does
        line = screen_text(app).splitlines()[0]
        await pilot.click(ModeBar, offset=(line.index("F4 History") + 2, 0))
        await wait_for(pilot, lambda: isinstance(app.screen, HistoryScreen), what="history by click")
        await pilot.click("#history-table", offset=(10, 2))  # the second row
        await pilot.click("#history-table", offset=(10, 2))
        await wait_for(pilot, lambda: app.screen.query(ExperimentView), what="opened by double click")
        assert app.screen.experiment_id == "20231114-221320-baseline-aaaa"


async def test_every_screen_at_200x60(store, two_experiments):
    # each screen fills in asynchronously (the index read, the follower's first poll): wait for what it shows
    app = make_app(store, start="history")
    async with app.run_test(size=(200, 60)) as pilot:
        await wait_for(pilot, lambda: isinstance(app.screen, HistoryScreen) and app.screen.loaded)
        await wait_for(pilot, lambda: "higher-lr" in screen_text(app), what="the history rows")
        await pilot.press("enter")
        await wait_for(pilot, lambda: app.screen.query(ExperimentView) and app.screen.query_one(ExperimentView).updates)
        await wait_for(pilot, lambda: "17/17 stages done" in screen_text(app) and "train loss" in screen_text(app),
                       what="the experiment")
        await pilot.press("2")
        await wait_for(pilot, lambda: "(+4.0)" in screen_text(app) and "K (shots)" in screen_text(app), what="results")
        await pilot.press("escape", "f2")
        await wait_for(pilot, lambda: isinstance(app.screen, ComposeScreen) and app.screen.checked == app.screen.generation)
        await wait_for(pilot, lambda: "8 stages" in screen_text(app), what="the plan")
        await pilot.press("f5")
        await wait_for(pilot, lambda: "demo_sentiment" in screen_text(app) and "classification" in screen_text(app),
                       what="the plugins")
        await pilot.press("f3")
        await wait_for(pilot, lambda: "Nothing is being watched" in screen_text(app), what="live")


async def test_the_palette_opens_on_every_screen(store, two_experiments):
    """Each screen's keys are in the palette's help as "[key]": "/" and "[" must not be read as markup."""
    from textual.command import CommandPalette

    app = make_app(store, start="history")
    async with app.run_test(size=(120, 36)) as pilot:
        await wait_for(pilot, lambda: isinstance(app.screen, HistoryScreen) and app.screen.loaded)
        for keys, command in (((), "Filter"), (("enter",), "Watch live"), (("2",), "Export"), (("escape", "f2"), "Save spec"),
                              (("f3",), "History"), (("f5",), "Compose")):
            await pilot.press(*keys)
            await pilot.pause(0.3)
            await pilot.press("ctrl+p")
            await wait_for(pilot, lambda: isinstance(app.screen, CommandPalette), what="the palette")
            await pilot.pause(0.5)  # the commands are gathered and drawn
            assert app.return_code is None and app._exception is None, app._exception
            assert command in screen_text(app), (keys, screen_text(app))
            await pilot.press("escape")
            await pilot.pause(0.2)
