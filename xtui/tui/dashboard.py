"""The live dashboard: the experiment being watched (launched here, or found running)."""

from __future__ import annotations

from textual.app import ComposeResult
from textual.containers import Vertical
from textual.screen import Screen
from textual.widgets import Footer, Static

from .mode_bar import ModeBar
from .experiment_view import ExperimentView

EMPTY = ("Nothing is being watched.\n\n"
         "Compose and launch an experiment (F2), or open one from the history (F4) and press w to watch it here.\n"
         "Experiments started with `xtui run` or `xtui run --detach` elsewhere show up in the history and here.")


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
