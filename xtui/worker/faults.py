"""Fault injection for tests (simulated out-of-memory and disk-full) and the classification of a
stage's failure into the supervision vocabulary's causes (``xtui.supervision``)."""

from __future__ import annotations

import os


def fault_oom(batch_size: int) -> None:
    """XTUI_FAULT_OOM_ABOVE=N fails batches larger than N as CUDA would."""
    limit = os.environ.get("XTUI_FAULT_OOM_ABOVE")
    if limit and batch_size > int(limit):
        import torch

        raise torch.OutOfMemoryError(f"CUDA out of memory (simulated by XTUI_FAULT_OOM_ABOVE={limit}, batch {batch_size})")


def fault(point: str) -> None:
    """XTUI_FAULT=checkpoint raises a disk-full error there."""
    if os.environ.get("XTUI_FAULT") == point:
        import errno

        raise OSError(errno.ENOSPC, "No space left on device (simulated by XTUI_FAULT)")


def classify(error: BaseException) -> tuple:
    """(cause, hint) of a stage's failure."""
    from ..errors import XtuiError
    from ..supervision import Cause

    name = type(error).__name__
    text = str(error).lower()
    if "out of memory" in text or name in ("OutOfMemoryError", "MemoryError"):
        return Cause.OUT_OF_MEMORY, "lower batch_size (and raise gradient_accumulation to keep the effective batch)"
    if isinstance(error, XtuiError):
        return Cause.BAD_INPUT, ""
    if isinstance(error, OSError) and getattr(error, "errno", None) == 28:
        return Cause.DISK_FULL, "free space in the runs directory (XTUI_HOME)"
    return Cause.EXCEPTION, "see error.txt in the stage directory"
