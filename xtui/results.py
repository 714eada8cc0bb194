"""Results as tidy rows, and every table a view of them."""

from __future__ import annotations

import csv
import io
import json
import statistics
from collections import defaultdict
from typing import Optional

ROW_FIELDS = ("experiment", "stage", "stage_type", "intermediate", "task", "language", "shots", "shot_set",
              "seed", "split", "metric", "value")


def stage_summary(store, digest: str) -> dict:
    """What the index keeps of a stage: identity, status and its headline, never curves."""
    from .files import read_json

    folder = store.stage_dir(digest)
    stage = read_json(folder / "stage.json") or {}
    result = store.stage_result(digest)
    labels = stage.get("labels", {})
    summary = {"hash": digest, "type": stage.get("type"), "task": stage.get("task"), "language": stage.get("language"),
               "intermediate": labels.get("intermediate"), "shots": labels.get("shots"), "shot_set": labels.get("shot_set"),
               "seed": labels.get("seed")}
    from .liveness import stage_state

    summary["status"], summary["detail"] = ("done", "") if result else stage_state(folder)
    if result:
        metric = result.get("metric")
        scores = result.get("metrics") or result.get("validation") or {}
        summary.update(metric=metric, value=scores.get(metric), seconds=result.get("seconds"))
    return summary


def experiment_rows(store, experiment: dict) -> list:
    """Tidy rows of every finished stage of an experiment."""
    rows = []
    for digest in experiment.get("stages", []):
        result = store.stage_result(digest)
        if not result:
            continue
        labels = result.get("labels", {})
        base = {"experiment": experiment["id"], "stage": digest[:12], "stage_type": result["type"],
                "intermediate": labels.get("intermediate"), "task": result["task"], "seed": result.get("seed")}
        if result.get("metrics"):
            for metric, value in result["metrics"].items():
                rows.append({**base, "language": result["language"], "shots": labels.get("shots", 0),
                             "shot_set": labels.get("shot_set"), "split": result["evaluation"]["split"],
                             "metric": metric, "value": value})
        for metric, value in (result.get("validation") or {}).items():
            rows.append({**base, "language": result["language"], "shots": None, "shot_set": None,
                         "split": "validation", "metric": metric, "value": value})
    return rows


def _mean_std(values: list) -> tuple:
    if not values:
        return None, None
    mean = statistics.fmean(values)
    return mean, (statistics.stdev(values) if len(values) > 1 else 0.0)


def summary_tables(rows: list, experiment: dict) -> list:
    """Per target task and K: rows = intermediate tasks, columns = languages + average.

    Each cell is mean and std over shot sets and seeds; the average column averages the
    target languages (not the training language) per (seed, shot set) first.
    """
    test_rows = [r for r in rows if r["split"] != "validation" and r["stage_type"] in ("evaluate", "fewshot")]
    tables = []
    headline_metric = experiment.get("metric")
    for task in sorted({r["task"] for r in test_rows}):
        task_rows = [r for r in test_rows if r["task"] == task]
        metric = headline_metric if headline_metric and any(r["metric"] == headline_metric for r in task_rows) else task_rows[0]["metric"]
        task_rows = [r for r in task_rows if r["metric"] == metric]
        languages_order = [l for l in dict.fromkeys(["en"] + list(experiment.get("languages") or []))
                           if any(r["language"] == l for r in task_rows)]
        target_languages = [l for l in (experiment.get("languages") or []) if l != "en"]
        intermediates = list(dict.fromkeys(experiment.get("intermediate") or [r["intermediate"] for r in task_rows]))
        for shots in sorted({r["shots"] for r in task_rows}):
            cells: dict = {}
            for intermediate in intermediates:
                selected = [r for r in task_rows if r["shots"] == shots and r["intermediate"] == intermediate]
                per_language = defaultdict(list)
                per_draw = defaultdict(dict)
                for r in selected:
                    per_language[r["language"]].append(r["value"])
                    per_draw[(r["seed"], r["shot_set"])][r["language"]] = r["value"]
                row = {language: _mean_std(per_language[language]) for language in languages_order}
                averages = [statistics.fmean(v[l] for l in target_languages) for v in per_draw.values()
                            if target_languages and all(l in v for l in target_languages)]
                row["avg"] = _mean_std(averages)
                cells[intermediate] = row
            tables.append({"task": task, "metric": metric, "shots": shots, "languages": languages_order,
                           "intermediates": intermediates, "cells": cells})
    return tables


def _format_cell(cell: tuple, baseline: Optional[tuple], show_delta: bool) -> str:
    mean, std = cell if cell else (None, None)
    if mean is None:
        return "-"
    text = f"{100 * mean:.1f}"
    if std:
        text += f" ± {100 * std:.1f}"
    if show_delta and baseline and baseline[0] is not None:
        text += f" ({100 * (mean - baseline[0]):+.1f})"
    return text


def table_lines(table: dict) -> tuple:
    """(title, header, rows of strings) of one summary table; columns with no value are left out."""
    columns = [c for c in table["languages"] + ["avg"]
               if any((row.get(c) or (None,))[0] is not None for row in table["cells"].values())]
    none = table["cells"].get("none")
    body = []
    for intermediate in table["intermediates"]:
        row = table["cells"][intermediate]
        body.append([intermediate] + [_format_cell(row.get(c), none.get(c) if none else None, intermediate != "none") for c in columns])
    title = f"{table['task']} · {table['metric']} (%) · K={table['shots']}" + (" (zero-shot)" if table["shots"] == 0 else "")
    return title, ["intermediate"] + columns, body


def render_tables(tables: list, console) -> None:
    from rich.table import Table

    for table in tables:
        title, header, body = table_lines(table)
        # title and caption as lines of their own: inside the table they wrap to its width (one language: narrow)
        rich_table = Table()
        for index, name in enumerate(header):
            rich_table.add_column(name, justify="left" if index == 0 else "right")
        for row in body:
            rich_table.add_row(*row)
        console.print(title, style="italic", highlight=False)
        console.print(rich_table)
        console.print("mean ± std over shot sets and seeds; (Δ vs none); avg over target languages", style="dim",
                      highlight=False)


def export(rows: list, tables: list, fmt: str) -> str:
    if fmt == "json":
        return json.dumps(rows, indent=1, ensure_ascii=False) + "\n"
    if fmt == "csv":
        buffer = io.StringIO()
        writer = csv.DictWriter(buffer, fieldnames=ROW_FIELDS, extrasaction="ignore", lineterminator="\n")
        writer.writeheader()
        writer.writerows(rows)
        return buffer.getvalue()
    if fmt == "md":
        out = []
        for table in tables:
            title, header, body = table_lines(table)
            out.append(f"### {title}\n")
            out.append("| " + " | ".join(header) + " |")
            out.append("|" + "|".join(["---"] + ["---:"] * (len(header) - 1)) + "|")
            out.extend("| " + " | ".join(row) + " |" for row in body)
            out.append("")
        return "\n".join(out) + "\n"
    raise ValueError(fmt)


def headline(tables: list) -> Optional[dict]:
    """The largest K's best average, for the history list."""
    candidates = [t for t in tables if any(c.get("avg", (None,))[0] is not None for c in t["cells"].values())]
    if not candidates:
        return None
    table = max(candidates, key=lambda t: t["shots"])
    best_name, best = max(((n, c["avg"][0]) for n, c in table["cells"].items() if c["avg"][0] is not None), key=lambda x: x[1])
    return {"task": table["task"], "metric": table["metric"], "shots": table["shots"], "intermediate": best_name, "value": best}
