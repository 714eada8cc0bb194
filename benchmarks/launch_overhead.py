"""Worker start-up: one-process workers started directly vs through `accelerate launch`.

The same small plan (tiny model, `demo_sentiment`, none + demo_nli, 3 languages, K = 0: five
worker processes: one intermediate stage, two target stages, two groups of evaluations) runs in a
fresh runs directory with `XTUI_LAUNCHER=accelerate` (the launcher, then the worker: two Python
starts importing torch) and with the default direct start, interleaved. Measured: the whole
`xtui run`'s wall time, and each worker's start-up (launch of the process to its first event).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from .common import OFFLINE, append_results, fmt, machine, markdown_table, median, print_table, spread

SPEC = """
name = "launch"
model = "tiny"
seeds = [1]
[intermediate]
tasks = ["none", "demo_nli"]
max_steps = 5
batch_size = 16
[target]
task = "demo_sentiment"
languages = ["de", "es", "fr"]
max_steps = 5
batch_size = 16
max_length = 64
[fewshot]
shots = [0]
"""


def _one(launcher: str) -> dict:
    with tempfile.TemporaryDirectory() as folder:
        spec = Path(folder) / "spec.toml"
        spec.write_text(SPEC)
        home = Path(folder) / "runs"
        env = dict(os.environ, **OFFLINE, XTUI_HOME=str(home), XTUI_LAUNCHER=launcher)
        began = time.perf_counter()
        done = subprocess.run([sys.executable, "-m", "xtui.cli", "run", str(spec)], capture_output=True, text=True, env=env,
                              stdin=subprocess.DEVNULL)
        wall = time.perf_counter() - began
        if done.returncode != 0:
            raise RuntimeError(f"xtui run failed ({launcher}): {done.stderr[-2000:]}")
        startups = []
        for stage in (home / "stages").iterdir():
            launched = stage / "launch.yaml"  # written just before the worker process starts
            events = stage / "events.jsonl"
            if launched.exists() and events.exists():
                first = json.loads(events.read_text().splitlines()[0])
                startups.append(first["time"] - launched.stat().st_mtime)
        return {"wall": wall, "startup": median(startups), "workers": len(startups)}


def run(repeats: int = 3, quick: bool = False) -> dict:
    repeats = 1 if quick else repeats
    print("  5 workers per run (intermediate, 2 targets, 2 evaluation groups), tiny model")
    results: dict = {"accelerate launch": [], "direct": []}
    for repeat in range(repeats):  # interleaved, so a change of load hits both sides alike
        for name, launcher in (("accelerate launch", "accelerate"), ("direct", "direct")):
            results[name].append(_one(launcher))
            print(f"    {name} #{repeat + 1}: wall {fmt(results[name][-1]['wall'])} s, "
                  f"start-up {fmt(results[name][-1]['startup'])} s", flush=True)
    rows = []
    for name, values in results.items():
        walls, startups = [v["wall"] for v in values], [v["startup"] for v in values]
        rows.append((name, median(walls), spread(walls), median(startups), spread(startups)))
    ratio = rows[1][1] / rows[0][1]
    startup_ratio = rows[1][3] / rows[0][3]
    headers = ("launcher", "xtui run wall (s)", "min–max", "worker start-up (s, median)", "min–max")
    print_table("worker start-up", headers, rows)
    print(f"  direct / accelerate launch: whole run {fmt(ratio)}x, start-up {fmt(startup_ratio)}x")
    body = (markdown_table(headers, rows)
            + f"\n\n- direct / `accelerate launch`: whole run **{fmt(ratio)}x**, worker start-up **{fmt(startup_ratio)}x** "
              f"({repeats} interleaved repetitions, fresh runs directory each).\n"
            + "- Start-up = first event of a stage minus the time its group's launch config was written (just before the "
              "process starts): Python start, imports, reading the stage. A group's later stages are not counted.\n")
    append_results("Worker start-up: direct vs accelerate launch", machine(), body)
    return {"ratio": ratio, "startup_ratio": startup_ratio}


if __name__ == "__main__":
    from .common import offline

    offline()
    run(repeats=int(sys.argv[1]) if len(sys.argv) > 1 else 3)
