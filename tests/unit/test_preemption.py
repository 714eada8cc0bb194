"""What a worker does with a scheduler's signals (xtui.worker.events.Preemption); the real thing, a Slurm job
warned of its time limit that checkpoints and requeues itself, runs in tests/integration/test_slurm.py."""

from __future__ import annotations

import signal

import pytest

from xtui.worker.events import Preempted, Preemption, Stopped


@pytest.fixture(autouse=True)
def fresh():
    Preemption.requested, Preemption.training = "", False
    yield
    Preemption.requested, Preemption.training = "", False


def test_a_warning_asks_for_a_checkpoint_and_never_interrupts():
    Preemption.handle(signal.SIGUSR1, None)
    assert Preemption.requested == "SIGUSR1"
    Preemption.handle(signal.SIGUSR1, None)  # warned twice: still only asked
    assert Preemption.requested == "SIGUSR1"


def test_sigterm_waits_for_the_step_while_training_and_a_second_signal_stops_at_once():
    Preemption.training = True
    Preemption.handle(signal.SIGTERM, None)
    assert Preemption.requested == "SIGTERM"
    with pytest.raises(Stopped):
        Preemption.handle(signal.SIGTERM, None)


def test_sigterm_outside_training_stops_at_once():
    with pytest.raises(Stopped, match="SIGTERM"):
        Preemption.handle(signal.SIGTERM, None)


def test_only_a_warned_slurm_job_with_restarts_left_requeues_itself(monkeypatch):
    for name in ("SLURM_JOB_ID", "XTUI_SLURM_REQUEUE", "SLURM_RESTART_COUNT"):
        monkeypatch.delenv(name, raising=False)
    assert not Preempted("SIGUSR1").requeue  # not in a Slurm job
    monkeypatch.setenv("SLURM_JOB_ID", "7")
    monkeypatch.setenv("XTUI_SLURM_REQUEUE", "3")
    assert Preempted("SIGUSR1").requeue
    assert not Preempted("SIGTERM").requeue  # scancel, or a cluster that requeues preempted jobs itself
    monkeypatch.setenv("SLURM_RESTART_COUNT", "3")
    assert not Preempted("SIGUSR1").requeue  # the last restart is spent: stopped, `--resume` continues


def test_a_group_stops_between_stages_on_a_sigterm_that_came_during_the_last_training_step(tmp_path, monkeypatch):
    """The training loop only looks at the request between steps; one that came during the last step must still
    stop the group before its next stage (and a warning without requeues left must not)."""
    import importlib

    worker_main = importlib.import_module("xtui.worker.main")
    ran = []

    class Worker:
        def __init__(self):
            accelerator = type("Accelerator", (), {"num_processes": 1})()
            self.device = type("Device", (), {"main": True, "accelerator": accelerator})()

        def run_stage(self, folder):
            ran.append(folder.name)
            if folder.name == "a":
                Preemption.requested = asked
            return True

    monkeypatch.setattr("xtui.worker.runners.Worker", Worker)
    monkeypatch.setattr("xtui.worker.device.quiet_libraries", lambda: None)
    monkeypatch.delenv("SLURM_JOB_ID", raising=False)
    folders = [tmp_path / name for name in ("a", "b")]
    for folder in folders:
        folder.mkdir()
    handlers = {sig: signal.getsignal(sig) for sig in (signal.SIGINT, signal.SIGTERM, signal.SIGUSR1)}
    for asked, code, stages in (("SIGTERM", 130, ["a"]), ("SIGUSR1", 0, ["a", "b"])):
        ran.clear()
        Preemption.requested = ""
        try:
            assert worker_main.main([str(f) for f in folders]) == code, asked
        finally:
            for sig, handler in handlers.items():
                signal.signal(sig, handler)
        assert ran == stages, asked
        events = tmp_path / "b" / "events.jsonl"
        assert (events.is_file() and '"started": false' in events.read_text()) == (code == 130)  # told it never ran
        (tmp_path / "b" / "events.jsonl").unlink(missing_ok=True)
