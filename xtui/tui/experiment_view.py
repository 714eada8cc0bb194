"""One experiment, live or finished: its stages (progress, loss curve, scores, log), results and spec.

A thread worker follows the run directories (:class:`xtui.follow.ExperimentFollower`) and
posts one :class:`ExperimentUpdated` per poll; a burst of events between two polls costs one
repaint, and an update the UI had no time for is replaced by the next one.
"""

from __future__ import annotations

import time
from typing import Optional

from rich.text import Text
from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.css.query import NoMatches
from textual.containers import Horizontal, Vertical, VerticalScroll
from textual.widgets import DataTable, Log, Static, TabbedContent, TabPane

from .formatting import duration, status_text
from .loss_plot import LossPlot
from .messages import ExperimentUpdated
from .results_view import ResultsView
from .score_table import ScoreTable
from .stage_table import StageTable

POLL_LIVE = 0.3
POLL_IDLE = 1.5
ORDER = ("running", "queued", "failed", "interrupted", "stopped", "blocked", "pending", "done", "reused")


class ExperimentView(Vertical):
    BINDINGS = [
        Binding("1", "tab('live')", "Stages", show=False, tooltip="Stages: progress, loss curve, scores, log"),
        Binding("2", "tab('results')", "Results", show=False, tooltip="Results: heat map per K and the few-shot curve"),
        Binding("3", "tab('spec')", "Spec", show=False, tooltip="The experiment's spec"),
        Binding("f", "toggle_follow", "Follow", show=False, tooltip="Keep the running stage selected"),
        Binding("s", "stop", "Stop", tooltip="Stop this experiment's running stages"),
    ]

    def __init__(self, store, experiment_id: str, **kwargs) -> None:
        super().__init__(**kwargs)
        self.store = store
        self.experiment_id = experiment_id
        self.experiment: dict = {}
        self.status = "starting"
        self.stages: dict = {}
        self.counts: dict = {}
        self.follow = True
        self._moving = False
        self._log_key = None
        self._spec_shown = False
        self.spec_text = ""
        self.updates = 0

    def compose(self) -> ComposeResult:
        yield Static(Text(f"{self.experiment_id}  starting…"), id="experiment-header")
        with TabbedContent(id="experiment-tabs", initial="live"):
            with TabPane("Stages", id="live"):
                yield StageTable(id="stage-table")
                with Horizontal(id="stage-detail"):
                    yield LossPlot(id="loss-plot")
                    with TabbedContent(id="stage-tabs"):
                        with TabPane("Scores", id="scores-pane"):
                            with VerticalScroll():
                                yield ScoreTable(id="scores")
                        with TabPane("Log", id="log-pane"):
                            yield Log(id="stage-log", max_lines=500, auto_scroll=True)
            with TabPane("Results", id="results"):
                yield ResultsView(id="results-view")
            with TabPane("Spec", id="spec"):
                with VerticalScroll():
                    yield Static("", id="spec-text")

    def on_mount(self) -> None:
        self.call_after_refresh(self.follow_experiment)

    # -- following -------------------------------------------------------------------------------
    @work(thread=True, exclusive=True, exit_on_error=False, group="follow")
    def follow_experiment(self) -> None:
        from textual.worker import get_current_worker

        from ..follow import ExperimentFollower
        from ..results import experiment_rows, summary_tables

        worker = get_current_worker()
        follower = ExperimentFollower(self.store, self.experiment_id)
        done_before = -1
        status_before = None
        copies: dict = {}
        while not worker.is_cancelled:
            changes = follower.poll()
            done = sum(1 for s in follower.stages.values() if s.status in ("done", "reused"))
            results = None
            if done != done_before and follower.experiment:
                rows = experiment_rows(self.store, follower.experiment)
                results = (rows, summary_tables(rows, follower.experiment))
                done_before = done
            if changes or results is not None or follower.live or follower.status != status_before:
                status_before = follower.status
                # Copies only of what changed: unchanged stages keep their earlier (immutable) copy.
                for state, _, _ in changes:
                    copies[state.hash] = state.snapshot()
                stages = {d: copies.get(d) or copies.setdefault(d, s.snapshot()) for d, s in follower.stages.items()}
                self.post_message(ExperimentUpdated(self.experiment_id, dict(follower.experiment), follower.status,
                                                    stages, results, follower.counts()))
            time.sleep(POLL_LIVE if follower.live or follower.status == "starting" else POLL_IDLE)

    @on(ExperimentUpdated)
    def apply_update(self, message: ExperimentUpdated) -> None:
        message.stop()
        if message.experiment_id != self.experiment_id:
            return
        try:
            self.query_one(StageTable)
            self.query_one(ResultsView).query_one("#heat-map")
        except NoMatches:  # still composing: the next poll brings the same picture
            self.set_timer(0.1, lambda: self.post_message(message))
            return
        self.updates += 1
        self.experiment = message.experiment
        self.status = message.status
        self.stages = message.stages
        self.counts = message.counts
        self._draw_header()
        table = self.query_one(StageTable)
        table.update_stages(self.stages)
        if self.follow:
            self._select_running()
        self._draw_selected()
        if message.results is not None:
            rows, tables = message.results
            self.query_one(ScoreTable).show(tables, running=self.status == "running")
            self.query_one(ResultsView).show(tables, self.experiment, rows)
        if not self._spec_shown and self.experiment:
            self._draw_spec()

    def _draw_header(self) -> None:
        exp = self.experiment
        header = Text()
        header.append(self.experiment_id, style="bold")
        header.append("  ")
        header.append_text(status_text(self.status))
        header.append(" ")
        total = len(self.stages)
        if total:
            finished = self.counts.get("done", 0) + self.counts.get("reused", 0)
            header.append(f"  {finished}/{total} stages done")
            for name in ("running", "queued", "failed", "stopped", "blocked", "interrupted", "reused"):
                if self.counts.get(name):
                    header.append(f" · {self.counts[name]} {name}")
        if exp.get("created"):
            end = exp.get("finished") if self.status != "running" and exp.get("finished") else time.time()
            header.append(f"  {duration(end - exp['created'])}")
        if exp.get("model"):
            header.append(f"  model {exp['model']} · {exp.get('target', '')} · {' '.join(exp.get('languages') or [])}",
                          style="dim")
        self.query_one("#experiment-header", Static).update(header)

    def _draw_spec(self) -> None:
        from rich.syntax import Syntax

        path = self.store.experiment_dir(self.experiment_id) / "spec.toml"
        try:
            text = path.read_text(encoding="utf-8")
        except OSError:
            return
        overrides = self.experiment.get("overrides") or []
        if overrides:
            text += "\n# overrides: " + " ".join(f"--set {o}" for o in overrides) + "\n"
        self.spec_text = text
        self.query_one("#spec-text", Static).update(Syntax(text, "toml", theme="ansi_dark", background_color="default"))
        self._spec_shown = True

    def _select_running(self) -> None:
        table = self.query_one(StageTable)
        current = table.selected_hash
        if current and self.stages.get(current) and self.stages[current].status == "running":
            return
        running = [d for d, s in self.stages.items() if s.status == "running"]
        if not running:
            return
        index = table.get_row_index(running[0])
        self._moving = True
        try:
            table.move_cursor(row=index)
        finally:
            self._moving = False

    def selected_stage(self):
        digest = self.query_one(StageTable).selected_hash
        return self.stages.get(digest) if digest else None

    def _draw_selected(self) -> None:
        stage = self.selected_stage()
        self.query_one(LossPlot).show(stage)
        log = self.query_one("#stage-log", Log)
        key = (stage.hash, stage.version) if stage else None
        if key == self._log_key:
            return
        self._log_key = key
        log.clear()
        if stage is None:
            return
        lines = [f"{stage.short} {stage.describe()}: {stage.status}" + (f" ({stage.detail})" if stage.detail else "")]
        lines.extend(stage.log)
        if stage.status in ("running", "failed", "interrupted", "stopped"):
            from ..follow import ExperimentFollower

            lines.extend(ExperimentFollower(self.store, self.experiment_id).log_tail(stage.hash, 30))
        log.write_lines(lines)

    @on(DataTable.RowHighlighted, "#stage-table")
    def stage_highlighted(self, event: DataTable.RowHighlighted) -> None:
        event.stop()
        if not self._moving and self.updates > 0 and event.row_key.value != self._first_running():
            self.follow = False
        self._draw_selected()

    def _first_running(self) -> Optional[str]:
        return next((d for d, s in self.stages.items() if s.status == "running"), None)

    # -- actions ----------------------------------------------------------------------------------
    def action_tab(self, tab: str) -> None:
        self.query_one("#experiment-tabs", TabbedContent).active = tab
        focus = {"live": "#stage-table", "results": "#heat-map"}.get(tab)
        if focus:
            self.query_one(focus).focus()

    @on(TabbedContent.TabActivated, "#experiment-tabs")
    def tab_activated(self, event: TabbedContent.TabActivated) -> None:
        focus = {"live": "#stage-table", "results": "#heat-map"}.get(event.pane.id)
        if focus and not self.query_one(focus).has_focus:
            self.query_one(focus).focus()

    def action_toggle_follow(self) -> None:
        self.follow = not self.follow
        self.notify("following the running stage" if self.follow else "not following: the selection stays")
        if self.follow:
            self._select_running()
            self._draw_selected()

    def action_stop(self) -> None:
        from .choice_dialog import ChoiceDialog

        if self.status != "running":
            self.notify(f"{self.experiment_id} is not running ({self.status})", severity="warning")
            return

        def chosen(answer) -> None:
            if answer == "stop":
                self.notify(f"stopping {self.experiment_id}…")
                self.app.stop_experiments([self.experiment_id])

        running = self.counts.get("running", 0)
        self.app.push_screen(ChoiceDialog("Stop experiment?", f"{self.experiment_id} has {running} running stage(s). "
                                          "Stopping ends their process groups; finished stages are kept.",
                                          [("stop", "Stop", "y"), ("cancel", "Cancel", "n")]), chosen)
