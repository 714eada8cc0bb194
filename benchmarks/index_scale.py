"""The index at scale and CLI start-up (goal 6).

Generates an index (TinyDB JSON, the format `xtui runs reindex` writes) with 10,000
experiments and 200,000 stage summaries, then times, as separate processes, interleaved:

- `xtui runs list` (output to a pipe) against `python -c "import json; json.load(open(INDEX))"`;
- `xtui --help` and `xtui runs list` on an empty runs directory against
  `python -c "import typer, rich"`.

Each process time includes the interpreter's start on both sides.
"""

from __future__ import annotations

import json
import os
import random
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from .common import append_results, fmt, goal_text, machine, markdown_table, median, print_table, spread

EXPERIMENTS = 10_000
STAGES = 200_000
GOAL = 2.0
XTUI = [sys.executable, "-m", "xtui.cli"]


def generate_index(home: Path, experiments: int = EXPERIMENTS, stages: int = STAGES, seed: int = 0) -> Path:
    """A realistic index: experiment summaries as `xtui run` writes them, stage summaries as reindex does."""
    rng = random.Random(seed)
    tasks = ["xnli", "pawsx", "udpos", "panx", "xquad", "mlqa"]
    intermediates = ["none", "anli", "mnli", "qqp", "sst2", "squad_v1", "hellaswag", "cosmosqa", "commonsenseqa"]
    languages = ["de", "es", "fr", "ru", "zh", "ar", "hi", "sw", "tr", "vi", "el", "bg", "th", "ur"]
    start = time.time() - 86400 * 365
    exp_table, stage_table = {}, {}
    for i in range(experiments):
        target = rng.choice(tasks)
        langs = rng.sample(languages, rng.randint(2, 9))
        picked = ["none"] + rng.sample(intermediates[1:], rng.randint(1, 4))
        created = start + i * 3000 + rng.random() * 100
        exp_table[str(i + 1)] = {
            "id": f"{time.strftime('%Y%m%d-%H%M%S', time.gmtime(created))}-grid{i}-{rng.getrandbits(16):04x}",
            "name": f"grid{i % 300}", "status": rng.choice(["done"] * 8 + ["failed", "stopped"]),
            "model": rng.choice(["xlm-roberta-large", "xlm-roberta-base", "minilm"]), "intermediate": picked,
            "target": target, "languages": langs, "shots": [0, 5, 10], "shot_sets": 5, "seeds": [1],
            "created": created, "finished": created + rng.random() * 20000, "stage_count": rng.randint(20, 400),
            "reused": rng.randint(0, 20), "failed_stages": 0,
            "headline": {"metric": "accuracy", "value": rng.random(), "intermediate": picked[-1], "shots": 10},
            "spec_path": f"/home/user/specs/grid{i % 300}.toml", "host": "gpu-node-07", "pid": rng.randint(1000, 99999),
        }
    for j in range(stages):
        type_ = rng.choice(["fewshot"] * 7 + ["evaluate"] * 2 + ["target"])
        stage_table[str(j + 1)] = {
            "hash": f"{rng.getrandbits(256):064x}", "type": type_, "task": rng.choice(tasks),
            "language": rng.choice(languages), "intermediate": rng.choice(intermediates),
            "shots": rng.choice([0, 5, 10]) if type_ != "target" else None,
            "shot_set": rng.randint(0, 4) if type_ == "fewshot" else None, "seed": 1, "status": "done", "detail": "",
            "metric": "accuracy", "value": rng.random(), "seconds": rng.random() * 100,
        }
    home.mkdir(parents=True, exist_ok=True)
    (home / "stages").mkdir(exist_ok=True)
    (home / "experiments").mkdir(exist_ok=True)
    path = home / "index.json"
    path.write_text(json.dumps({"experiments": exp_table, "stages": stage_table}, ensure_ascii=False, separators=(",", ":")))
    return path


def _time(command: list, env: dict) -> float:
    start = time.perf_counter()
    done = subprocess.run(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=env, stdin=subprocess.DEVNULL)
    elapsed = time.perf_counter() - start
    if done.returncode != 0:
        raise RuntimeError(f"{' '.join(map(str, command))} failed: {done.stderr.decode()[-500:]}")
    return elapsed


HISTORY_PROBE = """
import json, resource, sys, time
started = time.perf_counter()
import asyncio
from xtui.tui.app import XtuiApp
from xtui.tui.history import HistoryScreen

async def main():
    app = XtuiApp(start="history")
    async with app.run_test(size=(160, 48)) as pilot:
        while not (isinstance(app.screen, HistoryScreen) and app.screen.loaded):
            await pilot.pause(0.01)
        await pilot.pause()
        opened = time.perf_counter() - started
        table = app.screen.query_one("#history-table")
        rows = table.row_count
        began = time.perf_counter()
        keys = ["pagedown"] * 20 + ["end", "home"] + ["down"] * 20
        for key in keys:
            await pilot.press(key)
        await pilot.pause()
        per_key = (time.perf_counter() - began) / len(keys)
        cpu_before = time.process_time()
        await pilot.pause(5.0)  # idle: the screen keeps polling the index for new experiments
        idle_cpu = (time.process_time() - cpu_before) / 5.0
    print(json.dumps({"opened": opened, "rows": rows, "per_key": per_key, "idle_cpu": idle_cpu}))

asyncio.run(main())
"""


def history_probe(env: dict) -> dict:
    done = subprocess.run([sys.executable, "-c", HISTORY_PROBE], capture_output=True, text=True, env=env,
                          stdin=subprocess.DEVNULL, timeout=600)
    if done.returncode != 0:
        raise RuntimeError(f"history probe failed: {done.stderr[-1500:]}")
    return json.loads(done.stdout.strip().splitlines()[-1])


def run(repeats: int = 7, quick: bool = False) -> dict:
    scratch = Path(tempfile.mkdtemp(prefix="xtui-bench-index-"))
    home = scratch / "runs"
    started = time.perf_counter()
    experiments, stages = (EXPERIMENTS // 10, STAGES // 10) if quick else (EXPERIMENTS, STAGES)
    index = generate_index(home, experiments, stages)
    size = index.stat().st_size
    print(f"index: {experiments:,} experiments, {stages:,} stage summaries, {size / 1e6:.1f} MB "
          f"(generated in {time.perf_counter() - started:.1f}s)")
    env = dict(os.environ, XTUI_HOME=str(home), COLUMNS="200", HF_HUB_OFFLINE="1")
    empty_env = dict(env, XTUI_HOME=str(scratch / "empty"))
    sides = {
        "json.load": [sys.executable, "-c", f"import json; json.load(open({str(index)!r}))"],
        "xtui runs list": XTUI + ["runs", "list"],
        "xtui runs list --json": XTUI + ["runs", "list", "--json"],
    }
    startup = {
        "import typer, rich": ([sys.executable, "-c", "import typer, rich"], empty_env),
        "xtui --help": (XTUI + ["--help"], empty_env),
        "xtui runs list (empty)": (XTUI + ["runs", "list"], empty_env),
    }
    times: dict = {name: [] for name in [*sides, *startup]}
    for repeat in range(repeats):
        order = list(sides) if repeat % 2 == 0 else list(reversed(sides))
        for name in order:
            times[name].append(_time(sides[name], env))
        order = list(startup) if repeat % 2 == 0 else list(reversed(startup))
        for name in order:
            command, command_env = startup[name]
            times[name].append(_time(command, command_env))
    # shown rows are the real ones: check the listing has every experiment
    listing = subprocess.run(XTUI + ["runs", "list", "--json"], capture_output=True, text=True, env=env)
    listed = len(json.loads(listing.stdout))
    base = median(times["json.load"])
    start_base = median(times["import typer, rich"])
    rows = []
    for name in sides:
        value = median(times[name])
        goal = goal_text(value / base, GOAL, higher_is_better=False) if name != "json.load" else ""
        rows.append([name, f"{fmt(value)} s ({spread(times[name])})", f"{value / base:.2f}×", f"≤ {GOAL}× json.load", goal])
    for name in startup:
        value = median(times[name])
        goal = goal_text(value / start_base, GOAL, higher_is_better=False) if name != "import typer, rich" else ""
        rows.append([name, f"{fmt(value)} s ({spread(times[name])})", f"{value / start_base:.2f}×",
                     f"≤ {GOAL}× import typer, rich", goal])
    # the app's history screen: opened with the big index against an index with one experiment
    small_home = scratch / "small"
    generate_index(small_home, 1, 20)
    probes = {"big": [], "small": []}
    for repeat in range(max(1, repeats // 3)):
        for name, probe_home in (("big", home), ("small", small_home)):
            probes[name].append(history_probe(dict(env, XTUI_HOME=str(probe_home))))
    big_open = median([p["opened"] for p in probes["big"]])
    small_open = median([p["opened"] for p in probes["small"]])
    per_key = median([p["per_key"] for p in probes["big"]])
    idle_cpu = median([p["idle_cpu"] for p in probes["big"]])
    rows.append([f"app: history screen, {experiments:,} experiments ({probes['big'][0]['rows']:,} rows shown), first paint",
                 f"{fmt(big_open)} s ({spread([p['opened'] for p in probes['big']])})", f"{big_open / small_open:.2f}×",
                 "≤ 2.0× the same with 1 experiment", goal_text(big_open / small_open, GOAL, higher_is_better=False)])
    rows.append(["app: history screen, 1 row, first paint", f"{fmt(small_open)} s", "1.00×", "", ""])
    rows.append(["app: history, per key (page down, end, home, down)", f"{1000 * per_key:.1f} ms", "", "≤ 100 ms",
                 goal_text(per_key, 0.1, higher_is_better=False)])
    rows.append(["app: history, idle CPU while it polls the index", f"{100 * idle_cpu:.1f}% of a core", "", "", ""])
    headers = ["command (separate process)", "median (min–max)", "ratio", "goal", "status"]
    print_table(f"index at scale ({experiments:,} experiments, {stages:,} stages, {size / 1e6:.1f} MB) and start-up",
                headers, rows)
    info = machine()
    notes = [f"{repeats} repetitions per command, interleaved (order reversed every other round); output to a pipe.",
             f"The index file is {size / 1e6:.1f} MB; `xtui runs list --json` listed {listed:,} experiments.",
             "App rows: `XtuiApp(start=\"history\")` under Textual's headless driver (160x48), time from process start "
             "until the table holds the index's rows; keys pressed through the Pilot; idle CPU over 5 s."]
    body = markdown_table(headers, rows) + "\n\n" + "\n".join(f"- {n}" for n in notes) + "\n"
    append_results("Index at scale and start-up (goal 6)", info, body)
    return {"times": times, "size": size, "listed": listed}


if __name__ == "__main__":
    run()
