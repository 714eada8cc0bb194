"""Cheap small stages (goal 4): the overhead of a few-shot shot set inside a grouped worker.

A real `xtui run` (MiniLM): one target stage, then one worker process for the group of
stages hanging off it (zero-shot evaluations and few-shot shot sets). The target is trained
once; each repetition deletes the group's results and runs the spec again, so only the group
runs. From each stage's `result.json` (`timing`, `train.training_seconds`) and the events:

- compute of a shot set = its training loop + its final evaluation;
- its own overhead = everything else inside the stage (restoring the parent weights, drawing
  and tokenising the shots, optimizer and data-loader set-up, writing shots and result);
- its share of the group = (group wall time − the sum of the stages' times) ÷ stages in the
  group: process start, imports, loading the parent checkpoint and the tokenised data once;
- overhead = own + share; goal: ≤ 10 % of compute. The whole `xtui run` (CLI start, planning,
  results table) is shown too, per shot set, as the most inclusive figure.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from .common import OFFLINE, SHARED_DATA, append_results, fmt, goal_text, machine, markdown_table, median, print_table, spread

GOAL = 0.10

SPEC = """
name = "bench-fewshot"
model = "minilm"
seeds = [1]
{data}

[intermediate]
tasks = ["none"]

[target]
task = "{task}"
languages = {languages}
max_steps = 2
batch_size = 16
learning_rate = 5e-5
max_length = 128

[fewshot]
shots = [0, {shots}]
shot_sets = {sets}
steps = 10
batch_size = {shots}
learning_rate = 1e-5
"""


def _events(folder: Path) -> list:
    path = folder / "events.jsonl"
    if not path.exists():
        return []
    return [json.loads(line) for line in path.read_text().splitlines() if line.strip()]


def run(repeats: int = 3, quick: bool = False) -> dict:
    scratch = Path(tempfile.mkdtemp(prefix="xtui-bench-fewshot-"))
    home = scratch / "runs"
    if (SHARED_DATA / "xnli").is_dir():
        task, languages, shots, data = "xnli", ["de"], 9, f'data_dir = "{SHARED_DATA}"'
    else:
        task, languages, shots, data = "demo_sentiment", ["de"], 8, ""
    sets = 2 if quick else 3
    spec = scratch / "spec.toml"
    spec.write_text(SPEC.format(data=data, task=task, languages=json.dumps(languages), shots=shots, sets=sets))
    env = dict(os.environ, **OFFLINE, XTUI_HOME=str(home), PYTHONUNBUFFERED="1")
    command = [sys.executable, "-m", "xtui.cli", "run", str(spec)]
    plan = json.loads(subprocess.run([sys.executable, "-m", "xtui.cli", "run", str(spec), "--dry-run", "--json"],
                                     capture_output=True, text=True, env=env, check=True).stdout)
    group = [s["hash"] for s in plan["stages"] if s["type"] in ("fewshot", "evaluate")]
    print(f"few-shot overhead: {task} {', '.join(languages)}, K={shots}, {sets} shot sets; a group of {len(group)} stages")
    reps = []
    for repeat in range(repeats):
        # the first run also trains the target stage (its own process); later ones run the group alone
        for digest in group:
            folder = home / "stages" / digest[:16]
            for name in ("result.json", "events.jsonl", "shots.jsonl", "worker.log"):
                (folder / name).unlink(missing_ok=True)
        started = time.time()
        done = subprocess.run(command, capture_output=True, text=True, env=env)
        run_wall = time.time() - started
        if done.returncode != 0:
            raise RuntimeError(f"xtui run failed: {done.stderr[-2000:]}")
        results = {d: json.loads((home / "stages" / d[:16] / "result.json").read_text()) for d in group}
        launch = min((home / "stages" / d[:16] / "launch.yaml").stat().st_mtime
                     for d in group if (home / "stages" / d[:16] / "launch.yaml").exists())
        last_done = max(e["time"] for d in group for e in _events(home / "stages" / d[:16]) if e["event"] == "done")
        group_wall = last_done - launch
        stage_total = sum(r["timing"]["total"] for r in results.values())
        share = (group_wall - stage_total) / len(group)
        fewshot = [r for r in results.values() if r["type"] == "fewshot"]
        compute = [r["train"]["training_seconds"] + r["timing"]["eval"] for r in fewshot]
        own = [r["timing"]["total"] - c for r, c in zip(fewshot, compute)]
        all_compute = sum(r["timing"].get("eval", 0) + r.get("train", {}).get("training_seconds", 0) for r in results.values())
        rep = {"compute": median(compute), "own": median(own), "share": share, "group_wall": group_wall,
               "run_wall": run_wall, "run_per_stage": (run_wall - all_compute) / len(group) if repeat else None,
               "model_first": max(r["timing"]["model"] for r in results.values()),
               "model_rest": median(sorted(r["timing"]["model"] for r in results.values())[:-1]),
               "train_setup": median([r["timing"]["train"] - r["train"]["training_seconds"] for r in fewshot]),
               "eval": median([r["timing"]["eval"] for r in fewshot]),
               "train_loop": median([r["train"]["training_seconds"] for r in fewshot])}
        rep["ratio"] = (rep["own"] + rep["share"]) / rep["compute"]
        rep["ratio_run"] = (rep["own"] + rep["run_per_stage"]) / rep["compute"] if repeat else None
        reps.append(rep)
        whole = f" (whole run: {100 * rep['ratio_run']:.1f}%)" if repeat else " (this run also trained the target)"
        print(f"    #{repeat + 1}: compute {rep['compute']:.2f}s, own overhead {rep['own']:.3f}s, group share "
              f"{rep['share']:.2f}s -> {100 * rep['ratio']:.1f}%{whole}")
    values = {k: [r[k] for r in reps if r[k] is not None] for k in reps[0]}
    ratio = median(values["ratio"])
    rows = [
        ["compute per shot set (train loop + evaluation)", f"{fmt(median(values['compute']))} s ({spread(values['compute'])})"],
        ["  of which training loop (10 steps)", f"{fmt(median(values['train_loop']))} s"],
        ["  of which evaluation", f"{fmt(median(values['eval']))} s"],
        ["own overhead per shot set", f"{fmt(median(values['own']))} s ({spread(values['own'])})"],
        ["  of which optimizer/loader set-up", f"{fmt(median(values['train_setup']))} s"],
        ["  model: first stage (load checkpoint) / later stages (restore weights)",
         f"{fmt(median(values['model_first']))} s / {fmt(median(values['model_rest']))} s"],
        ["group share per stage (process start, imports, loads)", f"{fmt(median(values['share']))} s ({spread(values['share'])})"],
        ["group worker wall time", f"{fmt(median(values['group_wall']))} s"],
        ["**overhead ÷ compute**", f"**{100 * ratio:.1f}%** ({100 * min(values['ratio']):.1f}–{100 * max(values['ratio']):.1f}%)"],
        ["same with the whole `xtui run` (CLI, plan, table) spread over the group",
         f"{100 * median(values['ratio_run']):.1f}%" if values["ratio_run"] else "-"],
        [f"goal ≤ {100 * GOAL:.0f}%", goal_text(ratio, GOAL, higher_is_better=False)],
    ]
    headers = ["per few-shot shot set", "median (min–max)"]
    print_table("few-shot overhead", headers, rows)
    notes = [f"`xtui run` of MiniLM on {task} ({', '.join(languages)}), K={shots}, {sets} shot sets, 10 steps each "
             f"(batch {shots}); the group = {len(group)} stages (zero-shot evaluations + shot sets) in one worker process; "
             f"{repeats} repetitions (the first also trains the target stage; the group's results are deleted between "
             "them, the target's kept; the whole-run figure comes from the later ones).",
             "Timings come from each stage's `result.json` (`timing`, `train.training_seconds`) and event times; the "
             "group wall starts when the supervisor writes the group's `launch.yaml` and ends at the last `done` event."]
    body = markdown_table(headers, rows) + "\n\n" + "\n".join(f"- {n}" for n in notes) + "\n"
    append_results("Few-shot overhead per shot set (goal 4)", machine(), body)
    shutil.rmtree(scratch, ignore_errors=True)
    return {"reps": reps, "ratio": ratio}


if __name__ == "__main__":
    run()
