"""`make bench` / `python -m benchmarks [--only NAME,...] [--quick] [--full-grid]`.

Runs every benchmark (about 15-20 minutes on 2 shared CPU cores), prints a table per benchmark
and appends each result, with the machine's description, to benchmarks/RESULTS.md:

  index       index at scale (10,000 experiments, 200,000 stages) and CLI start-up  (goal 6)
  throughput  training throughput vs transformers.Trainer, and MFU                 (goals 2, 3)
  e5          e5-small-multilingual throughput, frozen vs full embeddings, vs Trainer (issue 10)
  fewshot     few-shot overhead per shot set in a grouped worker                    (goal 4)
  grid        grid reuse vs naive full chains                                       (goal 5)
  quickstart  the offline quickstart's wall time, fresh runs directory             (issue 2)
  launch      worker start-up: one-process workers direct vs `accelerate launch`
  gpu         XLM-R base bf16 throughput and MFU on a GPU, or a note that none ran   (goal 7)
  slurm       the Slurm executor on a one-node cluster vs the local executor          (issue 12)
  processes   stages as 2 gloo CPU processes vs 1 (data parallelism's cost here)     (issue 12)
"""

from __future__ import annotations

import argparse
import sys
import time

from . import common

ORDER = ("index", "throughput", "e5", "fewshot", "grid", "quickstart", "launch", "gpu", "slurm", "processes")


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--only", default="", help="comma-separated benchmarks to run (default: all)")
    parser.add_argument("--quick", action="store_true", help="smaller sizes and fewer repetitions (a smoke run)")
    parser.add_argument("--full-grid", action="store_true", help="grid: run all 24 naive cells instead of 4 kinds scaled")
    args = parser.parse_args(argv)
    chosen = [n.strip() for n in args.only.split(",") if n.strip()] or list(ORDER)
    unknown = [n for n in chosen if n not in ORDER]
    if unknown:
        parser.error(f"unknown benchmark(s) {', '.join(unknown)}; choose from {', '.join(ORDER)}")
    common.offline()
    started = time.perf_counter()
    timings = {}
    for name in ORDER:
        if name not in chosen:
            continue
        print(f"\n=== {name} ===", flush=True)
        began = time.perf_counter()
        if name == "index":
            from . import index_scale

            index_scale.run(repeats=3 if args.quick else 7, quick=args.quick)
        elif name == "throughput":
            from . import throughput

            throughput.run(repeats=1 if args.quick else 3, quick=args.quick)
        elif name == "e5":
            from . import throughput_e5

            throughput_e5.run_all(repeats=1 if args.quick else 3, examples=32 if args.quick else 64)
        elif name == "fewshot":
            from . import fewshot_overhead

            fewshot_overhead.run(repeats=1 if args.quick else 3, quick=args.quick)
        elif name == "grid":
            from . import grid

            grid.run(repeats=1 if args.quick else 2, quick=args.quick, full=args.full_grid)
        elif name == "quickstart":
            from . import quickstart

            quickstart.run(repeats=1)
        elif name == "launch":
            from . import launch_overhead

            launch_overhead.run(repeats=1 if args.quick else 3, quick=args.quick)
        elif name == "gpu":
            from . import gpu

            gpu.run(repeats=1 if args.quick else 3, quick=args.quick)
        elif name == "slurm":
            from . import slurm_overhead

            slurm_overhead.run(repeats=1 if args.quick else 2, quick=args.quick)
        elif name == "processes":
            from . import multiprocess

            multiprocess.run(repeats=1 if args.quick else 3, quick=args.quick)
        timings[name] = time.perf_counter() - began
        print(f"({name}: {timings[name]:.0f}s)", flush=True)
    total = time.perf_counter() - started
    summary = ", ".join(f"{k} {v:.0f}s" for k, v in timings.items()) + f"; total {total / 60:.1f} min"
    print("\n" + summary)
    pressure = ""
    try:
        pressure = open("/proc/pressure/cpu").readline().strip()
    except OSError:
        pass
    body = f"{summary}."
    if set(chosen) == set(ORDER) and not args.quick:
        body += f" Goal: the whole `make bench` under 20 minutes: {'met' if total < 1200 else 'NOT met'}."
    if pressure:
        body += f"\n\n- CPU pressure at the end (`/proc/pressure/cpu`, share of time a task waited for a CPU): `{pressure}`."
    common.append_results("Run time of this `make bench`",
                          {"date": time.strftime("%Y-%m-%d %H:%M %Z"), "machine": common.cpu_model()}, body + "\n")
    print(f"results appended to {common.RESULTS}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
