"""Every stage of an experiment: status, progress, loss, examples/s, elapsed and ETA."""

from __future__ import annotations

import time

from rich.text import Text
from textual.widgets import DataTable

from .formatting import duration, progress_bar, status_text

COLUMNS = (("status", "status"), ("stage", "stage"), ("intermediate", "interm."), ("language", "lang"), ("shots", "K/set"),
           ("progress", "progress"), ("loss", "loss"), ("speed", "ex/s"), ("elapsed", "elapsed"), ("eta", "ETA"),
           ("score", "score"), ("hash", "hash"))


def _cells(stage, now: float) -> dict:
    label = stage.grid
    shots = ""
    if stage.type == "fewshot":
        shots = f"{label.get('shots')}/{label.get('shot_set')}"
    elif stage.type == "evaluate":
        shots = "0"
    score = ""
    if stage.metrics:
        metric, value = next(iter(stage.metrics.items()))
        if isinstance(value, (int, float)):
            score = f"{metric[:3]} {100 * value:.1f}"
    if stage.status in ("done", "reused") and stage.total:
        progress = progress_bar(stage.total, stage.total)
    else:
        progress = progress_bar(stage.step, stage.total)
    return {
        "status": status_text(stage.status),
        "stage": stage.type,
        "intermediate": label.get("intermediate") or "",
        "language": label.get("language") or ("en" if stage.type in ("intermediate", "target") else ""),
        "shots": shots,
        "progress": progress,
        "loss": f"{stage.loss:.4f}" if isinstance(stage.loss, (int, float)) else "",
        "speed": f"{stage.speed:.0f}" if isinstance(stage.speed, (int, float)) and stage.status == "running" else "",
        "elapsed": duration(stage.elapsed(now)) if stage.started or stage.seconds else "",
        "eta": duration(stage.eta(now)) if stage.eta(now) is not None else "",
        "score": score,
        "hash": Text(stage.short, style="dim"),
    }


class StageTable(DataTable):
    """Rows keyed by stage hash; only stages whose version changed are redrawn."""

    def __init__(self, **kwargs) -> None:
        super().__init__(cursor_type="row", zebra_stripes=True, **kwargs)
        self._versions: dict = {}

    def on_mount(self) -> None:
        for key, label in COLUMNS:
            self.add_column(label, key=key)

    def update_stages(self, stages: dict, force_running: bool = True) -> int:
        """Add or refresh rows; returns how many rows were redrawn."""
        now = time.time()
        redrawn = 0
        for digest, stage in stages.items():
            seen = self._versions.get(digest)
            # Running stages tick (elapsed, ETA) even without new events.
            if seen == stage.version and not (force_running and stage.status == "running"):
                continue
            cells = _cells(stage, now)
            if seen is None:
                self.add_row(*(cells[key] for key, _ in COLUMNS), key=digest)
            else:
                for key, _ in COLUMNS:
                    self.update_cell(digest, key, cells[key], update_width=True)
            self._versions[digest] = stage.version
            redrawn += 1
        return redrawn

    @property
    def selected_hash(self):
        if not self.row_count:
            return None
        try:
            return self.coordinate_to_cell_key(self.cursor_coordinate).row_key.value
        except Exception:
            return None
