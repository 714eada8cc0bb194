"""Keys typed faster than the app answers them land in the order they were typed.

Textual's Input inserts printable keys where they arrive but runs bound keys (backspace,
arrows, ...) only after they bubbled up to the app (Textualize/textual#6605): a burst of
backspaces and characters, as a terminal delivers a fast typist's keys, lost characters.
"""

from __future__ import annotations

from textual import events
from textual.widgets import Input

from xtui.tui.compose import ComposeScreen

from .conftest import make_app, wait_for


def burst(app, keys: list) -> None:
    """Post keys the way the terminal driver does: one after the other, without waiting for any."""
    for key in keys:
        character = key if len(key) == 1 else None
        app.post_message(events.Key(key, character))


async def test_a_burst_of_backspaces_and_characters_is_applied_in_order(store):
    app = make_app(store, start="compose")
    async with app.run_test(size=(120, 36)) as pilot:
        screen = app.screen
        assert isinstance(screen, ComposeScreen)
        for widget_id, typed in (("f-name", "lr-1e-3"), ("f-fewshot-shots", "0, 5, 10")):
            field = screen.query_one(f"#{widget_id}", Input)
            field.focus()
            await pilot.pause()
            field.cursor_position = len(field.value)
            for _ in range(3):
                burst(app, ["backspace"] * (len(field.value) + 2) + list(typed) + ["left", "left", "backspace", "x", "end"])
                await wait_for(pilot, lambda: app._message_queue.empty(), what="the burst handled")
                await pilot.pause(0.2)
                assert field.value == typed[:-3] + "x" + typed[-2:], f"{widget_id}: typed {typed!r}, got {field.value!r}"
