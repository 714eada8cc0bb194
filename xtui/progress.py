"""Headless progress for ``xtui run`` and ``xtui attach``: Rich on a terminal, plain lines otherwise.

A stage is anything with ``hash``, ``short`` and ``describe()`` (a plan's ``StageConfig`` or a
follower's ``StageState``). Its live line goes through every state a stage can be in: ``starting`` (its worker is
launched, loading the model), ``running`` before the total is known (``loading`` data,
``evaluating`` for stages without training), training with a known total, and gone once it
is done, failed or stopped (a line says which). Reused, adopted, blocked and elsewhere stages
are told as lines. The columns shown follow the terminal's width at every repaint, so a
narrow terminal or a resize never breaks a line.
"""

from __future__ import annotations

import time
from typing import Optional

from rich.console import Console


def speed_text(event: dict, digits: int = 1) -> str:
    """``12.3 ex/s · 4.1 GFLOP/s · MFU 23%`` from a step (or done) event; parts it lacks are left out."""
    parts = [f"{event['examples_per_second']:.{digits}f} ex/s"] if _number(event.get("examples_per_second")) else []
    flops = event.get("flops_per_second")
    if _number(flops) and flops > 0:
        parts.append(f"{flops / 1e12:.2f} TFLOP/s" if flops >= 1e12 else f"{flops / 1e9:.1f} GFLOP/s")
    if _number(event.get("mfu")):
        mfu = 100 * event["mfu"]
        parts.append(f"MFU {mfu:.0f}%" if mfu >= 10 else f"MFU {mfu:.1f}%")
    return " · ".join(parts)


def _number(value) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool) and value == value


def done_summary(event: dict) -> str:
    """``accuracy 55.0  12s  (130 ex/s …)`` from a done event: its headline metric (which the
    worker names), the time, and the training speed when the stage trained."""
    metrics = event.get("metrics") or {}
    metric = event.get("metric") if event.get("metric") in metrics else next(iter(metrics), None)
    value = metrics.get(metric) if metric else None
    shown = f"{metric} {100 * value:.1f}" if _number(value) else ""
    seconds = event.get("seconds")
    speed = f"  ({speed_text(event)})" if "flops_per_second" in event else ""
    return f"{shown}  {seconds if _number(seconds) else 0:.0f}s{speed}".strip()


def _validation_text(event: dict) -> str:
    text = ", ".join(f"{k} {100 * v:.1f}" for k, v in (event.get("metrics") or {}).items() if _number(v))
    if event.get("early_stop"):
        text += f"; early stop: no improvement in {event['early_stop']} evaluations"
    return text


def _loss_text(event: dict) -> str:
    return f"{event['loss']:.4f}" if _number(event.get("loss")) else "-"


class PlainDisplay:
    """One line per state change, and a progress line per stage at most every ``every`` seconds."""

    def __init__(self, console: Console, plan=None, every: float = 10.0):
        self.console = console
        self.every = every
        self.last: dict = {}

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        return False

    def line(self, text: str) -> None:
        self.console.print(text, highlight=False, soft_wrap=True, markup=False)

    def on_status(self, stage, status: str, detail: str) -> None:
        if status in ("queued", "done", "reused"):
            return  # "done" is told by the stage's done event with its score; "reused" by the run's header line
        suffix = f": {detail}" if detail else ""
        self.line(f"{time.strftime('%H:%M:%S')} {status:<8} {stage.short} {stage.describe()}{suffix}")

    def on_event(self, stage, event: dict) -> None:
        kind = event.get("event")
        if kind == "step":
            now = time.time()
            if now - self.last.get(stage.hash, 0) >= self.every or event.get("step") == event.get("total"):
                self.last[stage.hash] = now
                self.line(f"{time.strftime('%H:%M:%S')} step     {stage.short} {event.get('step')}/{event.get('total')} "
                          f"loss {_loss_text(event)} {speed_text(event)}".rstrip())
        elif kind == "eval" and event.get("split") == "validation":
            self.line(f"{time.strftime('%H:%M:%S')} validate {stage.short} step {event.get('step')}: {_validation_text(event)}")
        elif kind == "phase":
            self.line(f"{time.strftime('%H:%M:%S')} {phase_text(stage, event)}")
        elif kind == "done":
            self.line(f"{time.strftime('%H:%M:%S')} finished {stage.short} {stage.describe()} {done_summary(event)}")
        elif kind == "preempted":
            self.line(f"{time.strftime('%H:%M:%S')} {preempted_text(stage, event)}")


def preempted_text(stage, event: dict) -> str:
    """``requeued <stage> ...``: warned of its time limit, a Slurm job checkpointed and put itself back in the queue."""
    return (f"requeued {stage.short} {stage.describe()}: {event.get('signal')} before the time limit, checkpoint "
            f"saved; Slurm job {event.get('job')} back in the queue (restart {event.get('restart')})")


def phase_text(stage, event: dict) -> str:
    """``phase    <stage> 1/2: train on siqa``: a target stage's recipe moving on to its next task."""
    return f"phase    {stage.short} {event.get('phase')}/{event.get('phases')}: train on {event.get('task')}"


# What each live line says before its training total is known.
STATE_TEXT = {"queued": "starting", "running": "loading", "evaluating": "evaluating", "resuming": "resuming",
              "requeued": "requeued"}
LINE_COLOURS = {"failed": "red", "stopped": "yellow", "blocked": "yellow", "adopted": "cyan", "elsewhere": "yellow",
                "resubmitted": "yellow"}


class RichDisplay(PlainDisplay):
    """A live line per stage in flight; finished stages collapse to a summary line."""

    def __init__(self, console: Console, plan=None):
        super().__init__(console, plan)
        self.progress = _AdaptiveProgress(console)
        self.tasks: dict = {}
        self.statuses: dict = {}
        stages = getattr(plan, "stages", None) or {}
        self.total = len(stages)
        # One line over the whole experiment; a group's queued stages wait there, not as lines of their own.
        self.overall = self.progress.add_task("", total=self.total or None, name="stages", state="", loss="", speed="")
        self._count()

    def __enter__(self):
        self.progress.start()
        return self

    def __exit__(self, *exc):
        self.progress.stop()
        return False

    def line(self, text: str, style: Optional[str] = None) -> None:
        from rich.text import Text

        self.progress.console.print(Text(text, style=style or ""), highlight=False, soft_wrap=True)

    def _count(self) -> None:
        from collections import Counter

        counts = Counter(self.statuses.values())
        finished = sum(counts[s] for s in ("done", "reused", "failed", "stopped", "blocked"))
        order = ("running", "queued", "done", "reused", "failed", "stopped", "blocked", "elsewhere", "adopted")
        text = ", ".join(f"{counts[s]} {s}" for s in order if counts[s])
        self.progress.update(self.overall, completed=finished, name=f"stages: {text or 'starting'}",
                             state=f"{finished}/{self.total}" if self.total else "")

    def _task(self, stage, state: str = "running"):
        if stage.hash not in self.tasks:
            self.tasks[stage.hash] = self.progress.add_task(
                "", total=None, name=f"{stage.short} {stage.describe()}", state=STATE_TEXT.get(state, state), loss="",
                speed="")
        return self.tasks[stage.hash]

    def _set(self, stage, **fields) -> None:
        self.progress.update(self._task(stage), **fields)

    def on_status(self, stage, status: str, detail: str) -> None:
        self.statuses[stage.hash] = status
        self._count()
        if status == "queued":
            return
        if status == "running":
            self._set(stage, state=STATE_TEXT[status])
            return
        if stage.hash in self.tasks:
            self.progress.remove_task(self.tasks.pop(stage.hash))
        if status in LINE_COLOURS:
            self.line(f"{status:<8} {stage.short} {stage.describe()}" + (f": {detail}" if detail else ""),
                      style=LINE_COLOURS[status])

    def on_event(self, stage, event: dict) -> None:
        kind = event.get("event")
        if kind == "start":
            self._set(stage, state="evaluating" if event.get("type") == "evaluate" else "loading")
        elif kind == "resume":
            self._set(stage, state="resuming")
        elif kind == "phase":
            self.line(phase_text(stage, event), style="cyan")
        elif kind == "preempted":  # a fresh line: the job waits in the queue again, its clock and eta stop
            if stage.hash in self.tasks:
                self.progress.remove_task(self.tasks.pop(stage.hash))
            self._task(stage, "requeued")
            self.line(preempted_text(stage, event), style="yellow")
        elif kind == "train" and _number(event.get("total_steps")):
            self._set(stage, total=event["total_steps"], completed=event.get("start_step") or 0, state="training")
        elif kind == "step" and _number(event.get("step")):
            fields = {"completed": event["step"], "loss": _loss_text(event), "speed": speed_text(event, 0),
                      "state": "training"}
            if _number(event.get("total")):
                fields["total"] = event["total"]
            self._set(stage, **fields)
        elif kind == "eval" and event.get("split") == "validation":
            self.line(f"validate {stage.short} step {event.get('step')}: {_validation_text(event)}", style="cyan")
        elif kind == "eval":
            self._set(stage, state="evaluated")
        elif kind == "done":
            if stage.hash in self.tasks:
                self.progress.remove_task(self.tasks.pop(stage.hash))
            self.statuses[stage.hash] = "done"
            self._count()
            self.line(f"finished {stage.short} {stage.describe()}  {done_summary(event)}", style="green")


def _clock(seconds) -> str:
    if seconds is None:
        return ""
    seconds = int(seconds)
    return f"{seconds // 3600}:{seconds // 60 % 60:02d}:{seconds % 60:02d}"


def _steps_text(task) -> str:
    """``12/300`` once the total is known; the stage's state (``starting``, ``evaluating``...) before."""
    if task.total is None:
        return task.fields.get("state") or "running"
    return f"{task.completed:.0f}/{task.total:.0f}"


class _AdaptiveProgress:
    """A Rich ``Progress`` whose columns fit the terminal's width at each repaint: the stage's
    name gets the room that is left (cut with an ellipsis), and the less important columns go
    first on narrow terminals. Created lazily so importing this module stays light."""

    def __new__(cls, console: Console):
        from rich.progress import BarColumn, Progress, ProgressColumn
        from rich.table import Column
        from rich.text import Text

        class Field(ProgressColumn):
            def __init__(self, render, width: Optional[int] = None, ratio: Optional[int] = None, style: str = ""):
                self._render, self._style = render, style
                super().__init__(table_column=Column(no_wrap=True, overflow="ellipsis", width=width, ratio=ratio,
                                                     min_width=8 if ratio else None))

            def render(self, task):
                return Text(self._render(task), style=self._style, no_wrap=True, overflow="ellipsis")

        name = Field(lambda t: t.fields.get("name", ""), ratio=1)
        steps = Field(_steps_text, style="bold")
        loss = Field(lambda t: f"loss {t.fields['loss']}" if t.fields.get("loss") else "")
        speed = Field(lambda t: t.fields.get("speed", ""))
        short_speed = Field(lambda t: (t.fields.get("speed") or "").split(" · ")[0])
        elapsed = Field(lambda t: _clock(t.elapsed))
        eta = Field(lambda t: f"eta {_clock(t.time_remaining)}" if t.total is not None and t.time_remaining is not None
                    and t.completed else "")
        layouts = (  # (minimum width, columns)
            (150, (name, BarColumn(bar_width=24), steps, loss, speed, elapsed, eta)),
            (110, (name, BarColumn(bar_width=16), steps, loss, short_speed, elapsed, eta)),
            (80, (name, BarColumn(bar_width=10), steps, loss, eta)),
            (60, (name, steps, loss)),
            (0, (name, steps)),
        )

        class Adaptive(Progress):
            def make_tasks_table(self, tasks):
                width = console.width
                self.columns = next(columns for minimum, columns in layouts if width >= minimum)
                return super().make_tasks_table(tasks)

        return Adaptive(*layouts[0][1], console=console, transient=True, expand=True, refresh_per_second=4)


def make_display(console: Console, plan=None):
    return RichDisplay(console, plan) if console.is_terminal else PlainDisplay(console, plan)
