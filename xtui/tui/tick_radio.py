"""A radio button that is empty when off (Textual's shows the same dot in another colour: nothing under NO_COLOR)."""

from __future__ import annotations

from textual.widgets import RadioButton


class TickRadio(RadioButton):
    @property
    def BUTTON_INNER(self) -> str:  # read by ToggleButton when it draws the button
        return "●" if self.value else " "
