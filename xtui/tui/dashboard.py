"""The live dashboard: the experiment being watched (launched here, chosen in the history, or found running,
whoever started it: the app looks for one whenever nothing is followed)."""

from __future__ import annotations

from textual.app import ComposeResult
from textual.containers import Vertical
from textual.screen import Screen
from textual.widgets import Footer, Static

from .mode_bar import ModeBar
from .experiment_view import ExperimentView

EMPTY = ("Nothing is being watched: no experiment is running.\n\n"
         "An experiment shows up here as it starts, launched here (F2) or with `xtui run` / `xtui run --detach`\n"
         "anywhere else. To look at a finished one, open it from the history (F4), or press w there to watch it here.")


class DashboardScreen(Screen):
    def __init__(self) -> None:
        super().__init__(id="live")
        self.experiment_id = None

    def compose(self) -> ComposeResult:
        yield ModeBar()
        yield Vertical(Static(EMPTY, id="live-empty"), id="live-body")
        yield Footer()

    def on_mount(self) -> None:
        self.sub_title = "live"
        if self.app.watching:
            self.watch_experiment(self.app.watching)

    def on_screen_resume(self) -> None:
        if self.app.watching and self.app.watching != self.experiment_id:
            self.watch_experiment(self.app.watching)

    def watch_experiment(self, experiment_id: str) -> None:
        if experiment_id == self.experiment_id:
            return
        self.experiment_id = experiment_id
        body = self.query_one("#live-body")
        body.remove_children()
        body.mount(ExperimentView(self.app.store, experiment_id))
        self.sub_title = f"live · {experiment_id}"
