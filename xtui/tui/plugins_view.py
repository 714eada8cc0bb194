"""Loaded plugins with versions, failed ones with their error, and every task."""

from __future__ import annotations

from rich.text import Text
from textual.app import ComposeResult
from textual.containers import Vertical
from textual.screen import Screen
from textual.widgets import DataTable, Footer, Static

from .mode_bar import ModeBar


class PluginsScreen(Screen):
    def __init__(self) -> None:
        super().__init__(id="plugins")

    def compose(self) -> ComposeResult:
        yield ModeBar()
        with Vertical(id="plugins-body"):
            yield Static("[b]Plugins[/b]", classes="section-title", id="plugins-title")
            yield DataTable(id="plugins-table", zebra_stripes=True, cursor_type="row")
            yield Static("[b]Tasks[/b]", classes="section-title", id="tasks-title")
            yield DataTable(id="tasks-table", zebra_stripes=True, cursor_type="row")
        yield Footer()

    def on_mount(self) -> None:
        self.sub_title = "plugins and tasks"
        self.call_after_refresh(self.fill)

    def fill(self) -> None:
        registry = self.app.registry
        plugins = self.query_one("#plugins-table", DataTable)
        for column in ("plugin", "package", "version", "tasks", "status"):
            plugins.add_column(column, key=column)
        for p in registry.plugins:
            status = Text(f"✗ failed: {p.error}", style="bold red") if p.error else Text("✓ ok", style="green")
            plugins.add_row(p.name, p.distribution, p.version, str(len(p.tasks)), status, key=p.name)
        failed = len(registry.failed)
        self.query_one("#plugins-title", Static).update(
            f"[b]Plugins[/b] {len(registry.plugins)} loaded" + (f", [red]{failed} failed[/red]" if failed else ""))
        tasks = self.query_one("#tasks-table", DataTable)
        for column in ("task", "kind", "metric", "roles", "plugin", "languages"):
            tasks.add_column(column, key=column)
        for t in sorted(registry.tasks.values(), key=lambda t: t.name):
            tasks.add_row(t.name, t.kind, t.metric, "/".join(sorted(t.roles)), registry.task_plugin[t.name],
                          " ".join(t.languages), key=t.name)
        self.query_one("#tasks-title", Static).update(f"[b]Tasks[/b] {len(registry.tasks)} registered, "
                                                      f"{len(registry.kinds)} kinds: {', '.join(sorted(registry.kinds))}")
