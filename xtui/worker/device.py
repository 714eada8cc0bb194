"""Where and how a worker computes: the Accelerator, precision (bf16 autocast on GPUs that
support it), threads, length-grouped batches, ``torch.compile``, and the device's measured matmul
peak for MFU. Environment: ``XTUI_PRECISION`` (auto, bf16, fp32), ``XTUI_GROUP_BY_LENGTH=0``,
``XTUI_COMPILE=1``. None of these is part of a stage's hash: like the device, they are how a
stage runs, not what it computes."""

from __future__ import annotations

import contextlib
import os
import platform
from typing import Optional


def quiet_libraries() -> None:
    os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
    import datasets
    import transformers

    transformers.logging.set_verbosity_error()
    transformers.logging.disable_progress_bar()
    datasets.logging.set_verbosity_error()
    datasets.disable_progress_bars()


class Device:
    def __init__(self):
        import torch
        from accelerate import Accelerator

        from accelerate.utils import DataLoaderConfiguration, DistributedDataParallelKwargs

        self.torch = torch
        world = int(os.environ.get("WORLD_SIZE", "1"))
        # Several processes without CUDA are gloo CPU processes (XTUI_CPU_PROCESSES): without cpu=True each one
        # would make a one-process Accelerator of its own and train alone. split_batches: the scheduler steps
        # once per optimizer step, as in a one-process run (each step's batch is the same global batch, split
        # across the processes by the training loop; xtui.batching.ShardedBatches). Unused parameters: a
        # mixture's batch trains one task's head, and encoders have parts (a pooler) no head reads.
        self.accelerator = Accelerator(cpu=world > 1 and not torch.cuda.is_available(),
                                       dataloader_config=DataLoaderConfiguration(split_batches=True),
                                       kwargs_handlers=[DistributedDataParallelKwargs(find_unused_parameters=True)])
        if self.accelerator.num_processes != world:
            raise RuntimeError(f"launched as {world} processes but Accelerate sees {self.accelerator.num_processes}")
        self.speed = speed_settings(torch, self.accelerator.device, self.accelerator.num_processes)
        self._peak: Optional[dict] = None

    @property
    def main(self) -> bool:
        return self.accelerator.is_main_process

    def autocast(self):
        """bf16 autocast on GPUs that support it (``XTUI_PRECISION=fp32`` turns it off); a no-op elsewhere."""
        if self.speed["precision"] != "bf16":
            return contextlib.nullcontext()
        return self.torch.autocast(device_type=self.accelerator.device.type, dtype=self.torch.bfloat16)

    def peak_flops(self) -> Optional[dict]:
        """The device's measured matmul peak (cached per machine), for MFU; None if it cannot be measured."""
        if self._peak is None:
            from ..perf import peak_flops

            dtype = self.torch.bfloat16 if self.speed["precision"] == "bf16" else self.torch.float32
            try:
                self._peak = peak_flops(self.torch, self.accelerator.device, dtype)
            except Exception as error:  # never fail a stage over a statistic
                self._peak = {"flops": None, "error": f"{type(error).__name__}: {error}"}
        return self._peak if self._peak.get("flops") else None

    def release(self) -> None:
        """Drop the accelerator's references to a finished training's model, optimizer, scheduler and
        loader, as ``free_memory`` does but without its full ``gc.collect()`` (0.1-0.3 s per stage with
        features in memory; refcounting frees the state, and the caller checks that it did)."""
        accelerator = self.accelerator
        names = ("_schedulers", "_optimizers", "_models", "_dataloaders")
        if not all(isinstance(getattr(accelerator, name, None), list) for name in names) or getattr(
                accelerator, "deepspeed_engine_wrapped", None) is not None:
            accelerator.free_memory()
            return
        for name in names:
            setattr(accelerator, name, [])
        accelerator.step = 0

    def empty_cache(self) -> None:
        if self.torch.cuda.is_available():
            self.torch.cuda.empty_cache()


def speed_settings(torch, device, processes: int = 1) -> dict:
    """Precision, TF32, threads (never more than the CPUs this process may use, shared by the processes of a
    several-process CPU stage), length grouping, compile."""
    from ..perf import usable_cpus

    cuda = getattr(device, "type", str(device)) == "cuda"
    if cuda:
        torch.backends.cuda.matmul.allow_tf32 = True
        torch.backends.cudnn.allow_tf32 = True
    precision = os.environ.get("XTUI_PRECISION", "auto").strip().lower() or "auto"
    if precision == "auto":
        precision = "bf16" if cuda and torch.cuda.is_bf16_supported() else "fp32"
    elif precision not in ("bf16", "fp32"):
        precision = "fp32"
    cpus = max(1, usable_cpus() // processes) if not cuda else usable_cpus()
    if not cuda and torch.get_num_threads() > cpus:
        torch.set_num_threads(cpus)
    return {"precision": precision, "tf32": cuda, "threads": torch.get_num_threads(),
            "group_by_length": os.environ.get("XTUI_GROUP_BY_LENGTH", "1") != "0",
            "compile": os.environ.get("XTUI_COMPILE", "0") == "1"}


def versions(registry=None) -> dict:
    """The versions a result depends on: libraries, CUDA and the GPU, and the git commit of xtui and of
    each plugin installed from a checkout (``-dirty`` when it has uncommitted changes)."""
    import accelerate
    import datasets
    import tokenizers
    import torch
    import transformers

    from .. import __version__

    found = {"xtui": __version__, "torch": torch.__version__, "transformers": transformers.__version__,
             "accelerate": accelerate.__version__, "datasets": datasets.__version__,
             "tokenizers": tokenizers.__version__, "python": platform.python_version(),
             "cuda": torch.version.cuda, "gpu": torch.cuda.get_device_name(0) if torch.cuda.is_available() else None}
    commits = {"xtui": git_commit(__file__)}
    for plugin in (registry.plugins if registry is not None else []):
        module = __import__(plugin.module.split(":")[0].split(".")[0])
        commits[plugin.name] = git_commit(getattr(module, "__file__", None) or "")
    found["git"] = {name: commit for name, commit in commits.items() if commit}
    return found


_COMMITS: dict = {}


def git_commit(path: str) -> Optional[str]:
    """The commit of the git checkout holding ``path``, None when it is not in one (an installed wheel)."""
    import subprocess
    from pathlib import Path

    folder = str(Path(path).resolve().parent) if path else ""
    if folder not in _COMMITS:
        commit = None
        try:
            head = subprocess.run(["git", "-C", folder, "rev-parse", "HEAD"], capture_output=True, text=True, timeout=5)
            if folder and head.returncode == 0:
                dirty = subprocess.run(["git", "-C", folder, "status", "--porcelain", "--untracked-files=no", "."],
                                       capture_output=True, text=True, timeout=5).stdout.strip()
                commit = head.stdout.strip() + ("-dirty" if dirty else "")
        except (OSError, subprocess.SubprocessError):
            commit = None
        _COMMITS[folder] = commit
    return _COMMITS[folder]
