"""The xtui terminal app: compose, launch, watch live, browse and compare, from the run directories.

Launching starts the headless supervisor (``xtui run``) in the background, so closing the
app never stops an experiment; the app follows run directories, whoever started them.
"""

from __future__ import annotations

from functools import partial
from pathlib import Path
from typing import Iterable, Optional

from textual import events, on, work
from textual.app import App, SystemCommand
from textual.binding import Binding
from textual.markup import escape
from textual.screen import Screen

from .compare import CompareScreen
from .compose import ComposeScreen
from .dashboard import DashboardScreen
from .experiment_screen import ExperimentScreen
from .history import HistoryScreen
from .messages import CompareExperiments, LaunchFinished, OpenExperiment, RunningFound, StopFinished, WatchExperiment
from .plugins_view import PluginsScreen

FIND_RUNNING = 1.0
"""Seconds between looks for an experiment started elsewhere (a stat of the index file when nothing changed)."""


def running_in_index(store) -> list:
    """Ids of the index's experiments that are running (their supervisor alive), oldest first."""
    from ..follow import experiment_status

    records = [r for r in store.experiments() if r.get("status") == "running" and experiment_status(r) == "running"]
    return [r["id"] for r in sorted(records, key=lambda r: r.get("created") or 0)]


class XtuiApp(App):
    CSS_PATH = "app.tcss"
    TITLE = "xtui"
    MODES = {"compose": ComposeScreen, "live": DashboardScreen, "history": HistoryScreen, "plugins": PluginsScreen}
    BINDINGS = [
        Binding("f2", "mode('compose')", "Compose", show=False, tooltip="Compose an experiment, see its plan, launch it"),
        Binding("f3", "mode('live')", "Live", show=False, tooltip="The live dashboard of the watched experiment"),
        Binding("f4", "mode('history')", "History", show=False, tooltip="Every experiment: sort, filter, open, compare"),
        Binding("f5", "mode('plugins')", "Plugins", show=False, tooltip="Plugins, their versions and errors, and tasks"),
        Binding("ctrl+q", "quit", "Quit", priority=True, tooltip="Quit (asks whether to stop running experiments)"),
    ]

    def __init__(self, store=None, registry=None, start: Optional[str] = None, watch: Optional[str] = None) -> None:
        super().__init__()
        from ..plugins import load_plugins
        from ..store import RunStore

        self.store = store or RunStore()
        self.registry = registry or load_plugins()
        self.start = start
        self.watching: Optional[str] = watch
        self.watch_chosen = bool(watch)
        """Whether the watched experiment was chosen (launched here, `w`): else the Live screen moves on to the
        next experiment that starts elsewhere once the watched one has ended."""
        self.launched: dict = {}
        self.opened: list = [watch] if watch else []
        self.stopping = False

    def on_mount(self) -> None:
        mode = self.start or self._start_mode()
        self.switch_mode(mode)
        self.set_interval(2.0, self._reap)
        self._find_running()
        for plugin in self.registry.failed:
            self.notify(f"plugin {plugin.name} ({plugin.distribution} {plugin.version}) failed: {plugin.error}",
                        severity="error", timeout=10)

    def _start_mode(self) -> str:
        """Reopened while an experiment runs: watch it again. Otherwise the history, or compose on first use."""
        try:
            records = self.store.experiments()
            running = running_in_index(self.store)
        except Exception:
            return "history"
        if self.watching:
            return "live"
        if running:
            self.watching = running[-1]
            self.opened.append(self.watching)
            return "live"
        return "history" if records else "compose"

    # -- experiments started elsewhere -------------------------------------------------------------------
    @work(thread=True, exclusive=True, exit_on_error=False, group="find-running")
    def _find_running(self) -> None:
        """Look for a running experiment to follow whenever there is none (or the followed one has ended).

        `xtui run` records an experiment in the index as it starts and again as it ends, so the
        index is read only when its file changed since the last look.
        """
        import time

        from textual.worker import get_current_worker

        from ..follow import experiment_status
        from .history import index_stamp

        worker = get_current_worker()
        looked = None
        while not worker.is_cancelled:
            watching = self.watching
            free = watching is None
            if watching and not self.watch_chosen:  # picked here: free again once it has ended
                record = self.store.read_experiment(watching)
                free = record is None or experiment_status(record) != "running"
            if free:
                stamp = index_stamp(self.store.index_path)
                if stamp != looked:
                    looked = stamp
                    try:
                        running = [r for r in running_in_index(self.store) if r != watching]
                    except Exception:  # a damaged index is the history's to tell
                        running = []
                    if running:
                        self.post_message(RunningFound(running[-1]))
            else:
                looked = None  # once free again, look at once
            time.sleep(FIND_RUNNING)

    @on(RunningFound)
    def running_found(self, message: RunningFound) -> None:
        if (self.watching and self.watch_chosen) or message.experiment_id == self.watching:
            return
        ended = self.watching
        self.watching = message.experiment_id
        if message.experiment_id not in self.opened:
            self.opened.append(message.experiment_id)
        if self.current_mode == "live" and isinstance(self.screen, DashboardScreen) and self.screen.is_mounted:
            self.screen.watch_experiment(message.experiment_id)
        where = "" if self.current_mode == "live" else " (F3)"
        self.notify(f"following {message.experiment_id}, started elsewhere, live{where}"
                    + (f"; {ended} has ended (history: F4)" if ended else ""))

    # -- navigation ------------------------------------------------------------------------------------
    def action_mode(self, mode: str) -> None:
        self.switch_mode(mode)
        for bar in self.screen.query("ModeBar"):
            bar.draw()

    @on(WatchExperiment)
    def watch_experiment(self, message: WatchExperiment) -> None:
        self.watching = message.experiment_id
        self.watch_chosen = True
        if message.experiment_id not in self.opened:
            self.opened.append(message.experiment_id)
        if self.current_mode == "live" and isinstance(self.screen, DashboardScreen) and self.screen.is_mounted:
            self.screen.watch_experiment(message.experiment_id)
        else:
            self.switch_mode("live")  # the dashboard picks up `watching` when it mounts or resumes

    @on(OpenExperiment)
    def open_experiment(self, message: OpenExperiment) -> None:
        self.push_screen(ExperimentScreen(message.experiment_id))

    @on(CompareExperiments)
    def compare_experiments(self, message: CompareExperiments) -> None:
        self.push_screen(CompareScreen(message.experiment_ids))

    # -- launching and stopping -----------------------------------------------------------------------------
    def launch_spec(self, text: str, name: str) -> str:
        """Write the spec, start the supervisor in the background and watch it; returns the experiment id."""
        from ..files import atomic_write_text
        from ..launch import new_experiment_id

        experiment_id = new_experiment_id(name)
        self.store.ensure()
        spec_path = self.store.home / "specs" / f"{experiment_id}.toml"
        atomic_write_text(spec_path, text)
        self._launch(experiment_id, spec_path)
        self.post_message(WatchExperiment(experiment_id))
        self.notify(f"launching {experiment_id}")
        return experiment_id

    @work(thread=True, exit_on_error=False, group="launch")
    def _launch(self, experiment_id: str, spec_path: Path) -> None:
        from ..launch import launch_detached, log_tail, wait_registered

        try:
            launched = launch_detached(self.store, [str(spec_path)], experiment_id)
        except Exception as error:
            self.post_message(LaunchFinished(None, f"cannot start xtui run: {error}"))
            return
        self.launched[experiment_id] = launched
        code = wait_registered(self.store, launched)
        if code is None:
            self.post_message(LaunchFinished(experiment_id))
        else:
            tail = " | ".join(log_tail(launched.log, 3))
            self.post_message(LaunchFinished(None, f"{experiment_id} did not start (exit {code}): {tail} (log: {launched.log})"))

    @on(LaunchFinished)
    def launch_finished(self, message: LaunchFinished) -> None:
        if message.error:
            self.notify(message.error, severity="error", timeout=20)

    def _reap(self) -> None:
        for launched in self.launched.values():
            launched.process.poll()

    def running_experiments(self) -> list:
        """Experiments this session launched or watched that are still running."""
        from ..follow import experiment_status

        ids = list(dict.fromkeys(list(self.launched) + self.opened))
        running = []
        for experiment_id in ids:
            record = self.store.read_experiment(experiment_id)
            if record and experiment_status(record) == "running":
                running.append(experiment_id)
        return running

    def stop_experiments(self, ids: list, then_exit: bool = False) -> None:
        self.stopping = True
        self._stop(list(ids), then_exit)

    @work(thread=True, exit_on_error=False, group="stop")
    def _stop(self, ids: list, then_exit: bool) -> None:
        from ..launch import stop_experiment

        for experiment_id in ids:
            record = self.store.read_experiment(experiment_id)
            if not record:
                continue
            try:
                lines = stop_experiment(self.store, record)
                self.post_message(StopFinished(experiment_id, lines))
            except Exception as error:
                self.post_message(StopFinished(experiment_id, [], str(error)))
        self._reap()
        self.stopping = False
        if then_exit:
            self.call_from_thread(self.exit)

    @on(StopFinished)
    def stop_finished(self, message: StopFinished) -> None:
        if message.error:
            self.notify(f"{message.experiment_id}: {message.error}", severity="error", timeout=15)
        for line in message.lines:
            self.notify(line)

    async def action_quit(self) -> None:
        from .choice_dialog import ChoiceDialog

        running = self.running_experiments()
        if not running:
            self.exit()
            return

        def chosen(answer) -> None:
            if answer == "stop":
                self.notify(f"stopping {len(running)} experiment(s)…")
                self.stop_experiments(running, then_exit=True)
            elif answer == "leave":
                self.exit(result=f"left running: {', '.join(running)} (follow with `xtui attach ID` or reopen `xtui`)")

        body = ("Still running:\n" + "\n".join(f"  {r}" for r in running) +
                "\n\nStop them (their stages end; finished ones are kept), or leave them running in the background?")
        self.push_screen(ChoiceDialog("Quit xtui", body, [("leave", "Leave running", "l"), ("stop", "Stop them", "s"),
                                                          ("cancel", "Cancel", "c")]), chosen)

    # -- screenshots ---------------------------------------------------------------------------------------
    def deliver_screenshot(self, filename: Optional[str] = None, path: Optional[str] = None,
                           time_format: Optional[str] = None) -> Optional[str]:
        """The palette's Screenshot: into ``$XTUI_HOME/screenshots`` (Textual's default, ~/Downloads, is often
        missing on the servers xtui runs on, and it then failed with a bare "Failed to save screenshot")."""
        if path is None:
            folder = self.store.home / "screenshots"
            try:
                folder.mkdir(parents=True, exist_ok=True)
            except OSError as error:
                self.notify(f"cannot save a screenshot in {folder}: {error.strerror}", severity="error", timeout=15)
                return None
            path = str(folder)
        return super().deliver_screenshot(filename, path, time_format)

    @on(events.DeliveryFailed)
    def _screenshot_failed(self, event: events.DeliveryFailed) -> None:
        if event.name == "screenshot":
            event.prevent_default()  # Textual's own says only "Failed to save screenshot"
            self.notify(f"could not save the screenshot: {event.exception}", severity="error", timeout=15)

    # -- the command palette: one entry per action of the screen ---------------------------------------------
    def get_system_commands(self, screen: Screen) -> Iterable[SystemCommand]:
        seen = set()
        # Every xtui binding along the focus chain, also those a focused widget shadows (enter in a table).
        for node, bindings in screen._modal_binding_chain:
            for binding in (b for group in bindings.key_to_bindings.values() for b in group):
                if not binding.description or binding.system or (node, binding.description) in seen:
                    continue
                own = [b for cls in type(node).__mro__ if cls.__module__.startswith("xtui.")
                       for b in cls.__dict__.get("BINDINGS", [])]
                if not any(getattr(b, "action", b[1] if isinstance(b, tuple) else None) == binding.action for b in own):
                    continue  # Textual's own keys (a table's cursor, focus cycling) are not the app's actions
                if not node.check_action(binding.action.split("(")[0], ()):
                    continue
                seen.add((node, binding.description))
                # the palette reads help as markup: a key such as "/" or "[" must not become a tag
                help_text = escape(f"{binding.tooltip or binding.description}  [{self.get_key_display(binding)}]")
                yield SystemCommand(binding.description, help_text,
                                    partial(self.call_next, self.run_action, binding.action, node))
        titles = {description for _, description in seen}
        if "Reindex" not in titles:
            yield SystemCommand("Reindex", "Rebuild the index from the run directories (xtui runs reindex)", self._reindex)
        for command in super().get_system_commands(screen):
            if command.title not in ("Quit",):
                yield command

    @work(thread=True, exit_on_error=False)
    def _reindex(self) -> None:
        experiments, stages = self.store.reindex()
        self.call_from_thread(self.notify, f"reindexed {experiments} experiments and {stages} stages")
