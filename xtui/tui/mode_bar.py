"""The top line of every screen: the app's places as clickable tabs with their keys, and where you are.

It replaces Textual's Header so that F2-F5 stay visible at 80 columns, where a footer full of the
screen's own bindings has no room left for them.
"""

from __future__ import annotations

from textual.markup import escape
from textual.widgets import Static

MODES = (("compose", "F2", "Compose"), ("live", "F3", "Live"), ("history", "F4", "History"), ("plugins", "F5", "Plugins"))


class ModeBar(Static):
    DEFAULT_CSS = """
    ModeBar { height: 1; background: $panel; text-wrap: nowrap; text-overflow: ellipsis; }
    """

    def on_mount(self) -> None:
        self.watch(self.screen, "sub_title", lambda _: self.draw(), init=False)
        self.draw()

    def on_screen_resume(self) -> None:
        self.draw()

    def draw(self) -> None:
        current = getattr(self.app, "current_mode", None)
        parts = ["[b reverse] xtui [/]"]
        for mode, key, label in MODES:
            text = f"[@click=app.mode('{mode}')] {key} {label} [/]"
            parts.append(f"[b reverse]{text}[/]" if mode == current else text)
        subtitle = self.screen.sub_title or ""
        line = " ".join(parts)
        if subtitle:
            line += f"  [dim]{escape(subtitle)}[/]"
        self.update(line)
