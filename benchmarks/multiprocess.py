"""Stages as several processes: the same plan with one process per stage and with two gloo CPU processes
per stage (``XTUI_CPU_PROCESSES=2``: ``accelerate launch --multi_gpu --num_processes 2``), interleaved.

On a GPU box each process gets a GPU of its own and the point is speed; on a CPU machine the two
processes share the cores, so this measures what data parallelism costs here (two Python starts
through the launcher, a gradient all-reduce per step, predictions gathered per evaluation).
Measured: the whole ``xtui run``'s wall time, and the
target stage's training seconds.
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
name = "processes"
model = "tiny"
seeds = [1]
[intermediate]
tasks = ["none"]
[target]
task = "demo_entities"
languages = ["de"]
max_steps = 40
batch_size = 16
[fewshot]
shots = [0]
"""


def _one(processes: int) -> dict:
    with tempfile.TemporaryDirectory() as folder:
        spec = Path(folder) / "spec.toml"
        spec.write_text(SPEC)
        home = Path(folder) / "runs"
        env = dict(os.environ, **OFFLINE, XTUI_HOME=str(home))
        if processes > 1:
            env["XTUI_CPU_PROCESSES"] = str(processes)
        began = time.perf_counter()
        done = subprocess.run([sys.executable, "-m", "xtui.cli", "run", str(spec)], capture_output=True, text=True,
                              env=env, stdin=subprocess.DEVNULL)
        wall = time.perf_counter() - began
        if done.returncode != 0:
            raise RuntimeError(f"xtui run failed ({processes} processes): {done.stderr[-2000:]}")
        results = [json.loads(p.read_text()) for p in (home / "stages").glob("*/result.json")]
        target = next(r for r in results if r["type"] == "target")
        metrics = {r["language"] or r["type"]: r.get("metrics") for r in results if r["type"] == "evaluate"}
        return {"wall": wall, "train": target["train"]["seconds"], "processes": target["processes"], "metrics": metrics}


def run(repeats: int = 3, quick: bool = False) -> dict:
    repeats = 1 if quick else repeats
    print("  tiny model, demo_entities (tagging), 40 training steps, evaluations en + de")
    results: dict = {1: [], 2: []}
    for repeat in range(repeats):  # interleaved, so a change of load hits both sides alike
        for processes in (1, 2):
            results[processes].append(_one(processes))
            last = results[processes][-1]
            print(f"    {processes} process(es) #{repeat + 1}: wall {fmt(last['wall'])} s, "
                  f"training {fmt(last['train'])} s (result.json: {last['processes']} processes)", flush=True)
    # the trained weights differ by dropout's masks (each process draws its own), so the metrics may too:
    # shown, not compared (tests/integration/test_multiprocess.py checks equality on the same weights)
    headline = {p: sorted({round(100 * next(iter((m or {}).values()), 0.0), 1) for r in values
                           for m in r["metrics"].values()}) for p, values in results.items()}
    rows = []
    for processes, values in results.items():
        walls, trains = [v["wall"] for v in values], [v["train"] for v in values]
        rows.append((f"{processes} ({'gloo, XTUI_CPU_PROCESSES=2' if processes > 1 else 'direct'})",
                     median(walls), spread(walls), median(trains), spread(trains)))
    ratio, train_ratio = rows[1][1] / rows[0][1], rows[1][3] / rows[0][3]
    headers = ("processes per stage", "xtui run wall (s)", "min–max", "target training (s, median)", "min–max")
    print_table("stages as several processes", headers, rows)
    print(f"  2 / 1 processes: whole run {fmt(ratio)}x, target training {fmt(train_ratio)}x; "
          f"evaluation headline scores: 1 process {headline[1]}, 2 processes {headline[2]}")
    body = (markdown_table(headers, rows)
            + f"\n\n- 2 / 1 processes: whole run **{fmt(ratio)}x**, target training **{fmt(train_ratio)}x** "
              f"({repeats} interleaved repetitions, fresh runs directory each); evaluation headline scores "
              f"{headline[1]} (1 process) and {headline[2]} (2): the trained weights differ by dropout's masks "
              "(each process draws its own); on the same weights the two evaluate identically "
              "(tests/integration/test_multiprocess.py).\n"
            + "- On CPU cores the two processes share the machine: this is the cost of data parallelism (launcher, "
              "gradient all-reduce, gathered predictions), not a speed-up; on GPUs each process has its own device.\n")
    append_results("Stages as 2 gloo CPU processes vs 1 (issue 12)", machine(), body)
    return {"ratio": ratio, "train_ratio": train_ratio, "scores": headline}


if __name__ == "__main__":
    from .common import offline

    offline()
    run(repeats=int(sys.argv[1]) if len(sys.argv) > 1 else 3)
