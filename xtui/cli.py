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

app = typer.Typer(add_completion=False, no_args_is_help=False, pretty_exceptions_enable=False,
                  help="xtui: intermediate-task training, few-shot fine-tuning and XTREME evaluation, from one spec.")
runs_app = typer.Typer(add_completion=False, pretty_exceptions_enable=False, help="Browse past experiments.")
app.add_typer(runs_app, name="runs")
from .models_cli import models_app  # noqa: E402  (a command group of its own file)

app.add_typer(models_app, name="models")

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
    as_json: bool = typer.Option(False, "--json", help="With --dry-run: the plan as JSON."),
    resume: Optional[str] = typer.Option(None, "--resume", metavar="EXP",
                                         help="Continue an interrupted experiment (id, prefix, name or 'latest')."),
    auto_batch_size: bool = typer.Option(False, "--auto-batch-size",
                                         help="On out-of-memory, halve the batch (keeping the effective batch)."),
    detach: bool = typer.Option(False, "--detach", help="Run in the background (survives logout); print the experiment id."),
):
    """Run an experiment: every stage of the spec's plan that has no result yet."""
    from .plan import build_plan
    from .spec import load_spec
    from .store import RunStore

    existing = None
    if resume:
        if spec_path is not None:
            raise XtuiError("give either SPEC or --resume EXP, not both")
        store = RunStore()
        existing = store.read_experiment(store.resolve_experiment(resume)["id"])
        if existing is None:
            raise XtuiError(f"experiment {resume!r} has no folder in {store.home}; run `xtui runs reindex`")
        spec_path = store.experiment_dir(existing["id"]) / "spec.toml"
        set_ = list(existing.get("overrides") or []) + list(set_)
    elif spec_path is None:
        raise XtuiError("missing SPEC: give a spec file (xtui run SPEC) or --resume EXP")
    if auto_batch_size:
        set_ = list(set_) + ["run.auto_batch_size=true"]
    spec, text = load_spec(spec_path, set_)
    registry = _registry()
    plan = build_plan(spec, registry, str(spec_path))
    store = RunStore()
    if not dry_run:
        store.ensure()
    done = {digest: store.stage_result(digest) is not None for digest in plan.stages}
    if dry_run:
        _print_plan(plan, done, as_json)
        return
    if detach:
        raise typer.Exit(_detach(store, existing["id"] if existing else None, spec.name))
    raise typer.Exit(_execute(spec, text, spec_path, plan, store, registry, list(set_), existing))


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
                        display.on_status(state.stage(), "running", "")
                        if state.total:
                            display.on_event(state.stage(), {"event": "step", "step": state.step, "total": state.total,
                                                             "loss": state.loss if state.loss is not None else float("nan"),
                                                             "examples_per_second": state.speed or 0.0})
                while follower.live:
                    time.sleep(interval)
                    for state, events, previous in follower.poll():
                        stage = state.stage()
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
    runs_show(experiment_id)
    status = follower.status
    if status != "done":
        err.print(f"experiment {experiment_id} {status}", highlight=False)
    raise typer.Exit({"done": 0, "stopped": 130}.get(status, 1))


def _print_plan(plan, done: dict, as_json: bool) -> None:
    stages = plan.order()
    if as_json:
        console.print_json(json.dumps({
            "name": plan.spec.name, "stages": [
                {"hash": s.hash, "short": s.short, "type": s.type, "parent": s.parent, "done": done[s.hash], **s.labels}
                for s in stages],
            "requested": plan.requested, "unique": len(stages), "naive": plan.naive_size(), "done": sum(done.values()),
            "notes": plan.notes,
        }))
        return
    from rich.table import Table

    if len(stages) > PLAN_TABLE_LIMIT:
        _print_plan_counts(plan, done)
        return
    table = Table(title=f"plan of {plan.spec.name}", title_justify="left")
    for column in ("stage", "type", "intermediate", "task", "language", "K", "set", "seed", "parent", "status"):
        table.add_column(column)
    for s in stages:
        label = s.labels
        table.add_row(s.short, s.type, label.get("intermediate", ""), label.get("task", ""), label.get("language", ""),
                      str(label.get("shots", "")), str(label.get("shot_set", "") if label.get("shot_set") is not None else ""),
                      str(label.get("seed", "")), s.parent[:12] if s.parent else "-",
                      "[green]done[/green]" if done[s.hash] else "to run")
    console.print(table)
    _print_plan_footer(plan, done)


PLAN_TABLE_LIMIT = 200
"""Plans with more stages are shown as counts per target and stage type (--json lists every stage)."""


def _print_plan_counts(plan, done: dict) -> None:
    from collections import Counter

    from rich.table import Table

    types = ("intermediate", "target", "evaluate", "fewshot")
    counts = Counter((s.labels.get("task") if s.type != "intermediate" else "(intermediate)", s.type) for s in plan.order())
    todo = Counter((s.labels.get("task") if s.type != "intermediate" else "(intermediate)", s.type)
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
    stages = plan.order()
    todo = len(stages) - sum(done.values())
    console.print(f"{len(stages)} stages ({plan.requested - len(stages)} shared within the grid), "
                  f"{sum(done.values())} already done, {todo} to run")
    naive = plan.naive_size()
    if naive > len(stages):
        console.print(f"sharing saves {naive - len(stages):,} of the {naive:,} stages that running every result as its own "
                      f"chain would take ({len(stages) / naive:.0%} of them remain)", highlight=False)
    _print_notes(plan)


def _print_notes(plan) -> None:
    for note in plan.notes:
        err.print(f"note: {note}", highlight=False, markup=False, soft_wrap=True)


def _execute(spec, text: str, spec_path: Path, plan, store, registry, overrides: list, existing: Optional[dict] = None) -> int:
    import socket

    from .executor import LocalExecutor
    from .files import atomic_write_json, atomic_write_text
    from .progress import make_display
    from .results import experiment_rows, headline, render_tables, stage_summary, summary_tables
    from .spec import intermediate_key
    from .store import index_record

    store.ensure()
    if existing:
        experiment_id = existing["id"]
        folder = store.experiment_dir(experiment_id)
    else:
        import secrets

        experiment_id = os.environ.get("XTUI_EXPERIMENT_ID") or f"{time.strftime('%Y%m%d-%H%M%S')}-{spec.name}-{secrets.token_hex(2)}"
        folder = store.experiment_dir(experiment_id)
        folder.mkdir(parents=True, exist_ok=True)
        atomic_write_text(folder / "spec.toml", text)
    targets = spec.target.names()
    planned = [s.labels for s in plan.order() if s.type in ("evaluate", "fewshot")]
    listed = spec.target.languages if isinstance(spec.target.languages, list) else []  # "all": every task's own
    # English is evaluated whenever it has test data; it is a target language only when the spec lists it
    languages = list(dict.fromkeys(l["language"] for l in planned if l["language"] != "en" or "en" in listed))
    experiment = {
        "id": experiment_id, "name": spec.name, "status": "running", "model": spec.model,
        "intermediate": [intermediate_key(t) for t in spec.intermediate.tasks], "target": " ".join(targets),
        "targets": targets, "metric": registry.tasks[targets[0]].metric, "languages": languages, "shots": spec.fewshot.shots,
        "shot_sets": spec.fewshot.shot_sets, "seeds": spec.seeds, "created": time.time(), "finished": None,
        "spec_path": str(Path(spec_path).resolve()), "host": socket.gethostname(), "pid": os.getpid(),
        "stages": list(plan.stages), "stage_count": len(plan.stages),
        "reused": sum(1 for d in plan.stages if store.stage_result(d)), "failed_stages": 0, "headline": None,
        "spec": json.loads(spec.model_dump_json()), "overrides": overrides,
    }
    if existing:
        experiment["created"] = existing.get("created", experiment["created"])
        experiment["resumed"] = (existing.get("resumed") or 0) + 1
    atomic_write_json(folder / "experiment.json", experiment)
    store.upsert_experiment(index_record(experiment))
    _print_notes(plan)
    console.print(f"experiment [bold]{experiment_id}[/bold]: {len(plan.stages)} stages, "
                  f"{experiment['reused']} reused, {len(plan.stages) - experiment['reused']} to run "
                  f"(runs in {store.home})", highlight=False)
    display = make_display(console, plan)
    with display:
        executor = LocalExecutor(store, plan, display.on_event, display.on_status)
        ok = executor.run()
    statuses = executor.status
    failed = [d for d, s in statuses.items() if s in ("failed", "blocked")]
    rows = experiment_rows(store, experiment)
    tables = summary_tables(rows, experiment)
    status = "done" if ok else ("stopped" if executor.stop_requested else "failed")
    experiment.update(status=status, finished=time.time(), failed_stages=len(failed), headline=headline(tables))
    atomic_write_json(folder / "experiment.json", experiment)
    store.upsert_experiment(index_record(experiment))
    store.upsert_stages([stage_summary(store, d) for d in plan.stages])
    render_tables(tables, console)
    for digest, cause in executor.failures.items():
        err.print(f"stage {digest[:12]} ({plan.stages[digest].describe()}) {statuses[digest]}: {cause}", highlight=False, soft_wrap=True)
    blocked = sum(1 for s in statuses.values() if s == "blocked")
    if blocked:
        err.print(f"{blocked} stages did not run because a stage they depend on did not finish", highlight=False, soft_wrap=True)
    console.print(f"experiment {experiment_id} {status} in {experiment['finished'] - experiment['created']:.0f}s", highlight=False)
    if executor.stop_requested:
        return 130
    return 0 if ok else 1


@app.command()
def plugins(as_json: bool = typer.Option(False, "--json", help="Machine-readable output.")):
    """Installed plugins, their versions and tasks, and any that failed to load."""
    from .plugins import load_plugins

    registry = load_plugins()
    if as_json:
        console.print_json(json.dumps([
            {"name": p.name, "module": p.module, "distribution": p.distribution, "version": p.version,
             "tasks": p.tasks, "error": p.error} for p in registry.plugins]))
        return
    from rich.table import Table

    table = Table(title="plugins", title_justify="left")
    for column in ("plugin", "package", "version", "tasks", "status"):
        table.add_column(column)
    for p in registry.plugins:
        table.add_row(p.name, p.distribution, p.version, ", ".join(p.tasks) or "-",
                      f"[red]failed: {p.error}[/red]" if p.error else "[green]ok[/green]")
    console.print(table)


@app.command()
def tasks(as_json: bool = typer.Option(False, "--json", help="Machine-readable output.")):
    """Every registered task: kind, languages, metric and the plugin that provides it."""
    registry = _registry()
    items = [{"name": t.name, "kind": t.kind, "languages": list(t.languages), "metric": t.metric,
              "roles": sorted(t.roles), "plugin": registry.task_plugin[t.name], "description": t.description}
             for t in sorted(registry.tasks.values(), key=lambda t: t.name)]
    if as_json:
        console.print_json(json.dumps(items))
        return
    from rich.table import Table

    table = Table(title="tasks", title_justify="left")
    for column in ("task", "kind", "metric", "roles", "plugin"):
        table.add_column(column, no_wrap=True)
    table.add_column("languages", overflow="fold")
    for t in items:
        table.add_row(t["name"], t["kind"], t["metric"], "/".join(t["roles"]), t["plugin"], " ".join(t["languages"]))
    console.print(table)


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


@runs_app.command("list")
def runs_list(as_json: bool = typer.Option(False, "--json", help="Machine-readable output.")):
    """Experiments in the index, oldest first."""
    from .store import RunStore

    from .liveness import experiment_state

    records = RunStore().experiments()
    for record in records:
        record["status"] = experiment_state(record)
    if as_json:
        if console.is_terminal and len(records) <= RICH_ROWS:
            console.print_json(json.dumps(records))
        else:  # plain JSON: fast for any number of experiments, and what scripts want
            sys.stdout.write(json.dumps(records, indent=2, ensure_ascii=False) + "\n")
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
    experiment = store.read_experiment(record["id"])
    if experiment is None:
        raise XtuiError(f"experiment {record['id']} is in the index but its folder is gone; run `xtui runs reindex`")
    return store, experiment


@runs_app.command("show")
def runs_show(experiment: str = typer.Argument("latest", help="Experiment id, id prefix, name or 'latest'.")):
    """An experiment's stages and its results table."""
    from .results import experiment_rows, render_tables, stage_summary, summary_tables

    from .liveness import experiment_state

    store, record = _load_experiment(experiment)
    console.print(f"[bold]{record['id']}[/bold]  {experiment_state(record)}  model {record['model']}  "
                  f"target {record['target']}  languages {' '.join(record['languages'])}", highlight=False)
    summaries = [stage_summary(store, d) for d in record["stages"]]
    counts: dict = {}
    for s in summaries:
        counts[s["status"]] = counts.get(s["status"], 0) + 1
    console.print("stages: " + ", ".join(f"{v} {k}" for k, v in sorted(counts.items())), highlight=False)
    for s in summaries:
        if s["status"] in ("failed", "stopped", "running"):
            console.print(f"  {s['status']:<8} {s['hash'][:12]} {s['type']} {s.get('language') or ''} {s.get('detail') or ''}",
                          highlight=False, soft_wrap=True)
    render_tables(summary_tables(experiment_rows(store, record), record), console)


@runs_app.command("export")
def runs_export(
    experiment: str = typer.Argument("latest", help="Experiment id, id prefix, name or 'latest'."),
    fmt: str = typer.Option("csv", "--format", "-f", help="json (tidy rows), csv (tidy rows) or md (tables)."),
    output: Optional[Path] = typer.Option(None, "--output", "-o", help="Write to this file instead of stdout."),
):
    """Export an experiment's results as tidy rows (json, csv) or tables (md)."""
    from .results import experiment_rows, export, summary_tables

    if fmt not in ("json", "csv", "md"):
        raise XtuiError(f"--format {fmt!r}: valid formats are json, csv, md")
    store, record = _load_experiment(experiment)
    rows = experiment_rows(store, record)
    text = export(rows, summary_tables(rows, record), fmt)
    if output:
        from .files import atomic_write_text

        atomic_write_text(output, text)
        err.print(f"wrote {len(rows)} rows to {output}", highlight=False)
    else:
        sys.stdout.write(text)


@runs_app.command("reindex")
def runs_reindex():
    """Rebuild the index from the run directories (they are the truth)."""
    from .store import RunStore

    store = RunStore()
    experiments, stages = store.reindex()
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
            runs_list(as_json=len(argv) == 3)
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
