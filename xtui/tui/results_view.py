"""An experiment's results: a heat map per target task and K, plus the overall one across targets
(t switches the target, [ ] the K), the few-shot curve, export."""

from __future__ import annotations

from pathlib import Path

from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical
from textual.widgets import DataTable, Static

from .fewshot_curve import FewshotCurve
from .heat_map import HeatMap

CURVE_MIN = 40
"""Columns the few-shot curve needs beside the heat map; with less the curve goes below it."""


class ResultsView(Vertical):
    BINDINGS = [
        Binding("left_square_bracket", "shots(-1)", "K-", tooltip="Show the previous shot count K"),
        Binding("right_square_bracket", "shots(1)", "K+", tooltip="Show the next shot count K"),
        Binding("t", "target(1)", "Target", tooltip="Show the next target task (then the overall table)"),
        Binding("e", "export", "Export", tooltip="Export the results (csv, json or md)"),
        Binding("f", "figures", "Figures", tooltip="Save the experiment's figures (heat maps, few-shot and loss "
                "curves) as PNG, SVG and PDF under the runs folder"),
    ]

    def __init__(self, **kwargs) -> None:
        super().__init__(**kwargs)
        self.tables: list = []
        self.experiment: dict = {}
        self.rows: list = []
        self.index = 0

    def compose(self) -> ComposeResult:
        yield Static("no results yet", id="results-title")
        with Horizontal(id="results-body"):
            yield HeatMap(id="heat-map")
            yield FewshotCurve(id="fewshot-curve")

    def on_mount(self) -> None:
        self.watch(self.query_one(HeatMap), "virtual_size", lambda _: self._place(), init=False)

    def on_resize(self) -> None:
        self._place()

    def _place(self) -> None:
        """The heat map as wide as its columns and the curve beside it in the rest, or, when the curve would
        have less than CURVE_MIN, the curve below (halves of the width cut the heat map's last column off)."""
        heat = self.query_one(HeatMap)
        needed = heat.virtual_size.width + heat.styles.scrollbar_size_vertical
        beside = heat.virtual_size.width > 0 and self.size.width >= needed + CURVE_MIN
        self.set_class(not beside, "-narrow")
        heat.styles.width = needed if beside else "1fr"

    def show(self, tables: list, experiment: dict, rows: list) -> None:
        current = self.tables[self.index] if self.tables and self.index < len(self.tables) else None
        self.tables = list(tables or [])
        self.experiment = experiment
        self.rows = rows
        self.index = 0
        if current is not None:
            for i, table in enumerate(self.tables):
                if table["task"] == current["task"] and table["shots"] == current["shots"]:
                    self.index = i
        self._draw()
        self.refresh_bindings()

    def _draw(self) -> None:
        title = self.query_one("#results-title", Static)
        heat = self.query_one(HeatMap)
        if not self.tables:
            title.update("no results yet: the heat map fills in as evaluations finish")
            heat.show(None)
            self._draw_curve()
            return
        table = self.tables[self.index]
        ks = ", ".join(("[b]" + str(t["shots"]) + "[/b]") if i == self.index else str(t["shots"])
                       for i, t in enumerate(self.tables) if t["task"] == table["task"])
        tasks = self.tasks()
        targets = " · ".join(f"[b]{task}[/b]" if task == table["task"] else task for task in tasks)
        from rich.markup import escape

        from ..results import table_legend, table_title

        keys = "t target · \\[ ] K" if len(tasks) > 1 else "\\[ ] switch K"
        legend = f"\n[b]{escape(table_legend(table))}[/b]" if table_legend(table) else ""
        title.update(f"{table_title(table)}   " + (f"target: {targets}   " if len(tasks) > 1 else "")
                     + f"K: {ks}   [dim]{keys} · cells mean ± std (Δ vs none), coloured where significant (*)[/dim]"
                     + legend)
        heat.show(table)
        self._draw_curve()

    def _draw_curve(self) -> None:
        curve = self.query_one(FewshotCurve)
        if not self.tables:
            curve.show([], None, None)
            return
        table = self.tables[self.index]
        intermediate, _ = self.query_one(HeatMap).selected
        curve.show(self.tables, table["task"], intermediate or (table["intermediates"] or [None])[0], table["metric"])

    def on_data_table_cell_highlighted(self, event: DataTable.CellHighlighted) -> None:
        event.stop()
        self._draw_curve()

    def check_action(self, action: str, parameters: tuple) -> bool:
        """The target key only where there is more than one table to switch between by target."""
        return action != "target" or len(self.tasks()) > 1

    def tasks(self) -> list:
        """The target tasks with a table, in the tables' order (the overall one last)."""
        return list(dict.fromkeys(t["task"] for t in self.tables))

    def action_shots(self, step: int) -> None:
        """The previous or next K of the target shown."""
        if self.tables:
            task = self.tables[self.index]["task"]
            same = [i for i, t in enumerate(self.tables) if t["task"] == task]
            self.index = same[(same.index(self.index) + step) % len(same)]
            self._draw()

    def action_target(self, step: int) -> None:
        """The next target task's table (then the overall one), at the same K where it has one."""
        if self.tables:
            shown = self.tables[self.index]
            tasks = self.tasks()
            task = tasks[(tasks.index(shown["task"]) + step) % len(tasks)]
            choices = [i for i, t in enumerate(self.tables) if t["task"] == task]
            self.index = next((i for i in choices if self.tables[i]["shots"] == shown["shots"]), choices[0])
            self._draw()

    def action_export(self) -> None:
        from .path_dialog import PathDialog

        if not self.experiment:
            self.notify("nothing to export yet", severity="warning")
            return

        def done(answer) -> None:
            if answer:
                self.export_to(Path(answer[0]), answer[1])

        self.app.push_screen(PathDialog("Export results", f"{self.experiment.get('id', 'results')}.csv",
                                        formats=("csv", "json", "md")), done)

    def action_figures(self) -> None:
        if not self.experiment or not self.tables:
            self.notify("no results to draw yet", severity="warning")
            return
        self.run_worker(self._figures, thread=True, exclusive=True, group="figures")

    def _figures(self) -> None:
        """The figures of ``xtui runs plot``, drawn off the UI thread into $XTUI_HOME/figures/<id>/."""
        from ..errors import XtuiError
        from ..plots import KINDS, plot

        store = self.app.store
        folder = store.home / "figures" / self.experiment["id"]
        try:
            paths = plot(store, self.experiment, KINDS, folder)
        except (XtuiError, OSError) as error:
            self.app.call_from_thread(self.notify, f"figures not saved: {error}", severity="error")
            return
        self.app.call_from_thread(self.notify, f"wrote {len(paths)} figure files to {folder}")

    def export_to(self, path: Path, fmt: str) -> None:
        from ..files import atomic_write_text
        from ..results import export

        try:
            atomic_write_text(path, export(self.rows, self.tables, fmt))
        except OSError as error:
            self.notify(f"cannot write {path}: {error.strerror}", severity="error")
            return
        self.notify(f"wrote {len(self.rows)} rows as {fmt} to {path}")
