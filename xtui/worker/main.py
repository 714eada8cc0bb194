"""The worker's entry point: ``python -m xtui.worker STAGE_DIR [STAGE_DIR ...]`` runs the stages
in order in one process (a group shares its parent's model), with a heartbeat, and stops cleanly
on SIGINT / SIGTERM (exit 130; the stages it did not reach get a ``stopped`` event)."""

from __future__ import annotations

import os
import signal
import sys
from pathlib import Path

from .events import Events, Heartbeat, Stopped, raise_stopped


def main(argv=None) -> int:
    stage_dirs = [Path(p) for p in (argv if argv is not None else sys.argv[1:])]
    if not stage_dirs:
        print("usage: python -m xtui.worker STAGE_DIR [STAGE_DIR ...]", file=sys.stderr)
        return 2
    signal.signal(signal.SIGTERM, raise_stopped)
    signal.signal(signal.SIGINT, raise_stopped)
    heartbeat = Heartbeat(stage_dirs)
    heartbeat.start()
    failed = done = 0
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
            if not worker.run_stage(stage_dir):
                failed += 1
            done += 1
    except Stopped as stop:
        for stage_dir in stage_dirs[done + 1:]:
            Events(stage_dir / "events.jsonl", heartbeat.main).emit("stopped", signal=str(stop), started=False)
        return 130
    finally:
        heartbeat.stop()
    return 1 if failed else 0
