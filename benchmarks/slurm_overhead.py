"""The Slurm executor's overhead: one plan through the local executor and through a one-node Slurm cluster.

The plan of the launch benchmark (tiny model, none + demo_nli, 3 languages, K = 0: five workers, so
five jobs) runs in a fresh runs directory with ``executor = "local"`` and with ``executor = "slurm"``
on the cluster of ``benchmarks/slurm_cluster.py`` (each job asks for every CPU of the node, so the
jobs run one at a time, as the local executor's workers do on a machine without GPUs), interleaved.
Measured: the whole ``xtui run``'s wall time; submit time (experiment recorded to the last job
submitted); the gap before each worker (its first event minus the last result written before it:
the previous worker's end, or its parent's, to this one running: scheduling, launch, Python start,
imports); the follow lag (the last result written to ``xtui run`` ending).
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

from .common import OFFLINE, append_results, fmt, machine, markdown_table, median, print_table, spread
from .launch_overhead import SPEC
from .slurm_cluster import SlurmCluster, ensure_installed


def _first_event(folder: Path) -> float:
    return json.loads((folder / "events.jsonl").read_text().splitlines()[0])["time"]


def _one(executor: str, cluster: SlurmCluster) -> dict:
    with tempfile.TemporaryDirectory() as folder:
        spec = Path(folder) / "spec.toml"
        spec.write_text(SPEC + f'[run]\nexecutor = "{executor}"\n[run.slurm]\ncpus = {cluster.cpus}\n')
        home = Path(folder) / "runs"
        env = dict(os.environ, **OFFLINE, **cluster.env, XTUI_HOME=str(home))
        began = time.perf_counter()
        done = subprocess.run([sys.executable, "-m", "xtui.cli", "run", str(spec)], capture_output=True, text=True,
                              env=env, stdin=subprocess.DEVNULL)
        wall = time.perf_counter() - began
        if done.returncode != 0:
            raise RuntimeError(f"xtui run failed ({executor}): {done.stderr[-2000:]}")
        record = json.loads(next((home / "experiments").glob("*/experiment.json")).read_text())
        results = sorted(p.stat().st_mtime for p in (home / "stages").glob("*/result.json"))
        firsts = sorted(_first_event(s) for s in (home / "stages").iterdir() if (s / "launch.yaml").exists())
        gaps = [first - max([r for r in results if r < first] or [record["created"]]) for first in firsts]
        submitted = [json.loads(p.read_text())["submitted"] for p in (home / "stages").glob("*/slurm.json")]
        last_result = results[-1]
        return {"wall": wall, "start": median(gaps), "workers": len(firsts),
                "submit": max(submitted) - record["created"] if submitted else float("nan"),
                "lag": record["finished"] - last_result}


def run(repeats: int = 2, quick: bool = False) -> dict:
    why = ensure_installed()
    if why:
        print(f"  skipped: {why}")
        append_results("Slurm executor overhead vs local", machine(), f"Not run: {why}.\n")
        return {}
    repeats = 1 if quick else repeats
    results: dict = {"local": [], "slurm": []}
    cluster = SlurmCluster()
    with cluster:
        for repeat in range(repeats):  # interleaved, so a change of load hits both sides alike
            for executor in results:
                results[executor].append(_one(executor, cluster))
                last = results[executor][-1]
                print(f"    {executor} #{repeat + 1}: wall {fmt(last['wall'])} s, {last['workers']} workers/jobs, "
                      f"gap {fmt(last['start'])} s, lag {fmt(last['lag'])} s", flush=True)
    shutil.rmtree(cluster.root, ignore_errors=True)
    rows = []
    for executor, values in results.items():
        walls = [v["wall"] for v in values]
        rows.append((executor, median(walls), spread(walls), median([v["submit"] for v in values]),
                     median([v["start"] for v in values]), median([v["lag"] for v in values])))
    jobs = results["slurm"][0]["workers"]
    per_job = (rows[1][1] - rows[0][1]) / jobs
    headers = ("executor", "xtui run wall (s)", "min–max", "submit all (s)", "gap before a worker (s, median)",
               "follow lag (s)")
    print_table("Slurm executor overhead", headers, rows)
    print(f"  slurm - local: {fmt(per_job)} s per job ({jobs} jobs)")
    body = (markdown_table(headers, rows)
            + f"\n\n- Slurm minus local: **{fmt(per_job)} s per job** ({jobs} jobs; {repeats} interleaved repetitions, "
              "fresh runs directory each), on a one-node cluster on the same machine (benchmarks/slurm_cluster.py, "
              "Debian slurm-wlm 22.05, backfill scheduler at its defaults).\n"
            + "- Gap before a worker: its first event minus the last result written before it (the previous "
              "worker's end, or its parent's): for Slurm the dependency release, scheduling and slurmd's launch, for "
              "both the Python start and imports. The first worker's gap counts from the experiment's record.\n"
            + "- Follow lag: the last result.json written to `xtui run` recording the experiment's end (the follower "
              "polls squeue about once a second).\n")
    append_results("Slurm executor overhead vs local", machine(), body)
    return {"per_job": per_job}


if __name__ == "__main__":
    from .common import offline

    offline()
    run(repeats=int(sys.argv[1]) if len(sys.argv) > 1 else 2)
