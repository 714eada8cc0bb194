"""Per-language scores of an experiment, filling in as evaluations finish (the spine's tables)."""

from __future__ import annotations

from rich.console import Group
from rich.table import Table
from rich.text import Text
from textual.widgets import Static

from ..results import table_caption, table_legend, table_lines


def render_summary(tables: list, running: bool = False):
    if not tables:
        return Text("no scores yet: they appear as evaluations finish" if running else "no scores", style="dim")
    parts = []
    for table in tables:
        title, header, body = table_lines(table)
        # the title is a line of its own: as the table's title it wraps to the table's width (one language: narrow)
        parts.append(Text(title, style="italic"))
        rich_table = Table(expand=False, padding=(0, 1), box=None, show_edge=False, header_style="bold")
        for index, name in enumerate(header):
            rich_table.add_column(name, justify="left" if index == 0 else "right", no_wrap=True)
        for row in body:
            rich_table.add_row(*row)
        parts.append(rich_table)
        parts.append(Text(table_caption(table), style="dim"))
        if table_legend(table):
            parts.append(Text(table_legend(table)))
        parts.append(Text(""))
    return Group(*parts)


class ScoreTable(Static):
    """Shows summary tables; a new list object is needed to repaint (tables are rebuilt per poll)."""

    def show(self, tables: list, running: bool = False) -> None:
        self.update(render_summary(tables, running))
