"""With NO_COLOR every state still reads: a checked box has a mark, an unchecked one none."""

from __future__ import annotations

import re

from textual.widgets import Collapsible


from .conftest import make_app, screen_text, wait_for
from .test_compose import settle


def line_of(text: str, label: str) -> str:
    return next(line for line in text.splitlines() if f" {label} " in f"{line} " and "▐" in line)


def box(line: str) -> str:
    """The inside of the toggle drawn on the line: ▐X▌ -> 'X'."""
    start = line.index("▐")
    return line[start + 1:line.index("▌", start)]


async def test_checked_and_unchecked_differ_without_colour(store, monkeypatch):
    monkeypatch.setenv("NO_COLOR", "1")
    app = make_app(store, start="compose")
    async with app.run_test(size=(160, 48)) as pilot:
        assert app.no_color
        screen = app.screen
        await settle(pilot, screen)
        text = screen_text(app)
        # the intermediate tasks: "none" is picked, demo_nli is not
        assert box(line_of(text, "none")).strip() and not box(line_of(text, "demo_nli")).strip(), text
        # the target languages: the first is picked, the others are not
        picked = screen.query_one("#f-target-languages").selected
        assert picked == ["de"]
        assert box(line_of(text, "de")).strip() and not box(line_of(text, "es")).strip()
        # a yes/no field, both ways
        screen.query_one("#hp-fewshot", Collapsible).collapsed = False
        await wait_for(pilot, lambda: screen.query("#hp-fields-fewshot"))
        checkbox = screen.query_one("#f-fewshot-stratified")
        app.animation_level = "none"
        checkbox.focus()
        await wait_for(pilot, lambda: " stratified " in screen_text(app), what="the checkbox in view")
        for value in (True, False, True):
            checkbox.value = value
            await pilot.pause(0.1)
            mark = box(line_of(screen_text(app), "stratified")).strip()
            assert bool(mark) == value, f"stratified={value} drawn as [{mark}]"
        # the export dialog's formats: the chosen one is marked
        from xtui.tui.path_dialog import PathDialog

        app.push_screen(PathDialog("Export results", "results.csv", formats=("csv", "json", "md")))
        await wait_for(pilot, lambda: isinstance(app.screen, PathDialog) and " json " in screen_text(app))
        marks = {name: mark for mark, name in re.findall(r"▐(.)▌ (csv|json|md)\b", screen_text(app))}
        assert marks == {"csv": "●", "json": " ", "md": " "}, marks
