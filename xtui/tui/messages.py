"""Messages the app's widgets and workers post (plain classes, as in harlequin).

Updates that arrive in bursts replace the pending one of their kind (``can_replace``, as in
toolong), so a stream of loss updates costs one repaint.
"""

from __future__ import annotations

from typing import Optional

from textual.message import Message


class ExperimentUpdated(Message):
    """A poll of an experiment's run directories: the whole picture, not a delta."""

    def __init__(self, experiment_id: str, experiment: dict, status: str, stages: dict, results: Optional[tuple],
                 counts: dict) -> None:
        super().__init__()
        self.experiment_id = experiment_id
        self.experiment = experiment
        self.status = status
        self.stages = stages
        """hash -> StageState snapshot (a copy the UI may read)."""
        self.results = results
        """(tidy rows, summary tables) of the finished stages, or None when they did not change."""
        self.counts = counts

    def can_replace(self, message: Message) -> bool:
        # The newer snapshot supersedes the older one, but results must not get lost in between.
        if isinstance(message, ExperimentUpdated) and message.experiment_id == self.experiment_id:
            if message.results is None:
                message.results = self.results
            return True
        return False


class ExperimentsListed(Message):
    """The index (history) as read by a worker."""

    def __init__(self, records: list, error: Optional[str] = None) -> None:
        super().__init__()
        self.records = records
        self.error = error

    def can_replace(self, message: Message) -> bool:
        return isinstance(message, ExperimentsListed)


class PlanChecked(Message):
    """The compose form's spec validated and expanded into a plan (or why it cannot be)."""

    def __init__(self, generation: int, summary: Optional[dict], error: Optional[str]) -> None:
        super().__init__()
        self.generation = generation
        self.summary = summary
        self.error = error

    def can_replace(self, message: Message) -> bool:
        return isinstance(message, PlanChecked)


class LaunchFinished(Message):
    """The background supervisor was started (experiment_id) or failed to start (error)."""

    def __init__(self, experiment_id: Optional[str], error: Optional[str] = None) -> None:
        super().__init__()
        self.experiment_id = experiment_id
        self.error = error


class WatchExperiment(Message):
    """Show this experiment in the live dashboard."""

    def __init__(self, experiment_id: str) -> None:
        super().__init__()
        self.experiment_id = experiment_id


class RunningFound(Message):
    """An experiment started elsewhere (``xtui run`` in another terminal, another app) is running."""

    def __init__(self, experiment_id: str) -> None:
        super().__init__()
        self.experiment_id = experiment_id

    def can_replace(self, message: Message) -> bool:
        return isinstance(message, RunningFound)


class OpenExperiment(Message):
    """Open an experiment's detail view (spec, stages, results)."""

    def __init__(self, experiment_id: str) -> None:
        super().__init__()
        self.experiment_id = experiment_id


class CompareExperiments(Message):
    """Compare two or more experiments."""

    def __init__(self, experiment_ids: list) -> None:
        super().__init__()
        self.experiment_ids = list(experiment_ids)


class StopFinished(Message):
    """Stopping an experiment ended; lines say what happened."""

    def __init__(self, experiment_id: str, lines: list, error: Optional[str] = None) -> None:
        super().__init__()
        self.experiment_id = experiment_id
        self.lines = lines
        self.error = error
