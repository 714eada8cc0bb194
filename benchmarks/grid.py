"""Grid reuse (goal 5): a few-shot grid run by xtui against the same cells run naively.

The grid: 2 intermediate choices (none, demo_nli) × 3 languages (de, es, fr) × K ∈ {0, 8} ×
3 shot sets on `demo_sentiment`, tiny model: 24 cells (per intermediate choice and language,
one K=0 evaluation and three 8-shot sets). xtui runs it as one spec (each shared stage once,
grouped small stages in one process per parent, one tokenisation per dataset).

Naive: every cell is its own full chain (intermediate → target → few-shot or evaluation) in
a fresh runs directory: nothing shared, no cache; each is a separate `xtui run` of a spec
holding only that cell. xtui adds an English evaluation to any spec; in the naive cells it
runs in the same worker as the cell, and its time is subtracted from the cell.

By default the naive side runs each of the 4 kinds of cell ((none | demo_nli) × (K=0 | K=8))
once per repetition, in a different language each time, and scales to the grid's 24 cells
(3 + 9 of each intermediate choice); `--full` runs all 24 cells instead.
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

from .common import OFFLINE, append_results, fmt, goal_text, machine, markdown_table, median, print_table, spread

GOAL = 0.25
LANGUAGES = ["de", "es", "fr"]
INTERMEDIATES = ["none", "demo_nli"]
SETS = 3

SPEC = """
name = "{name}"
model = "tiny"
seeds = [1]

[intermediate]
tasks = {intermediates}
max_steps = 30
batch_size = 16
learning_rate = 5e-4

[target]
task = "demo_sentiment"
languages = {languages}
epochs = 1
batch_size = 16
learning_rate = 5e-4
max_length = 64

[fewshot]
shots = {shots}
shot_sets = {sets}
steps = 10
batch_size = 8
learning_rate = 1e-4
"""


def _run(scratch: Path, name: str, intermediates: list, languages: list, shots: list, sets: int) -> tuple:
    """(wall seconds, seconds of the English evaluation stage) of one `xtui run` in a fresh runs directory."""
    home = scratch / f"home-{name}"
    shutil.rmtree(home, ignore_errors=True)
    spec = scratch / f"{name}.toml"
    spec.write_text(SPEC.format(name=name, intermediates=json.dumps(intermediates), languages=json.dumps(languages),
                                shots=json.dumps(shots), sets=sets))
    env = dict(os.environ, **OFFLINE, XTUI_HOME=str(home))
    started = time.perf_counter()
    done = subprocess.run([sys.executable, "-m", "xtui.cli", "run", str(spec)], capture_output=True, text=True, env=env)
    wall = time.perf_counter() - started
    if done.returncode != 0:
        raise RuntimeError(f"xtui run {name} failed: {done.stderr[-2000:]}")
    english = 0.0
    stages = 0
    for path in (home / "stages").glob("*/result.json"):
        result = json.loads(path.read_text())
        stages += 1
        if result["type"] == "evaluate" and result["language"] == "en":
            english += result["timing"]["total"]
    shutil.rmtree(home, ignore_errors=True)
    return wall, english, stages


def _cells() -> list:
    return [(i, lang, k) for i in INTERMEDIATES for lang in LANGUAGES for k in (0, 8)]


def _naive_cell(scratch: Path, intermediate: str, language: str, shots: int) -> float:
    wall, english, _ = _run(scratch, f"naive-{intermediate}-{language}-{shots}", [intermediate], [language],
                            [shots], 1)
    return wall - english


def run(repeats: int = 2, quick: bool = False, full: bool = False) -> dict:
    scratch = Path(tempfile.mkdtemp(prefix="xtui-bench-grid-"))
    print(f"grid reuse: {len(INTERMEDIATES)} intermediate × {len(LANGUAGES)} languages × K in {{0, 8}} × {SETS} shot sets "
          f"(tiny model, demo tasks); naive: {'all 24 cells' if full else '4 kinds of cell, scaled to 24'}")
    xtui_walls, naive_totals, stage_counts = [], [], []
    samples: dict = {}
    for repeat in range(repeats):
        wall, _, stages = _run(scratch, f"grid-{repeat}", INTERMEDIATES, LANGUAGES, [0, 8], SETS)
        xtui_walls.append(wall)
        stage_counts.append(stages)
        print(f"    xtui grid #{repeat + 1}: {wall:.1f}s ({stages} stages)")
        if full:
            total = 0.0
            for intermediate, language, shots in _cells():
                cell = _naive_cell(scratch, intermediate, language, shots)
                total += cell * (SETS if shots else 1)
                samples.setdefault((intermediate, shots), []).append(cell)
            # a K=8 cell is one shot set: the grid has SETS of them per (intermediate, language)
        else:
            language = LANGUAGES[repeat % len(LANGUAGES)]
            total = 0.0
            for intermediate in INTERMEDIATES:
                for shots in (0, 8):
                    cell = _naive_cell(scratch, intermediate, language, shots)
                    samples.setdefault((intermediate, shots), []).append(cell)
                    total += cell * len(LANGUAGES) * (SETS if shots else 1)
        naive_totals.append(total)
        print(f"    naive #{repeat + 1}: {total:.1f}s for the 24 cells")
    x, n = median(xtui_walls), median(naive_totals)
    ratio = x / n
    rows = [["xtui: the grid as one spec", f"{fmt(x)} s ({spread(xtui_walls)})", f"{stage_counts[0]} stages"],
            ["naive: 24 cells, each a full chain", f"{fmt(n)} s ({spread(naive_totals)})",
             "all 24 run" if full else "4 kinds of cell run, scaled"]]
    for (intermediate, shots), values in sorted(samples.items()):
        count = len(LANGUAGES) * (SETS if shots else 1)
        rows.append([f"  naive cell: {intermediate}, K={shots} (× {count} in the grid)", f"{fmt(median(values))} s "
                     f"({spread(values)})", ""])
    rows.append(["**xtui ÷ naive**", f"**{ratio:.3f}**", f"goal ≤ {GOAL}: {goal_text(ratio, GOAL, higher_is_better=False)}"])
    headers = ["", "wall time, median (min–max)", ""]
    print_table("grid reuse", headers, rows)
    notes = [f"{repeats} repetitions, interleaved (xtui grid, then the naive cells); tiny randomly initialised XLM-R, "
             "demo tasks; intermediate 30 steps, target 1 epoch (600 examples, batch 16), few-shot 10 steps.",
             "Naive cells run in fresh runs directories (nothing reused, no feature cache); the English evaluation that "
             "xtui adds to every spec is subtracted from each naive cell, but not from the xtui grid."]
    body = markdown_table(headers, rows) + "\n\n" + "\n".join(f"- {n}" for n in notes) + "\n"
    append_results("Grid reuse vs naive chains (goal 5)", machine(), body)
    shutil.rmtree(scratch, ignore_errors=True)
    return {"xtui": xtui_walls, "naive": naive_totals, "ratio": ratio, "samples": {str(k): v for k, v in samples.items()}}


if __name__ == "__main__":
    run(full="--full" in sys.argv)
