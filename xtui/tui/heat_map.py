"""One K of the results as a heat map: rows intermediate tasks, columns languages; a cell is coloured
by its Δ vs none only where that Δ is significant (its 95 % paired interval over shot sets and seeds
excludes 0, marked * as in the printed tables): colour that noise could explain would mislead."""

from __future__ import annotations

from rich.text import Text
from textual.widgets import DataTable


def delta_style(delta, scale: float) -> str:
    """Green above the baseline, red below; stronger the further away (the Δ is also written in the cell)."""
    if delta is None or scale <= 0:
        return ""
    strength = min(1.0, abs(delta) / scale)
    level = int(60 + 140 * strength)
    if delta > 0:
        return f"bold #ffffff on rgb(0,{level},0)" if strength > 0.5 else f"#ffffff on rgb(0,{level},0)"
    if delta < 0:
        return f"bold #ffffff on rgb({level},0,0)" if strength > 0.5 else f"#ffffff on rgb({level},0,0)"
    return ""


def heat_cells(table: dict) -> tuple:
    """(columns, rows): each row is (intermediate, [(text, style), ...])."""
    from ..results import SIGNIFICANT, marked, significant, table_columns
    from ..selection import NOT_ZERO_SHOT

    columns = table_columns(table)
    tests = table.get("deltas") or {}
    none = table["cells"].get("none") or {}
    deltas = []
    for name, row in table["cells"].items():
        if name == "none":
            continue
        for column in columns:
            mean = (row.get(column) or (None,))[0]
            base = (none.get(column) or (None,))[0]
            if mean is not None and base is not None:
                deltas.append(abs(mean - base))
    scale = max(deltas) if deltas else 0.0
    rows = []
    for name in table["intermediates"]:
        row = table["cells"][name]
        cells = []
        for column in columns:
            mean, std = row.get(column) or (None, None)
            if mean is None:
                cells.append(("-", "dim"))
                continue
            text = f"{100 * mean:.1f}" + (f" ± {100 * std:.1f}" if std else "")
            base = (none.get(column) or (None,))[0]
            style = ""
            if name != "none" and base is not None:
                delta = mean - base
                text += f" ({100 * delta:+.1f})"
                if significant((tests.get(name) or {}).get(column)):
                    text += SIGNIFICANT
                    style = delta_style(delta, scale)
            if marked(table, name, column):
                text += f" {NOT_ZERO_SHOT}"
            cells.append((text, style))
        rows.append((name, cells))
    return columns, rows


class HeatMap(DataTable):
    def __init__(self, **kwargs) -> None:
        super().__init__(cursor_type="cell", zebra_stripes=False, **kwargs)
        self.fixed_columns = 1  # the intermediate task stays in view when the languages scroll
        self.columns_shown: list = []

    def show(self, table) -> None:
        row, column = self.cursor_coordinate
        self.clear(columns=True)
        self.columns_shown = []
        if table is None:
            return
        columns, rows = heat_cells(table)
        self.columns_shown = columns
        self.add_column("intermediate", key="intermediate")
        for name in columns:
            self.add_column(name, key=name)
        for name, cells in rows:
            self.add_row(Text(name, style="bold"), *(Text(text, style=style, justify="right") for text, style in cells), key=name)
        if self.row_count:
            self.move_cursor(row=min(row, self.row_count - 1), column=min(max(column, 1), len(columns)))

    @property
    def selected(self) -> tuple:
        """(intermediate, language column) under the cursor."""
        if not self.row_count:
            return None, None
        keys = self.coordinate_to_cell_key(self.cursor_coordinate)
        return keys.row_key.value, keys.column_key.value
