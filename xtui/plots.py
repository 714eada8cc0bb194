"""Figures for papers: `xtui runs plot EXP [--kind heatmap|fewshot|loss] [--out DIR]`.

Every figure is a view of the same tidy results the tables show (``xtui.results``), written as
PNG, SVG and PDF with matplotlib (the optional ``plot`` extra, imported only here). Sizes and
fonts fit a two-column paper: 3.3 in wide for one column, up to 6.9 in across both, 8 pt text.

* ``heatmap``: per target and K, intermediate tasks x languages (+ avg); each cell the mean and
  its Δ vs none, coloured by the Δ only where its 95 % paired interval excludes 0 (grey elsewhere;
  the same rule as the `*` of `runs show` and the app's heat map).
* ``fewshot``: per target, score against K, one panel per language and one for the average, a
  line per intermediate task with ± std over shot sets (and seeds) shaded.
* ``loss``: training loss against step of the experiment's training stages (or the ones given).
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Iterable, Optional

KINDS = ("heatmap", "fewshot", "loss")
FORMATS = ("png", "svg", "pdf")
ONE_COLUMN, TWO_COLUMNS = 3.3, 6.9


def _pyplot():
    try:
        import matplotlib
    except ImportError:
        from .errors import XtuiError

        raise XtuiError("figures need matplotlib: pip install 'xtui[plot]' (or pip install matplotlib)") from None
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    plt.rcParams.update({"font.size": 8, "axes.titlesize": 8, "axes.labelsize": 8, "xtick.labelsize": 7,
                         "ytick.labelsize": 7, "legend.fontsize": 7, "figure.dpi": 150, "savefig.dpi": 300,
                         "pdf.fonttype": 42, "ps.fonttype": 42, "svg.fonttype": "none", "axes.spines.top": False,
                         "axes.spines.right": False})
    return plt


def _name(*parts) -> str:
    return re.sub(r"[^A-Za-z0-9._-]+", "-", "-".join(str(p) for p in parts if p not in ("", None)))


def _save(plt, figure, folder: Path, stem: str) -> list:
    folder.mkdir(parents=True, exist_ok=True)
    paths = []
    for ext in FORMATS:
        path = folder / f"{stem}.{ext}"
        figure.savefig(path, bbox_inches="tight", metadata={"Creator": "xtui"} if ext != "png" else None)
        paths.append(path)
    plt.close(figure)
    return paths


def text_colour(rgb) -> str:
    """White on a dark cell, black on a light one (WCAG relative luminance of the cell's colour)."""
    def linear(channel: float) -> float:
        return channel / 12.92 if channel <= 0.04045 else ((channel + 0.055) / 1.055) ** 2.4

    red, green, blue = (linear(c) for c in rgb[:3])
    return "white" if 0.2126 * red + 0.7152 * green + 0.0722 * blue < 0.18 else "black"


def heatmap(plt, table: dict, folder: Path, experiment_id: str) -> list:
    from .results import cell_delta, significant, table_columns

    columns = table_columns(table)
    rows = list(table["intermediates"])
    deltas = [[cell_delta(table, r, c) if r != "none" else None for c in columns] for r in rows]
    scale = max([abs(d) for row in deltas for d in row if d is not None] or [0.01])
    width = min(TWO_COLUMNS, max(ONE_COLUMN, 0.62 * (len(columns) + 1.6)))
    figure, axes = plt.subplots(figsize=(width, 0.34 * len(rows) + 0.9))
    cmap = plt.get_cmap("RdBu")
    for i, intermediate in enumerate(rows):
        for j, column in enumerate(columns):
            mean = (table["cells"][intermediate].get(column) or (None,))[0]
            delta = deltas[i][j]
            marked = significant((table.get("deltas", {}).get(intermediate) or {}).get(column))
            colour = cmap(0.5 + 0.5 * delta / scale) if delta is not None and marked else (0.93, 0.93, 0.93)
            axes.add_patch(plt.Rectangle((j, i), 1, 1, facecolor=colour, edgecolor="white", linewidth=1))
            if mean is None:
                text = "–"
            elif delta is None:
                text = f"{100 * mean:.1f}"
            else:
                text = f"{100 * mean:.1f}\n({100 * delta:+.1f}{'*' if marked else ''})"
            axes.text(j + 0.5, i + 0.5, text, ha="center", va="center", fontsize=6.5, color=text_colour(colour))
    axes.set_xlim(0, len(columns))
    axes.set_ylim(len(rows), 0)
    axes.xaxis.tick_top()  # the note on colours goes underneath
    axes.set_xticks([j + 0.5 for j in range(len(columns))], columns)
    axes.set_yticks([i + 0.5 for i in range(len(rows))], rows)
    axes.tick_params(length=0)
    for side in ("left", "bottom"):
        axes.spines[side].set_visible(False)
    k = f"K={table['shots']}" + (" (zero-shot)" if table["shots"] == 0 else "")
    what = "mean of the targets' avg" if table.get("overall") else table["metric"]
    axes.set_title(f"{table['task']} · {what} (%) · {k}", loc="left", pad=16)
    mappable = plt.cm.ScalarMappable(cmap=cmap, norm=plt.Normalize(-100 * scale, 100 * scale))
    bar = figure.colorbar(mappable, ax=axes, fraction=0.04, pad=0.02)
    bar.set_label("Δ vs none (points)")
    axes.text(0.0, -0.04, "coloured only where the 95 % paired interval over shot sets and seeds excludes 0 (*)",
              fontsize=6, ha="left", va="top", transform=axes.transAxes)
    return _save(plt, figure, folder, _name(experiment_id, table["task"], "heatmap", f"K{table['shots']}"))


def curve_columns(own: list) -> list:
    """The panels of a target's few-shot figure: each column (language, avg) with a value at two K
    or more; English (the training language) and avg+en (K=0 only) have no curve."""
    from .results import table_columns

    columns = list(dict.fromkeys(c for t in own for c in table_columns(t) if c != "en"))
    return [c for c in columns if sum(1 for t in own if any((cells.get(c) or (None,))[0] is not None
                                                            for cells in t["cells"].values())) >= 2]


def fewshot(plt, tables: list, folder: Path, experiment_id: str) -> list:
    """One figure per target with more than one K."""
    paths = []
    for task in dict.fromkeys(t["task"] for t in tables):
        own = sorted((t for t in tables if t["task"] == task), key=lambda t: t["shots"])
        if len(own) < 2:
            continue
        columns = curve_columns(own)
        if not columns:
            continue
        panels = len(columns)
        per_row = min(panels, 4)
        lines = -(-panels // per_row)
        figure, grid = plt.subplots(lines, per_row, figsize=(min(TWO_COLUMNS, 1.75 * per_row), 1.45 * lines + 0.4),
                                    squeeze=False, sharex=True)
        intermediates = own[0]["intermediates"]
        for index, column in enumerate(columns):
            axes = grid[index // per_row][index % per_row]
            for position, intermediate in enumerate(intermediates):
                points = [(t["shots"], *(t["cells"][intermediate].get(column) or (None, None))) for t in own]
                points = [(k, 100 * m, 100 * (s or 0.0)) for k, m, s in points if m is not None]
                if not points:
                    continue
                ks, means, stds = zip(*points)
                line, = axes.plot(ks, means, marker="os^vDP*X"[position % 8], markersize=3, linewidth=1,
                                  label=intermediate)
                axes.fill_between(ks, [m - s for m, s in zip(means, stds)], [m + s for m, s in zip(means, stds)],
                                  color=line.get_color(), alpha=0.18, linewidth=0)
            axes.set_title(column, loc="left")
            axes.ticklabel_format(axis="y", useOffset=False)  # 78.24 is 78.24, not 0.008 + 7.824e1
            axes.set_xticks(sorted({t["shots"] for t in own}))
        for index in range(panels, lines * per_row):
            grid[index // per_row][index % per_row].set_visible(False)
        for axes in grid[-1]:
            axes.set_xlabel("K (shots)")
        grid[0][0].set_ylabel(f"{own[0]['metric']} (%)")
        handles, labels = grid[0][0].get_legend_handles_labels()
        figure.suptitle(f"{task}: {own[0]['metric']} vs K, ± std over shot sets", fontsize=8)
        figure.tight_layout()
        figure.legend(handles, labels, loc="upper center", ncol=min(len(labels), 5), frameon=False,
                      bbox_to_anchor=(0.5, 0.0))
        paths += _save(plt, figure, folder, _name(experiment_id, task, "fewshot"))
    return paths


def loss(plt, curves: dict, folder: Path, experiment_id: str) -> list:
    """``curves``: label -> [(step, loss)]."""
    figure, axes = plt.subplots(figsize=(ONE_COLUMN, 2.2))
    for label, points in curves.items():
        if points:
            steps, values = zip(*points)
            axes.plot(steps, values, linewidth=1, label=label)
    axes.set_xlabel("step")
    axes.set_ylabel("training loss")
    axes.set_title(f"{experiment_id}: training loss", loc="left")
    if curves:
        axes.legend(frameon=False, fontsize=6)
    return _save(plt, figure, folder, _name(experiment_id, "loss"))


def loss_curves(store, record: dict, stages: Optional[Iterable[str]] = None) -> dict:
    """label -> [(step, loss)] of the experiment's training stages (or of the hash prefixes given)."""
    from .files import EventTail
    from .stage import find_stage

    chosen = list(stages or [])
    curves = {}
    for digest in record.get("stages", []):
        if chosen and not any(digest.startswith(prefix) for prefix in chosen):
            continue
        folder = store.stage_dir(digest)
        stage = find_stage(folder)
        if stage is None or (not chosen and stage.type.evaluates):
            continue
        points = [(e["step"], e["loss"]) for e in EventTail(folder / "events.jsonl").read()
                  if e.get("event") == "step" and isinstance(e.get("loss"), (int, float))]
        if points:
            curves[f"{digest[:8]} {stage.describe()}"] = points
    return curves


def plot(store, record: dict, kinds: Iterable[str], folder: Path, stages: Optional[list] = None) -> list:
    """Every figure of ``kinds`` for one experiment, into ``folder``; the paths written."""
    from .results import experiment_rows, summary_tables

    plt = _pyplot()
    tables = summary_tables(experiment_rows(store, record), record)
    paths = []
    if "heatmap" in kinds:
        for table in tables:
            paths += heatmap(plt, table, folder, record["id"])
    if "fewshot" in kinds:
        paths += fewshot(plt, [t for t in tables if not t.get("overall")], folder, record["id"])
    if "loss" in kinds:
        paths += loss(plt, loss_curves(store, record, stages), folder, record["id"])
    return paths
