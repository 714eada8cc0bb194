"""Periodic training state under ``<stage>/resume/``, so an interrupted stage continues where it
was: Accelerate's save/load state (model, optimizer, scheduler, RNG) plus the data position and the
best validation state so far. A resumed run ends with the same weights as an uninterrupted one."""

from __future__ import annotations

import os
import shutil
import time
from pathlib import Path
from typing import Optional

from ..files import atomic_write_json, read_json
from .faults import fault


class Checkpoints:
    def __init__(self, stage_dir: Path, run: dict, accelerator):
        self.folder = Path(stage_dir) / "resume"
        self.accelerator = accelerator
        self.every_steps = run.get("checkpoint_every_steps")
        self.every_seconds = 60.0 * float(run.get("checkpoint_every_minutes") or 0) or None
        self.last = time.monotonic()

    def progress(self) -> Optional[dict]:
        return read_json(self.folder / "progress.json")

    def due(self, step: int) -> bool:
        if self.every_steps and step % self.every_steps == 0:
            return True
        return bool(self.every_seconds) and time.monotonic() - self.last >= self.every_seconds

    def save(self, progress: dict) -> None:
        state = self.folder / f"state-{progress['step']}"
        self.accelerator.save_state(str(state))
        if self.accelerator.is_main_process:
            fault("checkpoint")
            atomic_write_json(self.folder / "progress.json", {**progress, "state": state.name})
            for old in self.folder.glob("state-*"):
                if old != state:
                    shutil.rmtree(old, ignore_errors=True)
        self.last = time.monotonic()

    def save_best(self, state: dict) -> None:
        from safetensors.torch import save_file

        if self.accelerator.is_main_process:
            self.folder.mkdir(parents=True, exist_ok=True)
            partial = self.folder / "best.partial.safetensors"
            save_file({k: v.contiguous() for k, v in state.items()}, str(partial))
            os.replace(partial, self.folder / "best.safetensors")

    def restore(self) -> tuple:
        from safetensors.torch import load_file

        progress = self.progress()
        self.accelerator.load_state(str(self.folder / progress["state"]))
        best_state = None
        if progress.get("best") and (self.folder / "best.safetensors").is_file():
            best_state = load_file(str(self.folder / "best.safetensors"))
        return progress, best_state
