"""Two or more experiments side by side: how their specs differ, and their shared results."""

from __future__ import annotations

from rich.text import Text
from textual import work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical
from textual.screen import Screen
from textual.widgets import DataTable, Footer, Static

from ..comparison import compare_legend, format_cell as _format, shared_results, spec_differences
from .mode_bar import ModeBar


class CompareScreen(Screen):
    BINDINGS = [Binding("escape", "app.pop_screen", "Back", tooltip="Back to the history")]

    def __init__(self, experiment_ids: list) -> None:
        super().__init__()
        self.experiment_ids = list(experiment_ids)

    def compose(self) -> ComposeResult:
        yield ModeBar()
        with Vertical(id="compare-body"):
            yield Static("", id="compare-title")
            yield Static("[b]Spec differences[/b]", classes="section-title")
            yield DataTable(id="spec-diff", zebra_stripes=True, cursor_type="row")
            yield Static("[b]Shared results[/b] (mean ± std, %; Δ = last vs first)", classes="section-title", id="shared-title")
            yield DataTable(id="shared-results", zebra_stripes=True, cursor_type="row")
        yield Footer()

    def on_mount(self) -> None:
        self.sub_title = "compare"
        self.call_after_refresh(self.load)

    @work(thread=True, exclusive=True, exit_on_error=False)
    def load(self) -> None:
        from ..results import experiment_rows, summary_tables

        store = self.app.store
        experiments, tables = [], []
        for experiment_id in self.experiment_ids:
            record = store.read_experiment(experiment_id) or {"id": experiment_id}
            experiments.append(record)
            tables.append(summary_tables(experiment_rows(store, record), record) if record.get("stages") else [])
        self.app.call_from_thread(self.draw, experiments, tables)

    def draw(self, experiments: list, tables: list) -> None:
        names = [f"#{i + 1} {e.get('name', '?')}" for i, e in enumerate(experiments)]
        self.query_one("#compare-title", Static).update(
            "  ".join(f"[b]#{i + 1}[/b] {e['id']}" for i, e in enumerate(experiments)))
        diff = self.query_one("#spec-diff", DataTable)
        diff.add_column("field", key="field")
        for name in names:
            diff.add_column(name)
        differences = spec_differences([e.get("spec") for e in experiments])
        for key, values in differences:
            diff.add_row(key, *(str(v) for v in values))
        if not differences:
            diff.add_row(Text("the specs are identical", style="dim"), *[""] * len(names))
        shared = self.query_one("#shared-results", DataTable)
        for column in ("task", "K", "intermediate", "language"):
            shared.add_column(column, key=column)
        for name in names:
            shared.add_column(name)
        shared.add_column("Δ", key="delta")
        rows, only_some = shared_results(tables)
        for task, metric, shots, intermediate, column, values in rows:
            delta = values[-1][0] - values[0][0]
            style = "green" if delta > 0 else "red" if delta < 0 else ""
            shared.add_row(task, str(shots), intermediate, column, *(_format(v) for v in values),
                           Text(f"{100 * delta:+.1f}", style=style))
        self.query_one("#shared-title", Static).update(
            f"[b]Shared results[/b] (mean ± std, %; Δ = #{len(names)} − #1): {len(rows)} cells in all of them"
            + (f", {only_some} in only some (not shown)" if only_some else "")
            + (f"\n{compare_legend(rows)}" if compare_legend(rows) else ""))
