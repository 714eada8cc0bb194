"""Results as tidy rows, and every table a view of them."""

from __future__ import annotations

import csv
import io
import json
import re
import statistics
from collections import defaultdict
from typing import Optional

from .selection import LEGEND, NOT_ZERO_SHOT, TARGET_DEV, selection_label, uses_target_dev
from .spec import NONE
from .stage import StageType, result_grid

ROW_FIELDS = ("experiment", "stage", "stage_type", "intermediate", "task", "language", "shots", "shot_set",
              "seed", "split", "metric", "value", "selection", "zero_shot")
"""``selection``: how each training phase of the result's chain chose its weights (``target=en-dev``;
empty for results recorded before it was); ``zero_shot``: K = 0 and no phase selected on
target-language dev data (``select = "target-dev"``); empty for a training stage's validation rows."""


def stage_summary(store, digest: str) -> dict:
    """What the index keeps of a stage: identity, status and its headline, never curves."""
    from .stage import find_stage

    folder = store.stage_dir(digest)
    stage = find_stage(folder)
    result = store.stage_result(digest)
    grid = stage.grid.to_json() if stage else {}
    summary = {"hash": digest, "type": stage.type.value if stage else None, "task": stage.task if stage else None,
               "language": stage.language if stage else None, "intermediate": grid.get("intermediate"),
               "shots": grid.get("shots"), "shot_set": grid.get("shot_set"), "seed": grid.get("seed")}
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
        grid = result_grid(result)
        base = {"experiment": experiment["id"], "stage": digest[:12], "stage_type": result["type"],
                "intermediate": grid.get("intermediate"), "task": result["task"], "seed": result.get("seed")}
        if result.get("metrics"):
            selection = result.get("model_selection")
            chosen = {"selection": selection_label(selection),
                      "zero_shot": not grid.get("shots") and not uses_target_dev(selection)}
            for metric, value in result["metrics"].items():
                rows.append({**base, "language": result["language"], "shots": grid.get("shots") or 0,
                             "shot_set": grid.get("shot_set"), "split": result["evaluation"]["split"],
                             "metric": metric, "value": value, **chosen})
        own = {result["type"]: result["selection"]} if isinstance(result.get("selection"), dict) else None
        for metric, value in (result.get("validation") or {}).items():
            rows.append({**base, "language": result["language"], "shots": None, "shot_set": None,
                         "split": "validation", "metric": metric, "value": value, "selection": selection_label(own),
                         "zero_shot": None})
    return rows


def not_zero_shot(row: dict) -> bool:
    """Whether a result row's model was selected on target-language dev data (marked in tables)."""
    return TARGET_DEV in (row.get("selection") or "")


def _mean_std(values: list) -> tuple:
    if not values:
        return None, None
    mean = statistics.fmean(values)
    return mean, (statistics.stdev(values) if len(values) > 1 else 0.0)


METRIC_NAMES = {"exact_match": "EM", "f1": "F1"}
"""How tables name a metric; others by their own name (XTREME reports QA as "EM / F1")."""


def target_info(rows: list, experiment: dict) -> dict:
    """task -> {"metric", "shown", "languages"} for every target with test results: what the
    experiment recorded when it started (each target task's own headline metric, the metrics its
    table shows, its own target languages). Experiments recorded before that was kept fall back to
    the experiment's first metric where a task has it and the experiment's languages."""
    recorded = experiment.get("targets_info") or {}
    info = {}
    for task in dict.fromkeys(r["task"] for r in rows):
        if task in recorded:
            info[task] = recorded[task]
            continue
        metrics = [r["metric"] for r in rows if r["task"] == task]
        metric = experiment.get("metric") if experiment.get("metric") in metrics else metrics[0]
        info[task] = {"metric": metric, "shown": [metric], "languages": list(experiment.get("languages") or [])}
    return info


def _draw_key(row: dict) -> tuple:
    return row["seed"], row["shot_set"]


def summary_tables(rows: list, experiment: dict, holm: bool = False) -> list:
    """Per target task and K: rows = intermediate tasks, columns = that target's languages + avg,
    each with the task's own headline metric; then, with several targets, one overall table per K
    whose columns are each target's avg and their mean (the XTREME-style score).

    Each cell is mean and std over shot sets and seeds; the average column averages the task's
    target languages (not the training language) per (seed, shot set) first. ``deltas`` holds each
    cell's paired Δ against ``none`` with its interval and p-value (``holm``: Holm-adjusted too).
    """
    test_rows = [r for r in rows if r["split"] != "validation" and StageType(r["stage_type"]).evaluates]
    info = target_info(test_rows, experiment)
    order = list(dict.fromkeys([t for t in experiment.get("targets") or [] if t in info] + sorted(info)))
    intermediates = list(dict.fromkeys(experiment.get("intermediate") or [r["intermediate"] for r in test_rows]))
    tables = []
    draws: dict = {}  # (task, K) -> {intermediate: {draw: avg}}
    flagged: dict = {}  # (task, K) -> {intermediate: whether its avg is not zero-shot}
    for task in order:
        metric, shown = info[task]["metric"], list(info[task].get("shown") or [info[task]["metric"]])
        overall = info[task].get("overall_metric") or metric
        task_rows = [r for r in test_rows if r["task"] == task]
        listed = [l for l in info[task].get("languages") or [] if any(r["language"] == l for r in task_rows)]
        languages = [l for l in dict.fromkeys(["en"] + listed) if any(r["language"] == l for r in task_rows)]
        target_languages = [l for l in listed if l != "en"]
        for shots in sorted({r["shots"] for r in task_rows}):
            cells, shown_cells, values, marks = {}, {}, {}, {}
            for intermediate in intermediates:
                selected = [r for r in task_rows if r["shots"] == shots and r["intermediate"] == intermediate]
                per_language = defaultdict(lambda: defaultdict(list))
                per_draw = defaultdict(lambda: defaultdict(dict))
                for r in selected:
                    if r["metric"] in shown or r["metric"] in (metric, overall):
                        per_language[r["metric"]][r["language"]].append(r["value"])
                        per_draw[r["metric"]][_draw_key(r)][r["language"]] = r["value"]
                averaged = {"avg": target_languages}
                if shots == 0 and "en" in languages and target_languages:
                    averaged[WITH_ENGLISH] = ["en"] + target_languages  # as XTREME's evaluate.py averages
                averages = {column: {m: _average(per_draw[m], over) for m in per_draw} for column, over in averaged.items()}
                row = {language: _mean_std(per_language[metric][language]) for language in languages}
                for column in averaged:
                    row[column] = _mean_std(list(averages[column].get(metric, {}).values()))
                cells[intermediate] = row
                shown_cells[intermediate] = {
                    column: {m: _mean_std(list(averages[column].get(m, {}).values()) if column in averaged
                                          else per_language[m][column])[0] for m in shown}
                    for column in languages + list(averaged)}
                draws.setdefault((task, shots), {})[intermediate] = averages["avg"].get(overall, {})
                values[intermediate] = {language: {d: v[language] for d, v in per_draw[metric].items() if language in v}
                                        for language in languages}
                values[intermediate].update({column: averages[column].get(metric, {}) for column in averaged})
                marked = _marked_columns(selected, languages, averaged)
                if marked:
                    marks[intermediate] = marked
                flagged.setdefault((task, shots), {})[intermediate] = "avg" in marked
            tables.append({"task": task, "metric": metric, "shown": shown, "shots": shots, "languages": languages,
                           "columns": languages, "target_languages": target_languages, "intermediates": intermediates,
                           "cells": cells, "shown_cells": shown_cells, "scorer": info[task].get("scorer"),
                           "deltas": _deltas(values, (task, shots), holm), "spread": _spread(values),
                           **({"not_zero_shot": marks} if marks else {})})
    if len(order) > 1:
        tables.extend(_overall_tables(order, info, intermediates, draws, holm, flagged))
    return tables


def _marked_columns(rows: list, languages: list, averaged: dict) -> list:
    """The columns of one intermediate task's table row whose results are not zero-shot (selected on
    target-language dev data): those languages, and each average over one of them."""
    flagged = {r["language"] for r in rows if not_zero_shot(r)}
    return [l for l in languages if l in flagged] + [column for column, over in averaged.items() if flagged & set(over)]


WITH_ENGLISH = "avg+en"
"""At K=0, when English is evaluated: the average with English too, as XTREME's evaluate.py (and
published tables) average a task's languages. ``avg`` leaves the training language out at every K,
so K=0 and K>0 compare the same languages."""


def _average(per_draw: dict, languages: list) -> dict:
    """draw -> mean over ``languages`` of the draws that have every one of them."""
    return {draw: statistics.fmean(v[l] for l in languages) for draw, v in per_draw.items()
            if languages and all(l in v for l in languages)}


def _deltas(values: dict, key: tuple, holm: bool) -> dict:
    """intermediate -> column -> paired Δ against ``none`` (see xtui.stats.paired_delta); with
    ``holm``, each Δ also gets ``p_holm``, adjusted over the table's cells."""
    from .stats import holm as holm_adjust, paired_delta

    base = values.get(NONE)
    if base is None:
        return {}
    deltas = {intermediate: {column: paired_delta(base.get(column) or {}, draws, (*key, intermediate, column))
                             for column, draws in columns.items()}
              for intermediate, columns in values.items() if intermediate != NONE}
    if holm:
        cells = [d for row in deltas.values() for d in row.values() if d is not None]
        for delta, adjusted in zip(cells, holm_adjust([d["p"] for d in cells])):
            delta["p_holm"] = adjusted
    return deltas


def _spread(values: dict) -> dict:
    """intermediate -> column -> seed and shot-set std apart, where both vary (xtui.stats.variance_parts)."""
    from .stats import variance_parts

    return {intermediate: {column: parts for column, draws in columns.items()
                           if (parts := variance_parts(draws)) is not None}
            for intermediate, columns in values.items()}


def _overall_tables(targets: list, info: dict, intermediates: list, draws: dict, holm: bool = False,
                    flagged: Optional[dict] = None) -> list:
    """Per K: each target's avg and their mean, per intermediate task. The mean is taken per draw
    (seed, shot set index) over the targets that have that K, as the language avg is. ``flagged``:
    (task, K) -> intermediate -> whether that avg is not zero-shot (so is the mean over it)."""
    tables = []
    for shots in sorted({k for _, k in draws}):
        present = [t for t in targets if (t, shots) in draws and any(draws[t, shots].values())]
        if len(present) < 2:
            continue
        cells, values, marks = {}, {}, {}
        for intermediate in intermediates:
            marked = [t for t in present if (flagged or {}).get((t, shots), {}).get(intermediate)]
            if marked:
                marks[intermediate] = marked + ["avg"]
            per_target = {t: draws[t, shots].get(intermediate, {}) for t in present}
            common = set.intersection(*(set(d) for d in per_target.values()))
            values[intermediate] = {**per_target, "avg": {d: statistics.fmean(per_target[t][d] for t in present)
                                                          for d in sorted(common, key=str)}}
            cells[intermediate] = {column: _mean_std(list(v.values())) for column, v in values[intermediate].items()}
        tables.append({"task": "overall", "overall": True, "metric": "avg", "shown": ["avg"], "shots": shots,
                       "columns": present, "metrics": {t: info[t].get("overall_metric") or info[t]["metric"] for t in present},
                       "missing": [t for t in targets if t not in present], "intermediates": intermediates,
                       "cells": cells, "shown_cells": {}, "deltas": _deltas(values, ("overall", shots), holm),
                       "spread": _spread(values), **({"not_zero_shot": marks} if marks else {})})
    return tables


def metric_title(table: dict) -> str:
    """``accuracy``, ``F1``, ``EM / F1``: what a table's cells show."""
    return " / ".join(METRIC_NAMES.get(m, m) if len(table["shown"]) > 1 else m for m in table["shown"])


SIGNIFICANT = "*"
"""Marks a Δ whose 95 % paired interval excludes 0 (with Holm: whose adjusted p is below 0.05)."""


def significant(delta: Optional[dict]) -> bool:
    """Whether a cell's Δ is told apart from 0: its interval excludes 0; when the table was
    built with Holm's correction, its adjusted p-value is below 0.05 as well."""
    if not delta or not delta.get("excludes_zero"):
        return False
    return "p_holm" not in delta or (delta["p_holm"] is not None and delta["p_holm"] < 0.05)


def cell_delta(table: dict, intermediate: str, column: str) -> Optional[float]:
    """The Δ a table shows for a cell: the paired mean difference, else the difference of means."""
    delta = (table.get("deltas", {}).get(intermediate) or {}).get(column)
    if delta is not None:
        return delta["mean"]
    mean = (table["cells"][intermediate].get(column) or (None,))[0]
    base = (table["cells"].get(NONE, {}).get(column) or (None,))[0]
    return None if mean is None or base is None else mean - base


def marked(table: dict, intermediate: str, column: str) -> bool:
    """Whether a cell is not zero-shot (its model selected on target-language dev data)."""
    return column in (table.get("not_zero_shot") or {}).get(intermediate, ())


def table_legend(table: dict) -> Optional[str]:
    """The line under a table that has cells marked not zero-shot, saying what the mark means."""
    return LEGEND if table.get("not_zero_shot") else None


def _format_cell(table: dict, intermediate: str, column: str) -> str:
    mean, std = table["cells"][intermediate].get(column) or (None, None)
    if mean is None:
        return "-"
    order = tuple(table["shown"])
    shown = table.get("shown_cells", {}).get(intermediate, {}).get(column)
    if shown and len(order) > 1:
        text = " / ".join("-" if shown.get(m) is None else f"{100 * shown[m]:.1f}" for m in order)
    else:
        text = f"{100 * mean:.1f}"
    if std:
        text += f" ± {100 * std:.1f}"
    delta = cell_delta(table, intermediate, column) if intermediate != NONE else None
    if delta is not None:
        mark = SIGNIFICANT if significant((table.get("deltas", {}).get(intermediate) or {}).get(column)) else ""
        text += f" ({100 * delta:+.1f}{mark})"
    if marked(table, intermediate, column):
        text += f" {NOT_ZERO_SHOT}"
    return text


def table_columns(table: dict) -> list:
    """The columns of a table that have a value for some intermediate task (``avg``, ``avg+en`` last)."""
    return [c for c in table["columns"] + ["avg", WITH_ENGLISH]
            if any((row.get(c) or (None,))[0] is not None for row in table["cells"].values())]


def shots_title(table: dict) -> str:
    """``K=0 (zero-shot)``; ``K=0 (not zero-shot †)`` when cells were selected on target-language dev data."""
    if table["shots"] != 0:
        return f"K={table['shots']}"
    return "K=0 " + (f"(not zero-shot {NOT_ZERO_SHOT})" if table.get("not_zero_shot") else "(zero-shot)")


def table_title(table: dict) -> str:
    k = shots_title(table)
    if table.get("overall"):
        return f"overall · mean of the targets' avg (%) · {k}"
    return f"{table['task']} · {metric_title(table)} (%) · {k}"


def table_caption(table: dict) -> str:
    paired = [d for row in table.get("deltas", {}).values() for d in row.values() if d and d["n"] > 1]
    holm = " (Holm-adjusted p < 0.05 too)" if any("p_holm" in d for d in paired) else ""
    delta = (f"(Δ vs none, paired; {SIGNIFICANT} where its 95 % interval over shot sets and seeds excludes 0{holm})"
             if paired else "(Δ vs none)")
    if table.get("overall"):
        used = ", ".join(f"{t} {'(EM + F1) / 2' if table['metrics'][t] == 'em_f1_mean' else table['metrics'][t]}"
                         for t in table["columns"])
        missing = f"; not at this K: {', '.join(table['missing'])}" if table["missing"] else ""
        return f"each target's avg over its languages ({used}){missing}; {delta}"
    headline = f"; ± and Δ of {METRIC_NAMES.get(table['metric'], table['metric'])}" if len(table["shown"]) > 1 else ""
    if WITH_ENGLISH in table_columns(table):
        headline += f"; {WITH_ENGLISH}: with English, as XTREME averages"
    scorer = f"; scorer {table['scorer']}" if table.get("scorer") else ""
    return f"mean ± std over shot sets and seeds; {delta}; avg over target languages{headline}{scorer}"


def table_lines(table: dict) -> tuple:
    """(title, header, rows of strings) of one summary table; columns with no value are left out."""
    columns = table_columns(table)
    body = [[intermediate] + [_format_cell(table, intermediate, c) for c in columns] for intermediate in table["intermediates"]]
    return table_title(table), ["intermediate"] + columns, body


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
        console.print(table_caption(table), style="dim", highlight=False)
        if table_legend(table):
            console.print(table_legend(table), highlight=False)


DELTA_FIELDS = ("experiment", "task", "shots", "intermediate", "column", "metric", "mean", "low", "high", "p", "p_holm",
                "n", "significant")


def delta_rows(tables: list, experiment_id: str = "") -> list:
    """One row per Δ cell of the tables: the paired mean difference against ``none``, its 95 %
    interval, the paired t-test's p (and Holm's, when the tables were built with it), the number of
    pairs and whether it is marked. ``column`` is a language, ``avg``, or (overall) a target task."""
    out = []
    for table in tables:
        for intermediate, columns in table.get("deltas", {}).items():
            for column in table_columns(table):
                delta = columns.get(column)
                if delta is None:
                    continue
                out.append({"experiment": experiment_id, "task": table["task"], "shots": table["shots"],
                            "intermediate": intermediate, "column": column,
                            "metric": table["metrics"].get(column, "avg") if table.get("overall") else table["metric"],
                            "mean": delta["mean"], "low": delta["low"], "high": delta["high"], "p": delta["p"],
                            "p_holm": delta.get("p_holm"), "n": delta["n"], "significant": significant(delta)})
    return out


def export(rows: list, tables: list, fmt: str, table: str = "rows", experiment_id: str = "") -> str:
    """``rows`` (tidy results) or ``deltas`` (xtui.results.delta_rows) as json or csv; md: the tables."""
    if fmt in ("json", "csv") and table == "deltas":
        rows, fields = delta_rows(tables, experiment_id), DELTA_FIELDS
    else:
        fields = ROW_FIELDS
    if fmt == "json":
        return json.dumps(rows, indent=1, ensure_ascii=False) + "\n"
    if fmt == "csv":
        buffer = io.StringIO()
        writer = csv.DictWriter(buffer, fieldnames=fields, extrasaction="ignore", lineterminator="\n")
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
            out.append(f"_{table_caption(table)}_")
            if table_legend(table):
                out.append("")
                out.append(table_legend(table))
            out.append("")
        return "\n".join(out) + "\n"
    raise ValueError(fmt)


def _latex_escape(text: str) -> str:
    for char, escaped in (("\\", r"\textbackslash{}"), ("&", r"\&"), ("%", r"\%"), ("$", r"\$"), ("#", r"\#"),
                          ("_", r"\_"), ("{", r"\{"), ("}", r"\}"), ("~", r"\textasciitilde{}"), ("^", r"\^{}")):
        text = text.replace(char, escaped)
    return text


def _latex_cell(table: dict, intermediate: str, column: str, best: bool) -> str:
    mean, std = table["cells"][intermediate].get(column) or (None, None)
    if mean is None:
        return "--"
    order = tuple(table["shown"])
    shown = table.get("shown_cells", {}).get(intermediate, {}).get(column)
    if shown and len(order) > 1:
        parts = ["--" if shown.get(m) is None else f"{100 * shown[m]:.1f}" for m in order]
        parts[order.index(table["metric"])] = r"\textbf{" + parts[order.index(table["metric"])] + "}" if best else \
            parts[order.index(table["metric"])]
        text = " / ".join(parts)
    else:
        text = (r"\textbf{%.1f}" if best else "%.1f") % (100 * mean)
    if std:
        text += r"{\scriptsize$\pm$%.1f}" % (100 * std)
    delta = cell_delta(table, intermediate, column) if intermediate != NONE else None
    if delta is not None:
        mark = r"$^{*}$" if significant((table.get("deltas", {}).get(intermediate) or {}).get(column)) else ""
        text += r" {\scriptsize(%+.1f%s)}" % (100 * delta, mark)
    if marked(table, intermediate, column):
        text += r"$^{\dagger}$"
    return text


def latex(tables: list, experiment_id: str = "") -> str:
    """Each table as a booktabs LaTeX table: the headline metric and K in the caption, the best mean of
    each column in bold, Δ vs none in small type, marked $^*$ where its paired interval excludes 0."""
    out = [f"% xtui results of {experiment_id}; needs \\usepackage{{booktabs}}", ""]
    for table in tables:
        columns = table_columns(table)
        best = {}
        for column in columns:
            means = {i: (table["cells"][i].get(column) or (None,))[0] for i in table["intermediates"]}
            present = [v for v in means.values() if v is not None]
            best[column] = {i for i, v in means.items() if present and v == max(present)}
        k = shots_title(table).replace(NOT_ZERO_SHOT, r"$^{\dagger}$")
        what = "mean of the targets' avg" if table.get("overall") else metric_title(table)
        legend = table_legend(table)
        caption = (f"{_latex_escape(table['task'])}: {_latex_escape(what)} (\\%), {k}. "
                   + _latex_escape(table_caption(table)).replace("Δ", r"$\Delta$").replace("±", r"$\pm$")
                   .replace(r"\_", r"\_").replace(" * ", r" $^{*}$ ") + "."
                   + (" " + _latex_escape(legend).replace(NOT_ZERO_SHOT, r"$^{\dagger}$") + "." if legend else ""))
        label = re.sub(r"[^A-Za-z0-9:-]+", "-", f"tab:{experiment_id}-{table['task']}-k{table['shots']}")
        out += [r"\begin{table}[t]", r"\centering", r"\small", r"\begin{tabular}{l" + "r" * len(columns) + "}",
                r"\toprule", " & ".join(["intermediate"] + [_latex_escape(c) for c in columns]) + r" \\", r"\midrule"]
        for intermediate in table["intermediates"]:
            cells = [_latex_cell(table, intermediate, c, intermediate in best[c]) for c in columns]
            out.append(" & ".join([_latex_escape(intermediate)] + cells) + r" \\")
        out += [r"\bottomrule", r"\end{tabular}", r"\caption{" + caption + "}", r"\label{" + label + "}",
                r"\end{table}", ""]
    return "\n".join(out)


def parquet(rows: list, path) -> None:
    """The tidy rows as a Parquet file (pyarrow, which ``datasets`` brings), for pandas / polars."""
    import pyarrow
    import pyarrow.parquet

    columns = {field: [row.get(field) for row in rows] for field in ROW_FIELDS}
    schema = pyarrow.schema([(f, pyarrow.float64() if f == "value" else pyarrow.int64() if f in ("shots", "shot_set", "seed")
                              else pyarrow.bool_() if f == "zero_shot" else pyarrow.string()) for f in ROW_FIELDS])
    pyarrow.parquet.write_table(pyarrow.table(columns, schema=schema), str(path))


def headline(tables: list) -> Optional[dict]:
    """The largest K's best average, for the history list (with several targets: the overall score)."""
    candidates = [t for t in tables if any(c.get("avg", (None,))[0] is not None for c in t["cells"].values())]
    candidates = [t for t in candidates if t.get("overall")] or candidates
    if not candidates:
        return None
    table = max(candidates, key=lambda t: t["shots"])
    best_name, best = max(((n, c["avg"][0]) for n, c in table["cells"].items() if c["avg"][0] is not None), key=lambda x: x[1])
    metric = "overall" if table.get("overall") else table["metric"]  # shown as "overall 61.7 (anli, K=4)"
    return {"task": table["task"], "metric": metric, "shots": table["shots"], "intermediate": best_name, "value": best}
