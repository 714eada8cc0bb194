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
