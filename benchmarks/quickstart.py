"""The offline quickstart's wall time (issue 2's goal: under 5 minutes on 2 CPU cores).

Runs `xtui run examples/quickstart.toml` exactly as `make demo` does, in a fresh runs directory
(nothing reused, no feature cache), and writes the wall time beside the goal. The time to set up
the virtual environment is not included: it depends on the package mirror, not on xtui.
"""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from .common import OFFLINE, append_results, fmt, goal_text, machine, markdown_table, median, print_table, spread

GOAL_SECONDS = 300.0
ROOT = Path(__file__).resolve().parent.parent
SPEC = ROOT / "examples" / "quickstart.toml"


def once() -> dict:
    with tempfile.TemporaryDirectory(prefix="xtui-bench-quickstart-") as home:
        env = dict(os.environ, **OFFLINE, XTUI_HOME=home)
        began = time.perf_counter()
        done = subprocess.run([sys.executable, "-m", "xtui.cli", "run", str(SPEC)], capture_output=True, text=True,
                              env=env)
        wall = time.perf_counter() - began
        if done.returncode != 0:
            raise RuntimeError(f"xtui run {SPEC.name} failed ({done.returncode}):\n{done.stdout[-2000:]}{done.stderr[-2000:]}")
        stages = next((line for line in done.stdout.splitlines() if " stages, " in line), "")
    return {"wall": wall, "stages": stages.strip()}


def run(repeats: int = 1, quick: bool = False) -> None:
    info = machine()
    runs = [once() for _ in range(repeats)]
    walls = [r["wall"] for r in runs]
    wall = median(walls)
    headers = ["command", "wall time, median (min–max)", "goal", "status"]
    rows = [["xtui run examples/quickstart.toml (fresh runs directory)", f"{fmt(wall)} s ({spread(walls)})",
             f"≤ {GOAL_SECONDS:.0f} s", goal_text(wall, GOAL_SECONDS, higher_is_better=False)]]
    print_table("Offline quickstart", headers, rows)
    body = markdown_table(headers, rows) + (
        f"\n\n- {repeats} repetition(s); {runs[0]['stages']}\n"
        "- Packaged MiniLM, generated demo tasks, HF offline; the same command `make demo` runs after setting up.\n")
    append_results("Offline quickstart wall time (issue 2)", info, body)
