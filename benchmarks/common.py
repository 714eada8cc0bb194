"""Shared by the benchmarks: machine description, statistics, tables, RESULTS.md."""

from __future__ import annotations

import os
import platform
import statistics
import subprocess
import sys
import time
from pathlib import Path
from typing import Callable, Optional, Sequence

REPO = Path(__file__).resolve().parents[1]
RESULTS = Path(__file__).resolve().parent / "RESULTS.md"
SHARED_DATA = Path(os.environ.get("XTUI_SHARED_DATA") or REPO.parent / "shared" / "data")
OFFLINE = {"HF_HUB_OFFLINE": "1", "HF_DATASETS_OFFLINE": "1", "TRANSFORMERS_OFFLINE": "1", "TOKENIZERS_PARALLELISM": "false"}


def offline() -> None:
    os.environ.update({k: v for k, v in OFFLINE.items() if k not in os.environ})


from xtui.perf import cpu_model  # noqa: E402  (one definition for the worker and the benchmarks)


def load_average() -> str:
    try:
        return " ".join(f"{v:.2f}" for v in os.getloadavg())
    except OSError:
        return "?"


def machine(torch_version: Optional[str] = None) -> dict:
    """CPU model, cores, memory, torch version, GPU, date: written above every result."""
    try:
        cpus = len(os.sched_getaffinity(0))
    except AttributeError:
        cpus = os.cpu_count() or 1
    memory = "?"
    try:
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemTotal"):
                memory = f"{int(line.split()[1]) / 1024 / 1024:.0f} GiB"
    except OSError:
        pass
    if torch_version is None:
        torch_version = subprocess.run([sys.executable, "-c", "import torch; print(torch.__version__)"],
                                       capture_output=True, text=True).stdout.strip() or "?"
    gpu = "none"
    try:
        out = subprocess.run(["nvidia-smi", "-L"], capture_output=True, text=True, timeout=10).stdout.strip()
        gpu = out.splitlines()[0] if out else "none"
    except (OSError, subprocess.SubprocessError):
        pass
    return {"cpu": cpu_model(), "cores": cpus, "memory": memory, "gpu": gpu, "torch": torch_version,
            "python": platform.python_version(), "date": time.strftime("%Y-%m-%d %H:%M %Z"),
            "load average at start": load_average()}


def median(values: Sequence[float]) -> float:
    return statistics.median(values) if values else float("nan")


def spread(values: Sequence[float]) -> str:
    """``min–max`` of the repetitions."""
    if not values:
        return "-"
    return f"{fmt(min(values))}–{fmt(max(values))}"


def fmt(value, digits: int = 3) -> str:
    if isinstance(value, str):
        return value
    if value is None or value != value:
        return "-"
    if value == 0:
        return "0"
    magnitude = abs(value)
    if magnitude >= 1000:
        return f"{value:,.0f}"
    if magnitude >= 100:
        return f"{value:.1f}"
    return f"{value:.{digits}g}"


def interleaved(sides: dict, repeats: int, warmup: bool = False, log: Callable = print) -> dict:
    """Run each side's callable ``repeats`` times, alternating A, B, A, B, ... (so a change of load on a
    shared machine hits both sides alike); returns side -> list of the values they return."""
    values: dict = {name: [] for name in sides}
    if warmup:
        for name, run in sides.items():
            run()
    for repeat in range(repeats):
        for name, run in sides.items():
            value = run()
            values[name].append(value)
            log(f"    {name} #{repeat + 1}: {fmt(value)}")
    return values


def markdown_table(headers: Sequence[str], rows: Sequence[Sequence]) -> str:
    lines = ["| " + " | ".join(headers) + " |", "|" + "|".join(" --- " for _ in headers) + "|"]
    for row in rows:
        lines.append("| " + " | ".join(fmt(c) if not isinstance(c, str) else c for c in row) + " |")
    return "\n".join(lines)


def print_table(title: str, headers: Sequence[str], rows: Sequence[Sequence]) -> None:
    cells = [[fmt(c) if not isinstance(c, str) else c for c in row] for row in rows]
    widths = [max(len(str(h)), *(len(r[i]) for r in cells)) if cells else len(h) for i, h in enumerate(headers)]
    print(f"\n{title}")
    print("  ".join(h.ljust(w) for h, w in zip(headers, widths)))
    print("  ".join("-" * w for w in widths))
    for row in cells:
        print("  ".join(c.ljust(w) for c, w in zip(row, widths)))
    print()


def append_results(title: str, info: dict, body: str) -> None:
    """Append one benchmark's section (machine description, table, notes) to RESULTS.md."""
    header = "" if RESULTS.exists() else (
        "# xtui benchmarks\n\nWritten by `make bench` (`python -m benchmarks`); every run appends its sections. "
        "Both sides of each comparison run in the same invocation, interleaved, on the same model, data, "
        "batch size and maximum length; figures are medians over the repetitions, with min–max.\n")
    machine_line = ", ".join(f"{k}: {v}" for k, v in info.items()) + f", load average at end: {load_average()}"
    with open(RESULTS, "a", encoding="utf-8") as handle:
        handle.write(f"{header}\n## {title}\n\n*{machine_line}*\n\n{body.rstrip()}\n")


def goal_text(value: float, goal: float, higher_is_better: bool = True) -> str:
    met = value >= goal if higher_is_better else value <= goal
    return "met" if met else "NOT met"
