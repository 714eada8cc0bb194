"""Shared text helpers: statuses with a glyph as well as a colour (NO_COLOR keeps the meaning), durations."""

from __future__ import annotations

import time
from typing import Optional

from rich.text import Text

STATUS_STYLE = {
    "running": ("●", "bold yellow"),
    "queued": ("…", "yellow"),
    "pending": ("·", "dim"),
    "done": ("✓", "green"),
    "reused": ("↺", "dim green"),
    "failed": ("✗", "bold red"),
    "stopped": ("■", "magenta"),
    "blocked": ("⊘", "red"),
    "interrupted": ("!", "bold red"),
    "starting": ("…", "yellow"),
}


def status_text(status: str) -> Text:
    glyph, style = STATUS_STYLE.get(status, ("?", ""))
    return Text(f"{glyph} {status}", style=style)


def duration(seconds: Optional[float]) -> str:
    if seconds is None:
        return "-"
    seconds = int(round(seconds))
    if seconds < 60:
        return f"{seconds}s"
    if seconds < 3600:
        return f"{seconds // 60}m{seconds % 60:02d}s"
    if seconds < 86400:
        return f"{seconds // 3600}h{seconds % 3600 // 60:02d}m"
    return f"{seconds // 86400}d{seconds % 86400 // 3600:02d}h"


def when(timestamp: Optional[float]) -> str:
    if not timestamp:
        return "-"
    return time.strftime("%Y-%m-%d %H:%M", time.localtime(timestamp))


def progress_bar(step: int, total: Optional[int], width: int = 8) -> str:
    if not total:
        return ""
    filled = min(width, int(round(width * step / total)))
    return "█" * filled + "░" * (width - filled) + f" {step}/{total}"


def headline_text(head: Optional[dict]) -> str:
    if not head:
        return "-"
    return f"{head['metric']} {100 * head['value']:.1f} ({head['intermediate']}, K={head['shots']})"
