"""Headless progress for ``xtui run`` and ``xtui attach``: Rich on a terminal, plain lines otherwise."""

from __future__ import annotations

import time

from rich.console import Console

from .plan import Stage


def speed_text(event: dict, digits: int = 1) -> str:
    """``12.3 ex/s · 4.1 GFLOP/s · MFU 23%`` from a step (or done) event; parts it lacks are left out."""
    parts = [f"{event['examples_per_second']:.{digits}f} ex/s"] if isinstance(event.get("examples_per_second"), (int, float)) else []
    flops = event.get("flops_per_second")
    if isinstance(flops, (int, float)) and flops > 0:
        parts.append(f"{flops / 1e12:.2f} TFLOP/s" if flops >= 1e12 else f"{flops / 1e9:.1f} GFLOP/s")
    if isinstance(event.get("mfu"), (int, float)):
        mfu = 100 * event["mfu"]
        parts.append(f"MFU {mfu:.0f}%" if mfu >= 10 else f"MFU {mfu:.1f}%")
    return " · ".join(parts)


def _summary(stage: Stage, event: dict, metric: str) -> str:
    metrics = event.get("metrics") or {}
    value = metrics.get(metric)
    shown = f"{metric} {100 * value:.1f}" if isinstance(value, (int, float)) else ""
    speed = f"  ({speed_text(event)})" if "flops_per_second" in event else ""
    return f"{shown}  {event.get('seconds', 0):.0f}s{speed}".strip()


class PlainDisplay:
    """One line per state change, and a progress line per stage at most every ``every`` seconds."""

    def __init__(self, console: Console, plan, every: float = 10.0):
        self.console = console
        self.plan = plan
        self.every = every
        self.last: dict = {}
        self.metric: dict = {}

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        return False

    def line(self, text: str) -> None:
        self.console.print(text, highlight=False, soft_wrap=True)

    def on_status(self, stage: Stage, status: str, detail: str) -> None:
        if status in ("queued", "done", "reused"):
            return  # "done" is told by the stage's done event with its score; "reused" by the run's header line
        suffix = f": {detail}" if detail else ""
        self.line(f"{time.strftime('%H:%M:%S')} {status:<8} {stage.short} {stage.describe()}{suffix}")

    def on_event(self, stage: Stage, event: dict) -> None:
        kind = event.get("event")
        if kind == "step":
            now = time.time()
            if now - self.last.get(stage.hash, 0) >= self.every or event["step"] == event["total"]:
                self.last[stage.hash] = now
                self.line(f"{time.strftime('%H:%M:%S')} step     {stage.short} {event['step']}/{event['total']} "
                          f"loss {event['loss']:.4f} {speed_text(event)}")
        elif kind == "eval" and event.get("split") == "validation":
            metrics = ", ".join(f"{k} {100 * v:.1f}" for k, v in event.get("metrics", {}).items())
            self.line(f"{time.strftime('%H:%M:%S')} validate {stage.short} step {event.get('step')}: {metrics}")
        elif kind == "done":
            self.line(f"{time.strftime('%H:%M:%S')} finished {stage.short} {stage.describe()} "
                      f"{_summary(stage, event, self.plan_metric(stage))}")

    def plan_metric(self, stage: Stage) -> str:
        from .plugins import load_plugins

        task = load_plugins().tasks.get(stage.labels.get("task"))
        return task.metric if task else "accuracy"


class RichDisplay(PlainDisplay):
    """A live progress line per running stage; finished stages collapse to a summary line."""

    def __init__(self, console: Console, plan):
        super().__init__(console, plan)
        from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn, TimeRemainingColumn

        self.progress = Progress(
            TextColumn("{task.fields[name]}"),
            BarColumn(bar_width=24),
            TextColumn("{task.completed:>5.0f}/{task.total:<5.0f}"),
            TextColumn("loss {task.fields[loss]}"),
            TextColumn("{task.fields[speed]}"),
            TimeElapsedColumn(),
            TextColumn("eta"),
            TimeRemainingColumn(),
            console=console,
            transient=True,
        )
        self.tasks: dict = {}

    def __enter__(self):
        self.progress.start()
        return self

    def __exit__(self, *exc):
        self.progress.stop()
        return False

    def line(self, text: str) -> None:
        self.progress.console.print(text, highlight=False, soft_wrap=True)

    def _task(self, stage: Stage):
        if stage.hash not in self.tasks:
            self.tasks[stage.hash] = self.progress.add_task("", total=None, name=f"{stage.short} {stage.describe()}",
                                                            loss="-", speed="")
        return self.tasks[stage.hash]

    def on_status(self, stage: Stage, status: str, detail: str) -> None:
        if status == "running":
            self._task(stage)
            return
        if status in ("done", "failed", "stopped") and stage.hash in self.tasks:
            self.progress.remove_task(self.tasks.pop(stage.hash))
        if status in ("failed", "stopped", "blocked", "adopted", "elsewhere"):
            color = {"failed": "red", "stopped": "yellow", "blocked": "yellow", "adopted": "cyan", "elsewhere": "yellow"}[status]
            self.line(f"[{color}]{status:<8}[/{color}] {stage.short} {stage.describe()}" + (f": {detail}" if detail else ""))

    def on_event(self, stage: Stage, event: dict) -> None:
        kind = event.get("event")
        if kind == "train":
            self.progress.update(self._task(stage), total=event["total_steps"], completed=0)
        elif kind == "step":
            self.progress.update(self._task(stage), completed=event["step"], total=event["total"],
                                 loss=f"{event['loss']:.4f}", speed=speed_text(event, 0))
        elif kind == "eval" and event.get("split") == "validation":
            metrics = ", ".join(f"{k} {100 * v:.1f}" for k, v in event.get("metrics", {}).items())
            self.line(f"[cyan]validate[/cyan] {stage.short} step {event.get('step')}: {metrics}")
        elif kind == "done":
            self.line(f"[green]finished[/green] {stage.short} {stage.describe()}  {_summary(stage, event, self.plan_metric(stage))}")


def make_display(console: Console, plan):
    return RichDisplay(console, plan) if console.is_terminal else PlainDisplay(console, plan)
