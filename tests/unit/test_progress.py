"""The live progress lines of `xtui run` / `xtui attach` on a terminal: every state a stage can be
in, at every width, drawn the way Rich draws them on a real terminal (force_terminal)."""

from __future__ import annotations

import io
import re

import pytest
from rich.console import Console

from xtui.follow import StageState
from xtui.progress import PlainDisplay, RichDisplay, done_summary, make_display


ANSI = re.compile(r"\x1b\[[0-9;?]*[A-Za-z]")


class _Plan:
    def __init__(self, stages):
        self.stages = {s.hash: s for s in stages}


def _stage(number: int, type_: str, **grid) -> StageState:
    digest = f"{number:02d}" * 32
    return StageState(digest, type_, None, {"intermediate": "anli", "task": "xnli", "seed": 1, **grid})


TRAINING = _stage(1, "target")
EVALUATE = _stage(2, "evaluate", language="de", shots=0)
FEWSHOT = _stage(3, "fewshot", language="sw", shots=9, shot_set=2)
ADOPTED = _stage(4, "fewshot", language="de", shots=9, shot_set=0)
FAILING = _stage(5, "fewshot", language="de", shots=9, shot_set=1)
REUSED = _stage(6, "intermediate")
ELSEWHERE = _stage(7, "fewshot", language="sw", shots=9, shot_set=0)
STAGES = [TRAINING, EVALUATE, FEWSHOT, ADOPTED, FAILING, REUSED, ELSEWHERE]

# Every state in the order a run goes through them; after each, the display is drawn.
SCRIPT = [
    ("status", REUSED, "reused", ""),
    ("status", TRAINING, "queued", ""),
    ("status", ADOPTED, "adopted", "worker process group 4242"),
    ("status", TRAINING, "running", ""),
    ("event", TRAINING, {"event": "start", "type": "target"}),
    ("event", TRAINING, {"event": "train", "total_steps": 300, "start_step": 0}),
    ("event", TRAINING, {"event": "step", "step": 3, "total": 300, "loss": 1.0986, "examples_per_second": 12.5,
                         "flops_per_second": 4.1e9, "mfu": 0.23}),
    ("event", TRAINING, {"event": "step", "step": 4, "total": 300, "loss": float("nan")}),  # a step without speed
    ("event", TRAINING, {"event": "eval", "split": "validation", "step": 150, "metrics": {"accuracy": 0.41}}),
    ("status", EVALUATE, "queued", ""),
    ("status", EVALUATE, "running", ""),
    ("event", EVALUATE, {"event": "start", "type": "evaluate"}),
    ("status", FEWSHOT, "running", ""),
    ("event", FEWSHOT, {"event": "resume", "step": 5, "total": 10}),
    ("status", ELSEWHERE, "elsewhere", "another xtui supervisor is running this stage"),
    ("status", FAILING, "running", ""),
    ("status", FAILING, "failed", "out of memory: CUDA out of memory (lower batch_size)"),
    ("event", EVALUATE, {"event": "eval", "split": "test", "language": "de", "metrics": {"accuracy": 0.5}}),
    ("event", EVALUATE, {"event": "done", "metric": "accuracy", "metrics": {"accuracy": 0.5, "macro_f1": 0.4},
                         "seconds": 3.2}),
    ("status", EVALUATE, "done", ""),
    ("status", FEWSHOT, "stopped", "stopped by SIGINT"),
]


class _NoLive:
    def __enter__(self):
        return self

    def __exit__(self, *exc):
        return False


def _play(display, console, buffer, width):
    drawn = []
    # not started: the live refresh thread would draw into the buffer between our frames
    with (display if not isinstance(display, RichDisplay) else _NoLive()):
        for kind, stage, *rest in SCRIPT:
            if kind == "status":
                display.on_status(stage, *rest)
            else:
                display.on_event(stage, rest[0])
            if isinstance(display, RichDisplay):
                buffer.seek(0)
                buffer.truncate()
                console.print(display.progress.make_tasks_table(display.progress.tasks))
                drawn.append(ANSI.sub("", buffer.getvalue()))
    return drawn


@pytest.mark.parametrize("width", [30, 60, 80, 120, 200])
def test_every_state_draws_within_the_terminal_width(width):
    buffer = io.StringIO()
    console = Console(file=buffer, force_terminal=True, width=width, color_system=None, legacy_windows=False)
    display = make_display(console, _Plan(STAGES))
    assert isinstance(display, RichDisplay)
    drawn = _play(display, console, buffer, width)
    for frame in drawn:
        for line in frame.splitlines():
            assert len(line) <= width, f"{line!r} is wider than {width}"
    # the live lines say what each stage is doing, at any width
    assert "loading" in drawn[3] or "load" in drawn[3]
    assert "3/300" in drawn[6]
    assert "evaluating" in drawn[11] or width < 60
    if width >= 80:
        assert "loss 1.0986" in drawn[6]
        assert "loss -" in drawn[7], "a NaN loss is shown as -, not as nan"
    assert "resuming" in drawn[13] or width < 60
    # the overall line counts the stages by state
    assert "stages:" in drawn[-1]
    if width >= 120:
        assert "1 reused" in drawn[-1] and "1 failed" in drawn[-1] and "1 done" in drawn[-1]


def test_finished_failed_and_other_states_are_printed_as_lines():
    buffer = io.StringIO()
    console = Console(file=buffer, force_terminal=True, width=120, color_system=None)
    display = make_display(console, _Plan(STAGES))
    with display:
        for kind, stage, *rest in SCRIPT:
            if kind == "status":
                display.on_status(stage, *rest)
            else:
                display.on_event(stage, rest[0])
    text = buffer.getvalue()
    assert f"adopted  {ADOPTED.short}" in text
    assert f"elsewhere {ELSEWHERE.short}" in text
    assert f"failed   {FAILING.short} fewshot anli xnli de K=9 set 1 seed 1: out of memory" in text
    assert f"stopped  {FEWSHOT.short}" in text
    assert f"finished {EVALUATE.short} evaluate anli xnli de seed 1  accuracy 50.0  3s" in text
    assert f"validate {TRAINING.short} step 150: accuracy 41.0" in text


def test_plain_lines_without_a_terminal():
    buffer = io.StringIO()
    console = Console(file=buffer, force_terminal=False, width=100)
    display = make_display(console, _Plan(STAGES))
    assert isinstance(display, PlainDisplay) and not isinstance(display, RichDisplay)
    _play(display, console, buffer, 100)
    text = buffer.getvalue()
    assert "step     " + TRAINING.short + " 3/300 loss 1.0986 12.5 ex/s" in text
    assert "failed   " + FAILING.short in text
    assert "finished " + EVALUATE.short in text and "accuracy 50.0" in text


def test_done_summary_uses_the_metric_the_worker_names():
    assert done_summary({"metric": "f1", "metrics": {"exact_match": 0.4, "f1": 0.55}, "seconds": 2}) == "f1 55.0  2s"
    assert done_summary({"metrics": {"accuracy": 0.5}, "seconds": None}) == "accuracy 50.0  0s"
    assert done_summary({}) == "0s"


@pytest.mark.parametrize("width", [80, 200])
def test_a_requeued_job_gets_a_line_and_its_live_line_waits_again(width):
    buffer = io.StringIO()
    console = Console(file=buffer, force_terminal=True, width=width, color_system=None, legacy_windows=False)
    display = make_display(console, _Plan([TRAINING]))
    for event in ({"event": "start", "type": "target"}, {"event": "train", "total_steps": 300, "start_step": 0},
                  {"event": "step", "step": 120, "total": 300, "loss": 0.5}, {"event": "checkpoint", "step": 120},
                  {"event": "preempted", "signal": "SIGUSR1", "job": "41", "restart": 1}):
        display.on_event(TRAINING, event)
    printed = ANSI.sub("", buffer.getvalue())
    assert f"requeued {TRAINING.short} target anli xnli seed 1: SIGUSR1 before the time limit" in printed.replace("\n", "")
    buffer.seek(0)
    buffer.truncate()
    console.print(display.progress.make_tasks_table(display.progress.tasks))
    live = ANSI.sub("", buffer.getvalue())
    assert "requeued" in live and "120/300" not in live, live
    display.on_event(TRAINING, {"event": "train", "total_steps": 300, "start_step": 120})
    buffer.seek(0)
    buffer.truncate()
    console.print(display.progress.make_tasks_table(display.progress.tasks))
    assert "120/300" in ANSI.sub("", buffer.getvalue())  # started again, from the checkpoint
