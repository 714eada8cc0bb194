"""A selection list whose unpicked options show an empty box, not the same X in another colour.

Textual draws every option's box with an X and tells picked from unpicked by colour alone,
which NO_COLOR (or a monochrome terminal, or colour blindness) turns into no difference at all.
"""

from __future__ import annotations

from rich.segment import Segment
from textual.strip import Strip
from textual.widgets import SelectionList
from textual.widgets._toggle_button import ToggleButton
from textual.widgets.option_list import OptionDoesNotExist


class TickList(SelectionList):
    def render_line(self, y: int) -> Strip:
        strip = super().render_line(y)
        try:
            option = self.get_option_at_index(self.scroll_offset.y + y)
        except OptionDoesNotExist:
            return strip
        if option.value in self.selected:
            return strip
        segments = list(strip)
        # the box is the line's first three segments: left edge, inside, right edge
        if len(segments) > 1 and segments[1].text == ToggleButton.BUTTON_INNER:
            segments[1] = Segment(" " * len(segments[1].text), segments[1].style, segments[1].control)
            return Strip(segments, strip.cell_length)
        return strip
