"""A run's detail view, opened from the history: its stages, results and spec."""

from __future__ import annotations

from textual.app import ComposeResult
from textual.binding import Binding
from textual.screen import Screen
from textual.widgets import Footer

from .mode_bar import ModeBar
from .experiment_view import ExperimentView
from .messages import WatchExperiment


class ExperimentScreen(Screen):
    BINDINGS = [
        Binding("escape", "app.pop_screen", "Back", tooltip="Back to the history"),
        Binding("w", "watch", "Watch live", tooltip="Show this experiment in the live dashboard"),
    ]

    def __init__(self, experiment_id: str) -> None:
        super().__init__()
        self.experiment_id = experiment_id

    def compose(self) -> ComposeResult:
        yield ModeBar()
        yield ExperimentView(self.app.store, self.experiment_id, id="detail-view")
        yield Footer()

    def on_mount(self) -> None:
        self.sub_title = self.experiment_id

    def action_watch(self) -> None:
        self.post_message(WatchExperiment(self.experiment_id))
