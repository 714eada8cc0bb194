"""The worker's entry point: ``python -m xtui.worker STAGE_DIR [STAGE_DIR ...]`` runs the stages
in order in one process (a group shares its parent's model), with a heartbeat, and stops cleanly
on SIGINT / SIGTERM (exit 130; the stages it did not reach get a ``stopped`` event).

In a Slurm job, a time-limit warning (SIGUSR1) checkpoints the training stage at its next step and
puts the job back in the queue (``scontrol requeue``: the same job id, so its dependants keep waiting
on it); when it starts again, the stage continues from that checkpoint and the stages it had
finished are not run again. Exit 75 (EX_TEMPFAIL) says "requeued"."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from pathlib import Path

from .events import Events, Heartbeat, Preempted, Preemption, Stopped, raise_stopped

REQUEUED = 75


def main(argv=None) -> int:
    stage_dirs = [Path(p) for p in (argv if argv is not None else sys.argv[1:])]
    if not stage_dirs:
        print("usage: python -m xtui.worker STAGE_DIR [STAGE_DIR ...]", file=sys.stderr)
        return 2
    signal.signal(signal.SIGTERM, raise_stopped)
    signal.signal(signal.SIGINT, raise_stopped)
    Preemption.install()
    heartbeat = Heartbeat(stage_dirs)
    heartbeat.start()
    failed = done = 0
    started = False
    try:
        from .device import quiet_libraries
        from .runners import Worker

        quiet_libraries()
        worker = Worker()
        heartbeat.main = worker.device.main
        accelerator = worker.device.accelerator
        if accelerator.num_processes > 1:  # in worker.log: which processes ran the stages
            print(f"xtui worker: process {accelerator.process_index} of {accelerator.num_processes}, pid {os.getpid()}, "
                  f"{accelerator.device}", file=sys.stderr, flush=True)
        for stage_dir in stage_dirs:
            if (stage_dir / "result.json").is_file():
                done += 1  # finished before this job was requeued
                continue
            asked = Preempted(Preemption.requested) if Preemption.requested else None
            if asked is not None and (asked.requeue or str(asked) != "SIGUSR1"):
                raise asked  # between stages: requeue (warned), or stop (SIGTERM) before starting another
            started = True
            if not worker.run_stage(stage_dir):
                failed += 1
            done += 1
            started = False
    except Stopped as stop:
        requeue = isinstance(stop, Preempted) and stop.requeue
        if not requeue:
            for stage_dir in stage_dirs[done + started:]:
                Events(stage_dir / "events.jsonl", heartbeat.main).emit("stopped", signal=str(stop), started=False)
        heartbeat.stop()
        if requeue and heartbeat.main:
            job = os.environ["SLURM_JOB_ID"]
            print(f"xtui worker: {stop} before the time limit: checkpoint saved, requeueing Slurm job {job}",
                  file=sys.stderr, flush=True)
            # Slurm ends this process as it requeues the job: everything is written by now.
            subprocess.run(["scontrol", "requeue", job], timeout=60)
        return REQUEUED if requeue else 130
    finally:
        heartbeat.stop()
    return 1 if failed else 0
