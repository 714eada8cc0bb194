"""Every experiment in the index: sort, filter by text, open, watch, pick several to compare."""

from __future__ import annotations

import time
from typing import Optional

from rich.text import Text
from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.screen import Screen
from textual.widgets import DataTable, Footer, Input, Static

from .mode_bar import ModeBar
from .formatting import duration, headline_text, status_text, when
from .messages import CompareExperiments, ExperimentsListed, OpenExperiment, WatchExperiment
from .text_field import TextField

COLUMNS = (("mark", " "), ("status", "status"), ("name", "name"), ("headline", "headline"), ("tasks", "tasks"),
           ("languages", "languages"), ("shots", "K"), ("model", "model"), ("started", "started"),
           ("duration", "duration"), ("id", "id"))
SORTS = ("started", "name", "status", "duration", "headline")
REFRESH = 2.0
SHOWN = 500
"""Rows the table holds at most: the first of the sorted, filtered list (measuring 10,000 rows of
cells takes seconds; a filter narrows any index to what a person reads)."""


def sort_value(record: dict, column: str):
    if column == "started":
        return record.get("created") or 0
    if column == "duration":
        return _seconds(record) or 0
    if column == "headline":
        return (record.get("headline") or {}).get("value") or -1
    return str(record.get(column) or record.get("live_status") or "")


def _seconds(record: dict):
    if not record.get("created"):
        return None
    end = record.get("finished") or (time.time() if record.get("live_status") == "running" else None)
    return end - record["created"] if end else None


def record_text(record: dict) -> str:
    """Everything a filter matches against."""
    return " ".join(str(x) for x in (
        record.get("id"), record.get("name"), record.get("live_status"), record.get("model"), record.get("target"),
        " ".join(record.get("intermediate") or []), " ".join(record.get("languages") or []),
        headline_text(record.get("headline")), when(record.get("created")))).lower()


def _text_of(record: dict) -> str:
    """``record_text``, computed once per record (records are replaced when the index changes)."""
    text = record.get("_text")
    if text is None:
        text = record["_text"] = record_text(record)
    return text


def index_stamp(path) -> Optional[tuple]:
    """What changes whenever the index file is rewritten (it is replaced atomically)."""
    try:
        stat = path.stat()
    except OSError:
        return None
    return (stat.st_ino, stat.st_size, stat.st_mtime_ns)


class HistoryScreen(Screen):
    BINDINGS = [
        Binding("enter", "open", "Open", tooltip="Open the experiment: stages, results, spec"),
        Binding("space", "mark", "Mark", tooltip="Mark or unmark for comparison"),
        Binding("c", "compare", "Compare", tooltip="Compare the marked experiments (two or more)"),
        Binding("w", "watch", "Watch", tooltip="Watch the experiment in the live dashboard"),
        Binding("slash", "filter", "Filter", tooltip="Filter experiments by text"),
        Binding("o", "sort", "Sort", tooltip="Sort by the next column (started, name, status, duration, headline)"),
        Binding("O", "reverse", "Reverse", show=False, tooltip="Reverse the sort order"),
        Binding("R", "reindex", "Reindex", show=False, tooltip="Rebuild the index from the run directories"),
        Binding("escape", "clear_filter", "Clear filter", show=False),
    ]

    def __init__(self) -> None:
        super().__init__(id="history")
        self.records: list = []
        self.marked: list = []
        self.sort_by = "started"
        self.descending = True
        self.error = None
        self.loaded = False

    def compose(self) -> ComposeResult:
        yield ModeBar()
        yield TextField(placeholder="filter: name, task, language, model, status… (/)", id="history-filter")
        yield Static("", id="history-summary")
        yield DataTable(id="history-table", cursor_type="row", zebra_stripes=True)
        yield Footer()

    def on_mount(self) -> None:
        self.sub_title = "history"
        table = self.query_one("#history-table", DataTable)
        for key, label in COLUMNS:
            table.add_column(label, key=key)
        table.focus()
        self.call_after_refresh(self.load_index)

    def on_screen_resume(self) -> None:
        if self.focused is None:
            self.query_one("#history-table").focus()

    @work(thread=True, exclusive=True, exit_on_error=False, group="history")
    def load_index(self) -> None:
        from textual.worker import get_current_worker

        from ..follow import experiment_status

        worker = get_current_worker()
        seen = posted = None
        records: list = []
        error = None
        while not worker.is_cancelled:
            stamp = index_stamp(self.app.store.index_path)
            if stamp is None or stamp != seen or error:
                try:
                    records = self.app.store.experiments()
                    error = None
                    if not records and self.app.store.experiment_ids_on_disk():
                        error = "the index is empty but experiments are on disk: press R to rebuild it (xtui runs reindex)"
                except Exception as exc:  # a corrupt index is told, not raised
                    records, error = [], str(exc)
                seen = stamp
                changed = True
                for record in records:
                    record["live_status"] = experiment_status(record, self.app.store)
            else:
                # the index is as it was: only a running experiment's supervisor can have gone since
                changed = False
                for record in records:
                    if record.get("status") == "running":
                        status = experiment_status(record, self.app.store)
                        changed = changed or status != record.get("live_status")
                        record["live_status"] = status
            if changed:
                # the index changes with every stage a run finishes: post only when the list itself did
                # (compared here, off the UI thread)
                if posted is None or (records, error) != posted:
                    copies = [dict(r) for r in records]
                    posted = ([dict(r) for r in copies], error)
                    self.post_message(ExperimentsListed(copies, error))
            time.sleep(REFRESH)

    @on(ExperimentsListed)
    def listed(self, message: ExperimentsListed) -> None:
        message.stop()
        self.records = message.records
        self.error = message.error
        self.loaded = True
        self.redraw()

    def visible(self) -> list:
        words = self.query_one("#history-filter", Input).value.lower().split()
        shown = [r for r in self.records if all(w in _text_of(r) for w in words)] if words else self.records
        return sorted(shown, key=lambda r: sort_value(r, self.sort_by), reverse=self.descending)

    def redraw(self) -> None:
        table = self.query_one("#history-table", DataTable)
        current = self.selected_id()
        matching = self.visible()
        rows = matching[:SHOWN]
        table.clear()
        for r in rows:
            tasks = " ".join(r.get("intermediate") or []) + " → " + (r.get("target") or "?")
            table.add_row(
                Text("▶", style="bold") if r["id"] in self.marked else "",
                status_text(r.get("live_status") or r.get("status") or "?"), r.get("name") or "",
                headline_text(r.get("headline")), tasks, " ".join(r.get("languages") or []),
                ",".join(map(str, r.get("shots") or [])), r.get("model") or "", when(r.get("created")),
                duration(_seconds(r)), Text(r["id"], style="dim"), key=r["id"])
        if current:
            try:
                table.move_cursor(row=table.get_row_index(current))
            except Exception:
                pass
        arrow = "↓" if self.descending else "↑"
        summary = f"{len(matching):,} of {len(self.records):,} experiments · sorted by {self.sort_by} {arrow}"
        if len(matching) > len(rows):
            summary += f" · showing the first {len(rows):,}: filter (/) or sort (o) to see others"
        if self.marked:
            summary += f" · {len(self.marked)} marked for comparison (c)"
        if self.loaded and not self.records and not self.error:
            summary = "no experiments yet: compose one (F2), or run `xtui run SPEC`"
        if self.error:
            summary = f"[red]{self.error}[/red]"
        self.query_one("#history-summary", Static).update(summary)

    def selected_id(self):
        table = self.query_one("#history-table", DataTable)
        if not table.row_count:
            return None
        return table.coordinate_to_cell_key(table.cursor_coordinate).row_key.value

    @on(Input.Changed, "#history-filter")
    def filter_changed(self) -> None:
        self.redraw()

    @on(Input.Submitted, "#history-filter")
    def filter_done(self) -> None:
        self.query_one("#history-table").focus()

    @on(DataTable.RowSelected, "#history-table")
    def row_selected(self, event: DataTable.RowSelected) -> None:
        event.stop()
        self.post_message(OpenExperiment(event.row_key.value))

    @on(DataTable.HeaderSelected, "#history-table")
    def header_selected(self, event: DataTable.HeaderSelected) -> None:
        key = event.column_key.value
        if key in SORTS:
            self.descending = not self.descending if key == self.sort_by else True
            self.sort_by = key
            self.redraw()

    def action_open(self) -> None:
        if self.selected_id():
            self.post_message(OpenExperiment(self.selected_id()))

    def action_watch(self) -> None:
        if self.selected_id():
            self.post_message(WatchExperiment(self.selected_id()))

    def action_mark(self) -> None:
        current = self.selected_id()
        if not current:
            return
        if current in self.marked:
            self.marked.remove(current)
        else:
            self.marked.append(current)
        self.redraw()
        table = self.query_one("#history-table", DataTable)
        if table.cursor_row < table.row_count - 1:
            table.move_cursor(row=table.cursor_row + 1)

    def action_compare(self) -> None:
        if len(self.marked) < 2:
            self.notify("mark two or more experiments with space first", severity="warning")
            return
        self.post_message(CompareExperiments(self.marked))

    def action_filter(self) -> None:
        self.query_one("#history-filter", Input).focus()

    def action_clear_filter(self) -> None:
        self.query_one("#history-filter", Input).value = ""
        self.query_one("#history-table").focus()

    def action_sort(self) -> None:
        self.sort_by = SORTS[(SORTS.index(self.sort_by) + 1) % len(SORTS)]
        self.redraw()

    def action_reverse(self) -> None:
        self.descending = not self.descending
        self.redraw()

    def action_reindex(self) -> None:
        self._reindex()

    @work(thread=True, exit_on_error=False)
    def _reindex(self) -> None:
        experiments, stages = self.app.store.reindex()
        self.app.call_from_thread(self.notify, f"reindexed {experiments} experiments and {stages} stages")
