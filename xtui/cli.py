"""The ``xtui`` command line. Headless paths never import Textual; nothing here imports torch."""

from __future__ import annotations

import json
import os
import sys
import time
from pathlib import Path
from typing import List, Optional

import typer
from rich.console import Console

from .errors import XtuiError
from .tasks import ALL_LANGUAGES

app = typer.Typer(add_completion=True, no_args_is_help=False, pretty_exceptions_enable=False,
                  help="xtui: intermediate-task training, few-shot fine-tuning and XTREME evaluation, from one spec.")
runs_app = typer.Typer(add_completion=False, pretty_exceptions_enable=False, help="Browse past experiments.")
app.add_typer(runs_app, name="runs")
from .models_cli import models_app  # noqa: E402  (a command group of its own file)

app.add_typer(models_app, name="models")
plugin_app = typer.Typer(add_completion=False, pretty_exceptions_enable=False, help="Write your own task plugin.")
app.add_typer(plugin_app, name="plugin")

console = Console()
err = Console(stderr=True)


@app.callback(invoke_without_command=True)
def _root(ctx: typer.Context):
    """Without a command on a terminal: the app. Elsewhere (pipes, scripts): this help."""
    if ctx.invoked_subcommand is None:
        if sys.stdin.isatty() and sys.stdout.isatty():
            from .tui import run_app

            run_app()
            return
        typer.echo(ctx.get_help())


def _registry():
    from .plugins import load_plugins, print_failures

    registry = load_plugins()
    print_failures(registry)
    return registry


@app.command()
def run(
    spec_path: Optional[Path] = typer.Argument(None, metavar="SPEC", help="Spec TOML file."),
    set_: List[str] = typer.Option([], "--set", help="Override a field: --set target.learning_rate=1e-5 (repeatable)."),
    dry_run: bool = typer.Option(False, "--dry-run", help="Show the stages and which are already done; run nothing."),
    as_json: bool = typer.Option(False, "--json", help="With --dry-run: the plan as JSON (with --estimate: the estimate)."),
    estimate: bool = typer.Option(False, "--estimate", help="With --dry-run: what the stages to run cost: examples, "
                                                            "tokens, FLOPs and GPU-hours per stage type."),
    gpu: Optional[str] = typer.Option(None, "--gpu", metavar="GPU", help="With --estimate: the throughput of a preset "
                                      "(h100, a100, v100, l40s, cpu) instead of one measured in the run store."),
    resume: Optional[str] = typer.Option(None, "--resume", metavar="EXP",
                                         help="Continue an interrupted experiment (id, prefix, name or 'latest')."),
    auto_batch_size: bool = typer.Option(False, "--auto-batch-size",
                                         help="On out-of-memory, halve the batch (keeping the effective batch)."),
    detach: bool = typer.Option(False, "--detach", help="Run in the background (survives logout); print the experiment id."),
    tracker: List[str] = typer.Option([], "--tracker", help="Also log every stage to tensorboard, wandb or mlflow "
                                                            "(repeatable; adds to run.trackers)."),
    executor: Optional[str] = typer.Option(None, "--executor", help="local (this machine) or slurm (one batch job per "
                                                                     "stage; settings in [run.slurm]); sets run.executor."),
):
    """Run an experiment: every stage of the spec's plan that has no result yet."""
    from .plan import build_plan
    from .spec import load_spec
    from .store import RunStore

    _check_run_flags(dry_run, as_json, detach, estimate, gpu)
    existing = None
    if resume:
        if spec_path is not None:
            raise XtuiError("give either SPEC or --resume EXP, not both")
        store = RunStore()
        existing = store.experiment_record(store.resolve_experiment(resume)["id"])
        if existing is None:
            raise XtuiError(f"experiment {resume!r} has no folder in {store.home}; run `xtui runs reindex`")
        spec_path = store.experiment_dir(existing["id"]) / "spec.toml"
        set_ = list(existing.get("overrides") or []) + list(set_)
    elif spec_path is None:
        raise XtuiError("missing SPEC: give a spec file (xtui run SPEC) or --resume EXP")
    if auto_batch_size:
        set_ = list(set_) + ["run.auto_batch_size=true"]
    if tracker:
        set_ = list(set_) + [_trackers_override(spec_path, set_, tracker)]
    if executor is not None:
        if executor not in EXECUTORS:
            raise XtuiError(f"--executor {executor!r}: not an executor (valid: {', '.join(EXECUTORS)})")
        set_ = list(set_) + [f"run.executor={json.dumps(executor)}"]
    spec, text = load_spec(spec_path, set_)
    registry = _registry()
    plan = build_plan(spec, registry, str(spec_path))
    store = RunStore()
    store.check_usable()  # what the run would refuse, the dry run refuses too
    from .slurm import check_gpus

    check_gpus(spec, str(spec_path))  # [run.slurm] as written must agree with the sections, whichever executor runs
    if spec.run.executor == "local":
        from .executor import check_local_gpus

        check_local_gpus(plan, str(spec_path))
    if not dry_run:
        if spec.run.executor == "slurm":
            from .slurm import check_available

            check_available(str(spec_path))
        store.ensure()
    done = {digest: store.stage_result(digest) is not None for digest in plan.stages}
    if dry_run and estimate:
        _print_estimate(plan, done, registry, gpu, store, as_json)
        return
    if dry_run:
        _print_plan(plan, done, as_json)
        return
    if detach:
        raise typer.Exit(_detach(store, existing["id"] if existing else None, spec.name))
    raise typer.Exit(_execute(spec, text, spec_path, plan, store, registry, list(set_), existing))


EXECUTORS = ("local", "slurm")


def _check_run_flags(dry_run: bool, as_json: bool, detach: bool, estimate: bool = False,
                     gpu: Optional[str] = None) -> None:
    """Flags that contradict each other are refused, not ignored."""
    if estimate and not dry_run:
        raise XtuiError("--estimate prices the plan without running it, so it needs --dry-run "
                        "(xtui run SPEC --dry-run --estimate)")
    if gpu is not None and not estimate:
        raise XtuiError("--gpu sets the throughput of --estimate; add --dry-run --estimate (xtui run SPEC --dry-run "
                        f"--estimate --gpu {gpu})")
    if gpu is not None:
        from .estimate import GPUS

        if gpu not in GPUS:
            raise XtuiError(f"--gpu {gpu!r}: not a preset (valid: {', '.join(GPUS)})")
    if as_json and not dry_run:
        raise XtuiError("--json prints the plan as JSON, so it needs --dry-run (xtui run SPEC --dry-run --json)")
    if dry_run and detach:
        raise XtuiError("--dry-run runs nothing, so there is nothing to --detach; give one of them")


def _given(ctx, *names: str) -> list:
    """The options of ``names`` given on the command line (or the environment), not left at their default."""
    given = []
    for name in names:
        source = ctx.get_parameter_source(name)
        if source is not None and source.name != "DEFAULT":
            given.append(name)
    return given


DAMAGE_CONSEQUENCE = {
    "result.json": "its stage counts as not finished until `xtui run` runs it again",
    "stage.json": "its results are intact (result.json); `xtui run` writes it again if the stage reruns",
    "events.jsonl": "the stage's progress and cause of failure cannot be read from it; `xtui run` runs it again",
}


def _warn_damaged(store, record: dict) -> list:
    """One warning line per damaged stage file of an experiment; returns them as (path, why)."""
    damaged = store.damaged_files(record.get("stages") or [])
    for path, why in damaged:
        err.print(f"warning: {path} is damaged ({why}); {DAMAGE_CONSEQUENCE[path.name]}",
                  highlight=False, markup=False, soft_wrap=True)
    return damaged


def _trackers_override(spec_path: Path, overrides: list, added: list) -> str:
    """``run.trackers=[...]``: the spec's trackers (after its --set overrides) plus those of --tracker."""
    from .spec import load_spec

    spec, _ = load_spec(spec_path, overrides)
    names = list(dict.fromkeys(list(spec.run.trackers) + list(added)))
    return "run.trackers=[" + ", ".join(json.dumps(n) for n in names) + "]"


def _detach(store, experiment_id: Optional[str], name: str) -> int:
    """Start this same `xtui run` (without --detach) in a new session; print the id once it is registered."""
    from .launch import launch_detached, log_tail, new_experiment_id, wait_registered

    args = sys.argv[1:]
    args = [a for a in args[args.index("run") + 1 if "run" in args else 0:] if a != "--detach"]
    experiment_id = experiment_id or new_experiment_id(name)
    launched = launch_detached(store, args, experiment_id)
    code = wait_registered(store, launched)
    if code is not None:
        for line in log_tail(launched.log, 10):
            err.print(line, highlight=False, markup=False, soft_wrap=True)
        err.print(f"xtui: error: the background run did not start (exit {code}); log: {launched.log}", highlight=False)
        return 1 if code in (None, -1, 0) else code
    console.print(experiment_id, highlight=False, soft_wrap=True)
    err.print(f"running in the background (pid {launched.pid}); follow it with `xtui attach {experiment_id}` or `xtui`; "
              f"log: {launched.log}", highlight=False, soft_wrap=True)
    return 0


@app.command()
def attach(
    experiment: str = typer.Argument("latest", help="Experiment id, id prefix, name or 'latest'."),
    interval: float = typer.Option(0.5, "--interval", hidden=True),
):
    """Follow an experiment's stages live until it ends, then show its results (Ctrl-C detaches; it keeps running)."""
    from .follow import ExperimentFollower
    from .progress import make_display
    from .store import RunStore

    store = RunStore()
    try:
        experiment_id = store.resolve_experiment(experiment)["id"]
    except XtuiError:
        if experiment not in store.experiment_ids_on_disk():
            raise
        experiment_id = experiment
    follower = ExperimentFollower(store, experiment_id)
    follower.poll()
    if follower.live:
        counts = follower.counts()
        console.print(f"attached to [bold]{experiment_id}[/bold]: {len(follower.stages)} stages, "
                      + ", ".join(f"{v} {k}" for k, v in sorted(counts.items())) + " (Ctrl-C detaches)", highlight=False)
        display = make_display(console, follower)
        try:
            with display:
                for state in follower.stages.values():
                    if state.status == "running":
                        display.on_status(state, "running", "")
                        if state.total:
                            display.on_event(state, {"event": "step", "step": state.step, "total": state.total,
                                                             "loss": state.loss if state.loss is not None else float("nan"),
                                                             "examples_per_second": state.speed or 0.0})
                while follower.live:
                    time.sleep(interval)
                    for state, events, previous in follower.poll():
                        stage = state
                        if previous is not None and state.status == "running":
                            display.on_status(stage, "running", "")
                        for event in events:
                            display.on_event(stage, event)
                        if previous is not None and state.status != "running":
                            display.on_status(stage, state.status, state.detail)
        except KeyboardInterrupt:
            err.print(f"detached from {experiment_id}; it keeps running (`xtui attach {experiment_id}` to follow it again)",
                      highlight=False)
            raise typer.Exit(0)
    runs_show(experiment_id, holm=False, as_json=False)
    status = follower.status
    if status != "done":
        err.print(f"experiment {experiment_id} {status}", highlight=False)
    raise typer.Exit({"done": 0, "stopped": 130}.get(status, 1))


def _json_out(data) -> None:
    """JSON on stdout: highlighted in a terminal when short, else plain (Rich highlights a flagship
    plan's 3,000 stages in about 30 s; scripts want it plain anyway)."""
    text = json.dumps(data, indent=2, ensure_ascii=False)
    if console.is_terminal and len(text) < 20_000:
        console.print_json(text)
    else:
        sys.stdout.write(text + "\n")


def _print_plan(plan, done: dict, as_json: bool) -> None:
    stages = plan.order()
    if as_json:
        _json_out({
            "name": plan.spec.name, "stages": [
                {"hash": s.hash, "short": s.short, "type": s.type.value, "parent": s.parent, "done": done[s.hash],
                 **s.grid.to_json(), **({"phases": _phase_tasks(s)} if s.phases else {})}
                for s in stages],
            "requested": plan.requested, "unique": len(stages), "naive": plan.naive_size(), "done": sum(done.values()),
            "notes": plan.notes, "languages": {task: languages for task, (_, languages) in plan.languages.items()},
        })
        return
    from rich.table import Table

    if len(stages) > PLAN_TABLE_LIMIT:
        _print_plan_counts(plan, done)
        return
    table = Table(title=f"plan of {plan.spec.name}", title_justify="left")
    for column in ("stage", "type", "intermediate", "task", "language", "K", "set", "seed", "parent", "status"):
        table.add_column(column)
    for s in stages:
        label = s.grid.to_json()
        label["task"] = " → ".join(_phase_tasks(s)) if s.phases else label["task"]
        cells = ["" if label.get(k) is None else str(label[k]) for k in ("intermediate", "task", "language", "shots",
                                                                          "shot_set", "seed")]
        table.add_row(s.short, s.type.value, *cells, s.parent[:12] if s.parent else "-",
                      "[green]done[/green]" if done[s.hash] else "to run")
    console.print(table)
    _print_plan_footer(plan, done)


def _print_estimate(plan, done: dict, registry, gpu: Optional[str], store, as_json: bool) -> None:
    from .estimate import estimate_plan, print_estimate

    estimate = estimate_plan(plan, done, registry, gpu, store.home)
    if as_json:
        _json_out(estimate)
        return
    print_estimate(estimate, console)
    _print_notes(plan)


def _phase_tasks(stage) -> list:
    """The tasks a target stage trains on, in order: its recipe's earlier tasks, then its own."""
    return [member.task for member in stage.phases] + [stage.task]


PLAN_TABLE_LIMIT = 200
"""Plans with more stages are shown as counts per target and stage type (--json lists every stage)."""


def _print_plan_counts(plan, done: dict) -> None:
    from collections import Counter

    from rich.table import Table

    types = ("intermediate", "target", "evaluate", "fewshot")
    counts = Counter((s.grid.task if s.type != "intermediate" else "(intermediate)", s.type) for s in plan.order())
    todo = Counter((s.grid.task if s.type != "intermediate" else "(intermediate)", s.type)
                   for s in plan.order() if not done[s.hash])
    table = Table(title=f"plan of {plan.spec.name}: stages per task (to run / all); --json lists every stage",
                  title_justify="left")
    table.add_column("task")
    for type_ in types:
        table.add_column(type_, justify="right")
    for task in dict.fromkeys(task for task, _ in counts):
        table.add_row(task, *(f"{todo[(task, t)]} / {counts[(task, t)]}" if counts[(task, t)] else "" for t in types))
    console.print(table)
    _print_plan_footer(plan, done)


def _print_plan_footer(plan, done: dict) -> None:
    for task, (named, languages) in plan.languages.items():
        if named and named != ALL_LANGUAGES and languages:  # a benchmark's set: say what it means for each target
            console.print(f"languages {named!r} of {task}: {len(languages)}: {' '.join(languages)}", highlight=False,
                          soft_wrap=True)
    stages = plan.order()
    todo = len(stages) - sum(done.values())
    console.print(f"{len(stages)} stages ({plan.requested - len(stages)} shared within the grid), "
                  f"{sum(done.values())} already done, {todo} to run")
    naive = plan.naive_size()
    if naive > len(stages):
        console.print(f"sharing saves {naive - len(stages):,} of the {naive:,} stages that running every result as its own "
                      f"chain would take ({len(stages) / naive:.0%} of them remain)", highlight=False)
    _print_capacity(plan)
    _print_notes(plan)


def _print_capacity(plan) -> None:
    """How many stages run at once (the local executor); the Slurm queue limit otherwise."""
    if plan.spec.run.executor == "slurm":
        console.print(f"Slurm: up to {plan.spec.run.slurm.max_jobs} jobs in the queue at once", highlight=False)
        return
    from .executor import capacity

    console.print(capacity(plan), highlight=False, soft_wrap=True)


def _print_notes(plan) -> None:
    for note in plan.notes:
        err.print(f"note: {note}", highlight=False, markup=False, soft_wrap=True)


def _execute(spec, text: str, spec_path: Path, plan, store, registry, overrides: list, existing: Optional[dict] = None) -> int:
    from .experiment import Experiment
    from .progress import make_display
    from .results import render_tables

    experiment = Experiment.create(store, spec, text, spec_path, plan, registry, overrides, existing,
                                   warn=lambda line: err.print(line, highlight=False, soft_wrap=True))
    record = experiment.record
    _print_notes(plan)
    console.print(f"experiment [bold]{experiment.id}[/bold]: {len(plan.stages)} stages, "
                  f"{record['reused']} reused, {len(plan.stages) - record['reused']} to run "
                  f"(runs in {store.home})", highlight=False)
    _print_capacity(plan)
    display = make_display(console, plan)
    with display:
        executor = experiment.run(display.on_event, display.on_status)
    tables = experiment.finish(executor)
    render_tables(tables, console)
    statuses = executor.status
    for digest, cause in executor.failures.items():
        err.print(f"stage {digest[:12]} ({plan.stages[digest].describe()}) {statuses[digest]}: {cause}", highlight=False, soft_wrap=True)
    blocked = sum(1 for s in statuses.values() if s == "blocked")
    if blocked:
        err.print(f"{blocked} stages did not run because a stage they depend on did not finish", highlight=False, soft_wrap=True)
    console.print(f"experiment {experiment.id} {record['status']} in {record['finished'] - record['created']:.0f}s",
                  highlight=False)
    return experiment.exit_code(executor)


@plugin_app.command("new")
def plugin_new(
    name: str = typer.Argument(..., help="The plugin's name: 'acme' gives the package xtui-acme, module xtui_acme."),
    dest: Path = typer.Option(Path("."), "--dest", help="The folder to create it in."),
):
    """A task plugin package to start from (pyproject with the entry point, one task, sample data, a test)."""
    from .plugin_new import new_plugin

    target = new_plugin(name, dest)
    console.print(f"wrote {target}: `pip install -e {target}`, then `xtui tasks` lists its task; "
                  f"its test: `python -m pytest {target / 'tests'}`", highlight=False, soft_wrap=True)


@app.command()
def plugins(as_json: bool = typer.Option(False, "--json", help="Machine-readable output.")):
    """Installed plugins, their versions and tasks, and any that failed to load."""
    from .plugins import load_plugins

    registry = load_plugins()
    if as_json:
        _json_out([
            {"name": p.name, "module": p.module, "distribution": p.distribution, "version": p.version,
             "tasks": p.tasks, "error": p.error} for p in registry.plugins])
        return
    from rich.table import Table

    table = Table(title="plugins", title_justify="left")
    for column in ("plugin", "package", "version", "tasks", "status"):
        table.add_column(column)
    for p in registry.plugins:
        table.add_row(p.name, p.distribution, p.version, ", ".join(p.tasks) or "-",
                      f"[red]failed: {p.error}[/red]" if p.error else "[green]ok[/green]")
    console.print(table)


def _presets_json(presets) -> dict:
    """Retrieval presets with JSON keys (their layer tables are keyed by depth)."""
    return {name: {**preset, "layers": {str(depth): layer for depth, layer in preset["layers"].items()}}
            for name, preset in presets.items()}


@app.command()
def tasks(as_json: bool = typer.Option(False, "--json", help="Machine-readable output.")):
    """Every registered task: kind, languages, metric and the plugin that provides it."""
    from .scorers import get_scorer, scorer_name

    registry = _registry()
    items = []
    for t in sorted(registry.tasks.values(), key=lambda t: t.name):
        scorer = get_scorer(scorer_name(t)) if scorer_name(t) else None
        items.append({"name": t.name, "kind": t.kind, "languages": list(t.languages), "metric": t.metric,
                      "scorer": scorer.name if scorer else None, "reproduces": scorer.reproduces if scorer else None,
                      "roles": sorted(t.roles), "plugin": registry.task_plugin[t.name], "description": t.description,
                      "language_sets": {name: list(languages) for name, languages in t.language_sets.items()},
                      "local_only": dict(t.local_only), "retrieval_presets": _presets_json(t.retrieval_presets),
                      **({"recipes": {name: list(tasks) for name, tasks in t.recipes.items()}} if t.recipes else {})})
    if as_json:
        _json_out(items)
        return
    from rich.table import Table

    table = Table(title="tasks", title_justify="left")
    wide = console.width >= 130  # scorer and plugin only where they fit beside a readable language list
    columns = ("task", "kind", "metric", "scorer", "roles", "plugin") if wide else ("task", "kind", "metric", "roles")
    for column in columns:
        table.add_column(column, no_wrap=True)
    # the language list folds onto as many lines as it needs, but never below a readable width
    table.add_column("languages", overflow="fold", min_width=12, ratio=1)
    for t in items:
        roles = "/".join({"intermediate": "int", "target": "tgt"}[r] for r in t["roles"])
        cells = {"task": t["name"], "kind": t["kind"], "metric": t["metric"], "scorer": t["scorer"] or "-",
                 "roles": roles, "plugin": t["plugin"]}
        table.add_row(*(cells[c] for c in columns), f"{len(t['languages'])}: " + " ".join(t["languages"]))
    console.print(table)
    if not wide:
        console.print("roles: int = intermediate, tgt = target; `xtui tasks --json` (or a wider terminal) adds each "
                      "task's scorer and plugin", style="dim", highlight=False)


@app.command()
def stop(
    experiment: str = typer.Argument("latest", help="Experiment id, id prefix, name or 'latest'."),
    stage: Optional[str] = typer.Option(None, "--stage", help="Stop only this stage (hash prefix)."),
):
    """Stop a running experiment (or one stage): SIGINT, then SIGTERM, then SIGKILL to each worker's process group."""
    from .stopping import stop_experiment

    store, record = _load_experiment(experiment)
    for line in stop_experiment(store, record, stage):
        console.print(line, highlight=False)


RICH_ROWS = 200
"""`runs list` draws a Rich table up to this many experiments, aligned plain text beyond."""


STATUSES = ("running", "done", "failed", "stopped", "interrupted", "superseded")


def _since(text: str) -> float:
    """``2026-11-01``, ``2026-11-01T09:30`` or an age (``90m``, ``12h``, ``7d``, ``2w``) as a time stamp."""
    import datetime
    import re

    age = re.fullmatch(r"(\d+(?:\.\d+)?)\s*([mhdw])", text.strip())
    if age:
        return time.time() - float(age.group(1)) * {"m": 60, "h": 3600, "d": 86400, "w": 604800}[age.group(2)]
    try:
        return datetime.datetime.fromisoformat(text.strip()).timestamp()
    except ValueError:
        raise XtuiError(f"--since {text!r}: give a date (2026-11-01, 2026-11-01T09:30) or an age (90m, 12h, 7d, 2w)") from None


def _matches(record: dict, status: Optional[str], task: Optional[str], since: Optional[float], text: Optional[str]) -> bool:
    if status and record.get("status") != status:
        return False
    if task and task not in (record.get("targets") or [record.get("target")]) and not any(
            task in str(i).split("+") for i in record.get("intermediate") or []):
        return False
    if since is not None and (record.get("created") or 0) < since:
        return False
    if text:
        haystack = " ".join(str(record.get(k) or "") for k in ("id", "name", "model", "target", "intermediate", "languages"))
        return text.lower() in haystack.lower()
    return True


@runs_app.command("list")
def runs_list(
    text: Optional[str] = typer.Argument(None, help="Only experiments whose id, name, model, tasks or languages contain this."),
    as_json: bool = typer.Option(False, "--json", help="Machine-readable output."),
    status: Optional[str] = typer.Option(None, "--status", help=f"Only this status: {', '.join(STATUSES)}."),
    task: Optional[str] = typer.Option(None, "--task", help="Only experiments with this target or intermediate task."),
    since: Optional[str] = typer.Option(None, "--since", help="Only experiments created since a date or age (7d, 12h)."),
):
    """Experiments in the index, oldest first."""
    from .store import RunStore

    from .liveness import experiment_state

    if status is not None and status not in STATUSES:
        raise XtuiError(f"--status {status!r}: valid statuses are {', '.join(STATUSES)}")
    after = _since(since) if since is not None else None
    store = RunStore()
    records = store.experiments()
    if not records and store.unindexed():  # an index that lost its experiments is not an empty listing
        from .errors import StoreError

        raise StoreError(store.unindexed())
    for record in records:
        record["status"] = experiment_state(record, store)
    if status or task or after is not None or text:
        records = [r for r in records if _matches(r, status, task, after, text)]
    if as_json:
        if console.is_terminal and len(records) <= RICH_ROWS:
            console.print_json(json.dumps(records))
        else:  # plain JSON: fast for any number of experiments, and what scripts want
            _json_out(records)
        return
    columns = ("id", "status", "model", "intermediate", "target", "languages", "K", "stages", "headline")
    rows = []
    for r in records:
        head = r.get("headline")
        head_text = f"{head['metric']} {100 * head['value']:.1f} ({head['intermediate']}, K={head['shots']})" if head else "-"
        rows.append((r["id"], r.get("status") or "?", r.get("model") or "", ", ".join(r.get("intermediate") or []),
                     r.get("target") or "", " ".join(r.get("languages") or []), ",".join(map(str, r.get("shots") or [])),
                     str(r.get("stage_count", "")), head_text))
    if len(rows) > RICH_ROWS:
        # Rich lays out every cell of a table: seconds for thousands of rows. Aligned plain text instead.
        widths = [max(len(column), *(len(row[i]) for row in rows)) for i, column in enumerate(columns)]
        lines = [f"experiments ({len(records)})", "  ".join(c.ljust(w) for c, w in zip(columns, widths)).rstrip(),
                 "  ".join("-" * w for w in widths)]
        lines.extend("  ".join(cell.ljust(w) for cell, w in zip(row, widths)).rstrip() for row in rows)
        sys.stdout.write("\n".join(lines) + "\n")
        return
    from rich.table import Table

    table = Table(title=f"experiments ({len(records)})", title_justify="left")
    for column in columns:
        table.add_column(column, overflow="fold")
    for row in rows:
        table.add_row(*row)
    console.print(table)


def _load_experiment(name: str):
    from .store import RunStore

    store = RunStore()
    record = store.resolve_experiment(name)
    experiment = store.experiment_record(record["id"])
    if experiment is None:
        raise XtuiError(f"experiment {record['id']} is in the index but its folder is gone; run `xtui runs reindex`")
    return store, experiment


@runs_app.command("show")
def runs_show(
    experiment: str = typer.Argument("latest", help="Experiment id, id prefix, name or 'latest'."),
    holm: bool = typer.Option(False, "--holm", help="Mark a Δ only when its Holm-adjusted p (over its table) < 0.05 too."),
    as_json: bool = typer.Option(False, "--json", help="The stages' counts and every table (with its Δ statistics) as JSON."),
):
    """An experiment's stages and its results tables (Δ vs none marked * where its 95 % paired interval excludes 0)."""
    from .results import experiment_rows, render_tables, stage_summary, summary_tables

    from .liveness import experiment_state

    store, record = _load_experiment(experiment)
    damaged = _warn_damaged(store, record)
    summaries = [stage_summary(store, d) for d in record["stages"]]
    counts: dict = {}
    for s in summaries:
        counts[s["status"]] = counts.get(s["status"], 0) + 1
    tables = summary_tables(experiment_rows(store, record), record, holm=holm)
    chosen = selection_summaries(store, record)
    if as_json:
        unfinished = [{k: s.get(k) for k in ("hash", "type", "task", "language", "status", "detail")}
                      for s in summaries if s["status"] in ("failed", "stopped", "running")]
        sys.stdout.write(json.dumps({"id": record["id"], "status": experiment_state(record, store), "model": record["model"],
                                     "targets": record.get("targets") or [record["target"]], "stages": counts,
                                     "unfinished": unfinished, "selection": chosen, "tables": tables,
                                     "damaged": [{"path": str(p), "why": why} for p, why in damaged]},
                                    indent=1, ensure_ascii=False) + "\n")
        return
    state = experiment_state(record, store) + (f" ({len(damaged)} damaged file{'s' if len(damaged) > 1 else ''})" if damaged else "")
    console.print(f"[bold]{record['id']}[/bold]  {state}  model {record['model']}  "
                  f"target {record['target']}  languages {' '.join(record['languages'])}", highlight=False)
    console.print("stages: " + ", ".join(f"{v} {k}" for k, v in sorted(counts.items())), highlight=False)
    for s in summaries:
        if s["status"] in ("failed", "stopped", "running"):
            console.print(f"  {s['status']:<8} {s['hash'][:12]} {s['type']} {s.get('language') or ''} {s.get('detail') or ''}",
                          highlight=False, soft_wrap=True)
    if chosen:
        from .selection import describe

        console.print("model selection (the weights each training stage kept):", highlight=False)
        for item in chosen:
            console.print(f"  {item['stage'][:12]} {item['describe']}  {describe(item['selection'])}", highlight=False,
                          soft_wrap=True, markup=False)
    render_tables(tables, console)


def selection_summaries(store, record: dict) -> list:
    """What each finished intermediate and target stage of an experiment kept (result.json's
    ``selection``: select, step, score, split, early stopping), for ``runs show``. Few-shot stages,
    one per shot set, keep their last step unless ``fewshot.select`` says otherwise: listed then only."""
    from .stage import describe_stage, result_grid

    out = []
    for digest in record.get("stages", []):
        result = store.stage_result(digest)
        selection = (result or {}).get("selection")
        if not isinstance(selection, dict) or (result["type"] == "fewshot" and selection.get("select") in (None, "last")):
            continue
        out.append({"stage": digest, "type": result["type"], "selection": selection,
                    "describe": describe_stage(result["type"], result_grid(result))})
    return out


def _writable(path: Path) -> None:
    """One line naming the destination when it cannot be written (a folder, no parent, read-only)."""
    path = Path(path)
    if str(path) in ("", "."):
        raise XtuiError("--output: give a file name")
    if path.is_dir():
        raise XtuiError(f"--output {path}: is a folder; give a file name inside it")
    parent = path.parent if str(path.parent) else Path(".")
    if not parent.is_dir():
        raise XtuiError(f"--output {path}: the folder {parent} does not exist")
    if not os.access(parent, os.W_OK) or (path.exists() and not os.access(path, os.W_OK)):
        raise XtuiError(f"--output {path}: not writable (permissions)")


@runs_app.command("export")
def runs_export(
    ctx: typer.Context,
    experiment: str = typer.Argument("latest", help="Experiment id, id prefix, name or 'latest'."),
    fmt: str = typer.Option("csv", "--format", "-f", help="json, csv (tidy rows), parquet (tidy rows, -o FILE), md, "
                            "latex (booktabs tables), buckets (the shot sets, fsxlt/buckets layout, -o DIR), or xtreme / "
                            "xtreme-r (the leaderboard's submission folder, from the saved predictions)."),
    output: Optional[Path] = typer.Option(None, "--output", "-o", help="Write to this file (a folder for xtreme, "
                                          "xtreme-r) instead of stdout."),
    table: str = typer.Option("rows", "--table", help="json/csv: rows (tidy results) or deltas (each Δ vs none: mean, "
                                                      "95 % interval, p, n)."),
    holm: bool = typer.Option(False, "--holm", help="Add Holm-adjusted p-values (over each table) to the deltas."),
    intermediate: Optional[str] = typer.Option(None, "--intermediate", help="xtreme, xtreme-r: which intermediate task's results."),
    shots: int = typer.Option(0, "--shots", help="xtreme, xtreme-r: K (0: zero-shot)."),
    shot_set: Optional[int] = typer.Option(None, "--shot-set", help="xtreme, xtreme-r: which shot set for K > 0 (default 0)."),
    seed: Optional[int] = typer.Option(None, "--seed", help="xtreme, xtreme-r: which seed."),
    labels: bool = typer.Option(False, "--labels", help="xtreme, xtreme-r: also write the gold labels (predictions/ "
                                "and labels/, as XTREME's mock_test_data) to score the folder with evaluate.py."),
):
    """Export an experiment's results as tidy rows or Δ statistics (json, csv), tables (md) or an XTREME submission folder."""
    from .results import experiment_rows, export, summary_tables

    submission = ("intermediate", "shots", "shot_set", "seed", "labels")
    misplaced = _given(ctx, *submission) if fmt not in ("xtreme", "xtreme-r") else []
    if misplaced:
        raise XtuiError(f"--{misplaced[0].replace('_', '-')} picks the results of --format xtreme and xtreme-r only, "
                        f"not {fmt}")
    if fmt not in ("json", "csv") and _given(ctx, "table"):
        raise XtuiError(f"--table (rows or deltas) applies to --format json, csv, not {fmt}")
    if fmt in ("xtreme", "xtreme-r"):
        _export_submission(experiment, fmt, output, intermediate, shots, shot_set, seed, labels)
        return
    if fmt == "buckets":
        from .buckets import export_sets

        if output is None or (output.exists() and not output.is_dir()):
            raise XtuiError("--format buckets writes a folder (fsxlt/buckets layout): give it with -o DIR")
        store, record = _load_experiment(experiment)
        written = export_sets(store, record, output)
        err.print(f"wrote {len(written)} shot sets of {record['id']} to {output} (fsxlt/buckets layout)", highlight=False)
        return
    if fmt not in ("json", "csv", "md", "latex", "parquet"):
        raise XtuiError(f"--format {fmt!r}: valid formats are json, csv, md, latex, parquet, xtreme, xtreme-r")
    if fmt == "parquet" and output is None:
        raise XtuiError("--format parquet writes a binary file: give it with -o FILE.parquet")
    if table not in ("rows", "deltas"):
        raise XtuiError(f"--table {table!r}: valid tables are rows, deltas")
    store, record = _load_experiment(experiment)
    _warn_damaged(store, record)
    rows = experiment_rows(store, record)
    if fmt == "parquet":
        from .results import parquet

        _writable(output)
        parquet(rows, output)
        err.print(f"wrote {len(rows)} rows of {record['id']} to {output}", highlight=False)
        return
    tables = summary_tables(rows, record, holm=holm)
    if fmt == "latex":
        from .results import latex

        text = latex(tables, record["id"])
    else:
        text = export(rows, tables, fmt, table, record["id"])
    if output:
        from .files import atomic_write_text

        _writable(output)
        atomic_write_text(output, text)
        what = f"{len(rows)} rows" if table == "rows" or fmt == "md" else "the Δ statistics"
        err.print(f"wrote {what} of {record['id']} to {output}", highlight=False)
    else:
        sys.stdout.write(text)


def _export_submission(experiment, fmt, output, intermediate, shots, shot_set, seed, labels) -> None:
    from .submission import export_submission

    if output is None:
        raise XtuiError(f"--format {fmt}: give the submission folder with --output DIR")
    if output.exists() and not output.is_dir():
        raise XtuiError(f"--output {output}: is a file; the {fmt} submission is a folder")
    store, record = _load_experiment(experiment)
    report = export_submission(store, record, output, fmt, intermediate, shots, shot_set, seed, labels)
    console.print(f"wrote {len(report['written'])} files to {output}", highlight=False)
    if report["missing_tasks"]:
        console.print(f"missing tasks: {' '.join(report['missing_tasks'])}", highlight=False)
    for task, languages in report["missing"].items():
        console.print(f"missing {task} languages: {' '.join(languages)}", highlight=False, soft_wrap=True)
    if report["no_predictions"]:
        console.print(f"without saved predictions (evaluated before xtui kept them): {' '.join(report['no_predictions'])}",
                      highlight=False, soft_wrap=True)


@runs_app.command("rescore")
def runs_rescore(
    experiment: str = typer.Argument("latest", help="Experiment id, id prefix, name or 'latest'."),
    as_json: bool = typer.Option(False, "--json", help="Machine-readable output."),
):
    """Recompute every metric of an experiment from its saved predictions; exit 1 if one differs."""
    from .predictions import rescore_experiment

    store, record = _load_experiment(experiment)
    _registry()  # plugins register their scorers when they are imported
    rows = rescore_experiment(store, record)
    if as_json:
        sys.stdout.write(json.dumps(rows, indent=2, sort_keys=True) + "\n")
    else:
        for row in rows:
            metrics = row.get("rescored") or {}
            shown = " ".join(f"{name}={value:.6g}" for name, value in metrics.items() if isinstance(value, (int, float)))
            where = f"{row['task']} {row['language']} {row['intermediate']} K={row['shots']}"
            console.print(f"{row['status']:<14} {row['hash'][:12]} {where}  {shown}", highlight=False, soft_wrap=True)
        counts: dict = {}
        for row in rows:
            counts[row["status"]] = counts.get(row["status"], 0) + 1
        console.print(", ".join(f"{count} {status}" for status, count in sorted(counts.items())) or "no evaluations",
                      highlight=False)
    return 1 if any(row["status"] == "different" for row in rows) else 0


@runs_app.command("plot")
def runs_plot(
    experiment: str = typer.Argument("latest", help="Experiment id, id prefix, name or 'latest'."),
    kind: List[str] = typer.Option([], "--kind", help="heatmap, fewshot or loss (repeatable; default: all three)."),
    out: Path = typer.Option(Path("figures"), "--out", help="Folder for the PNG, SVG and PDF files."),
    stage: List[str] = typer.Option([], "--stage", help="loss: only these stages (hash prefixes; default: training stages)."),
):
    """Figures for a paper (PNG, SVG, PDF): heat maps of Δ vs none, few-shot curves, loss curves."""
    from .plots import KINDS, plot

    unknown = [k for k in kind if k not in KINDS]
    if unknown:
        raise XtuiError(f"--kind {unknown[0]!r}: valid kinds are {', '.join(KINDS)}")
    if out.exists() and not out.is_dir():
        raise XtuiError(f"--out {out}: is a file; give a folder")
    if stage and kind and "loss" not in kind:
        raise XtuiError("--stage picks the stages of the loss curves: add --kind loss, or leave --stage out")
    store, record = _load_experiment(experiment)
    paths = plot(store, record, kind or KINDS, out, stage)
    if not paths:
        err.print(f"nothing to plot for {record['id']} yet (no finished evaluations)", highlight=False)
        raise typer.Exit(1)
    for path in paths:
        console.print(str(path), highlight=False, soft_wrap=True)
    err.print(f"wrote {len(paths)} files to {out}", highlight=False)


@runs_app.command("compare")
def runs_compare(
    experiments: List[str] = typer.Argument(..., metavar="EXP EXP [EXP...]", help="Two or more experiments (id, prefix, name)."),
):
    """How experiments' specs differ, and the result cells they share (mean ± std; Δ = last − first), as the app's compare screen."""
    from rich.table import Table

    from .comparison import compare_legend, format_cell, shared_results, spec_differences
    from .results import experiment_rows, summary_tables

    if len(experiments) < 2:
        raise XtuiError("runs compare: give two or more experiments")
    loaded = [_load_experiment(name) for name in experiments]
    records = [record for _, record in loaded]
    names = [f"#{i + 1}" for i in range(len(records))]
    for name, record in zip(names, records):
        console.print(f"[bold]{name}[/bold] {record['id']}  {record.get('status', '?')}  model {record.get('model')}",
                      highlight=False)
    differences = spec_differences([r.get("spec") for r in records])
    table = Table(title="spec differences", title_justify="left")
    table.add_column("field")
    for name in names:
        table.add_column(name, overflow="fold")
    for key, values in differences:
        table.add_row(key, *(str(v) for v in values))
    if differences:
        console.print(table)
    else:
        console.print("the specs are identical", style="dim")
    tables = [summary_tables(experiment_rows(store, record), record) for store, record in loaded]
    rows, only_some = shared_results(tables)
    shared = Table(title=f"shared results (mean ± std, %; Δ = {names[-1]} − #1): {len(rows)} cells in all of them"
                         + (f", {only_some} in only some (not shown)" if only_some else ""), title_justify="left")
    for column in ("task", "metric", "K", "intermediate", "column", *names, "Δ"):
        shared.add_column(column, justify="right" if column in names or column == "Δ" else "left")
    for task, metric, shots, intermediate, column, values in rows:
        shared.add_row(task, metric, str(shots), intermediate, column, *(format_cell(v) for v in values),
                       f"{100 * (values[-1][0] - values[0][0]):+.1f}")
    console.print(shared)
    if compare_legend(rows):
        console.print(compare_legend(rows), highlight=False)


@runs_app.command("reindex")
def runs_reindex():
    """Rebuild the index from the run directories (they are the truth)."""
    from .store import RunStore

    store = RunStore()
    experiments, stages = store.reindex()
    for line in store.reindex_skipped:
        err.print(f"warning: left out of the index: {line}", highlight=False, markup=False, soft_wrap=True)
    console.print(f"reindexed {experiments} experiments and {stages} stages from {store.home}", highlight=False)


FAST_LIST = (["runs", "list"], ["runs", "list", "--json"])


def _defer_rich_markdown() -> None:
    """For ``--help`` only: typer's Rich help imports ``rich.markdown`` (markdown-it, about a third of
    the help's start-up) though xtui's help uses Rich markup, never Markdown. A stand-in module
    builds the real ``Markdown`` on first use, so nothing changes if it is ever needed."""
    if "rich.markdown" in sys.modules:
        return
    import types

    stand_in = types.ModuleType("rich.markdown")

    class Markdown:  # noqa: D401 - a stand-in
        def __new__(cls, *args, **kwargs):
            sys.modules.pop("rich.markdown", None)
            import importlib

            return importlib.import_module("rich.markdown").Markdown(*args, **kwargs)

    stand_in.Markdown = Markdown
    sys.modules["rich.markdown"] = stand_in


def main() -> None:
    try:  # typer 0.2x vendors click
        from typer._click import exceptions as click
    except ImportError:  # pragma: no cover - older typer
        from click import exceptions as click

    argv = sys.argv[1:]
    try:
        if argv in FAST_LIST:
            # The commonest query skips typer's parameter set-up (it imports pydantic: ~0.1 s).
            runs_list(text=None, as_json=len(argv) == 3, status=None, task=None, since=None)
            sys.exit(0)
        if "--help" in argv:
            _defer_rich_markdown()
        code = app(standalone_mode=False)
        # without standalone mode, click returns a command's exit code instead of exiting
        sys.exit(code if isinstance(code, int) else 0)
    except XtuiError as error:
        err.print(f"xtui: error: {error}", highlight=False, markup=False, soft_wrap=True)
        sys.exit(error.exit_code)
    except click.UsageError as error:
        command = error.ctx.command_path if error.ctx else "xtui"
        message = error.format_message().replace("\n", " ")
        err.print(f"xtui: error: {message} (see `{command} --help`)", highlight=False, markup=False, soft_wrap=True)
        sys.exit(2)
    except click.ClickException as error:
        err.print(f"xtui: error: {error.format_message()}", highlight=False, markup=False, soft_wrap=True)
        sys.exit(error.exit_code)
    except typer.Abort:
        sys.exit(130)
    except typer.Exit as exit_:
        sys.exit(exit_.exit_code)


if __name__ == "__main__":
    main()
