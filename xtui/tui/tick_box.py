"""A checkbox that is empty when off (Textual's shows the same X in another colour: nothing under NO_COLOR)."""

from __future__ import annotations

from textual.widgets import Checkbox


class TickBox(Checkbox):
    @property
    def BUTTON_INNER(self) -> str:  # read by ToggleButton when it draws the box
        return "X" if self.value else " "
