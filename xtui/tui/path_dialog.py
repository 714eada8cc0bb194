"""Asks for a file path (and optionally a format): save, load and export."""

from __future__ import annotations

from pathlib import Path
from typing import Optional

from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical
from textual.screen import ModalScreen
from textual.widgets import Button, Input, Label, RadioSet

from .text_field import TextField
from .tick_radio import TickRadio


class PathDialog(ModalScreen):
    """Dismisses with (path, format) or None."""

    BINDINGS = [Binding("escape", "cancel", "Cancel")]

    def __init__(self, title: str, default: str = "", formats: tuple = (), suggestions: Optional[list] = None) -> None:
        super().__init__()
        self.title_text = title
        self.default = default
        self.formats = formats
        self.suggestions = suggestions or []

    def compose(self) -> ComposeResult:
        from textual.suggester import SuggestFromList

        with Vertical(id="dialog"):
            yield Label(self.title_text, id="dialog-title")
            yield TextField(self.default, placeholder="path", id="path-input",
                        suggester=SuggestFromList(self.suggestions) if self.suggestions else None)
            if self.formats:
                with RadioSet(id="format"):
                    for index, name in enumerate(self.formats):
                        yield TickRadio(name, value=index == 0, id=f"format-{name}")
            if self.suggestions:
                yield Label("[dim]" + "  ".join(self.suggestions[:6]) + "[/dim]", id="dialog-hint")
            with Horizontal(id="dialog-buttons"):
                yield Button("OK", variant="primary", id="ok")
                yield Button("Cancel", id="cancel")

    def on_mount(self) -> None:
        self.query_one(Input).focus()

    def _format(self) -> str:
        if not self.formats:
            return ""
        pressed = self.query_one(RadioSet).pressed_button
        return str(pressed.label) if pressed else self.formats[0]

    def on_radio_set_changed(self, event: RadioSet.Changed) -> None:
        field = self.query_one(Input)
        if field.value:
            field.value = str(Path(field.value).with_suffix("." + str(event.pressed.label)))

    def on_input_submitted(self, event: Input.Submitted) -> None:
        self._finish()

    def on_button_pressed(self, event: Button.Pressed) -> None:
        if event.button.id == "ok":
            self._finish()
        else:
            self.dismiss(None)

    def _finish(self) -> None:
        value = self.query_one(Input).value.strip()
        if not value:
            self.notify("give a path", severity="warning")
            return
        self.dismiss((str(Path(value).expanduser()), self._format()))

    def action_cancel(self) -> None:
        self.dismiss(None)
