"""Score against K, one line per language (and the average), for one intermediate task.

Each point is the mean over shot sets (and seeds) with a bar of ± one standard deviation:
few-shot results vary more between shot sets than between methods (Zhao et al. 2021), so a
curve without its spread invites reading noise as an effect. For the same reason the y axis
spans at least MIN_SPAN points: scores 0.02 points apart are not drawn as the full height.
"""

from __future__ import annotations

from textual_plotext import PlotextPlot

MARKERS = ("●", "x", "+", "*", "o", "#", "@", "%", "&", "$")
COLORS = ("cyan", "green", "magenta", "yellow", "blue", "red", "orange", "white")
MIN_SPAN = 10.0
"""The least the y axis spans, in score points (%)."""


def curve_series(tables: list, task: str, intermediate: str) -> dict:
    """column -> [(K, mean %, std %)] over the tables of one task (std over shot sets and seeds)."""
    series: dict = {}
    for table in sorted((t for t in tables if t["task"] == task), key=lambda t: t["shots"]):
        row = table["cells"].get(intermediate) or {}
        for column in table["columns"] + ["avg"]:
            mean, std = (row.get(column) or (None, None))[:2]
            if mean is not None:
                series.setdefault(column, []).append((table["shots"], 100 * mean, 100 * (std or 0.0)))
    return series


def y_range(series: dict) -> tuple:
    """(low, high) of the y axis: every point with its bar, a little margin, at least MIN_SPAN, within 0-100."""
    lows = [mean - std for points in series.values() for _, mean, std in points]
    highs = [mean + std for points in series.values() for _, mean, std in points]
    if not lows:
        return 0.0, 100.0
    low, high = min(lows), max(highs)
    margin = 0.05 * (high - low)
    low, high = low - margin, high + margin
    if high - low < MIN_SPAN:
        middle = (low + high) / 2
        low, high = middle - MIN_SPAN / 2, middle + MIN_SPAN / 2
    if low < 0.0:  # shifted, not cut: the span stays
        low, high = 0.0, high - low
    if high > 100.0:
        low, high = low - (high - 100.0), 100.0
    return max(0.0, low), min(100.0, high)


class FewshotCurve(PlotextPlot):
    _shown: tuple = ()

    def on_resize(self) -> None:
        # where the legend goes and how far apart the bars are depend on the width
        if self._shown:
            self.show(*self._shown)

    def show(self, tables: list, task, intermediate, metric: str = "") -> None:
        self._shown = (tables, task, intermediate, metric)
        plt = self.plt
        plt.clear_data()
        plt.clear_figure()
        if not tables or task is None or intermediate is None:
            plt.title("few-shot curve: no results yet")
            self.refresh()
            return
        series = curve_series(tables, task, intermediate)
        shots = sorted({t["shots"] for t in tables if t["task"] == task})
        # short enough for a narrow plot (plotext drops a title that does not fit); the task is in the tab's title
        plt.title(f"{metric} (%) vs K · intermediate {intermediate}")
        keys = "  ".join(f"{MARKERS[i % len(MARKERS)]} {column}" for i, column in enumerate(series))
        # the legend under the plot when it fits there: drawn inside, it hides the points in its corner
        below = len(keys) + 24 <= self.size.width
        plt.xlabel(f"K (shots), bars ± std   {keys}" if below else "K (shots), bars ± std")
        span = (shots[-1] - shots[0]) if len(shots) > 1 else 1.0
        # each language a character's width apart, so that bars at the same K do not cover each other
        step = span / max(20, self.size.width - 10)
        for index, (column, points) in enumerate(series.items()):
            shift = (index - (len(series) - 1) / 2) * step
            xs, ys, stds = [p[0] + shift for p in points], [p[1] for p in points], [p[2] for p in points]
            color = COLORS[index % len(COLORS)]
            if any(stds):
                plt.error(xs, ys, yerr=stds, color=color)
            if len(points) > 1:
                plt.plot(xs, ys, marker="braille", color=color)
            # A distinct marker per language keeps the plot readable without colour (NO_COLOR); drawn last, on top.
            plt.scatter(xs, ys, marker=MARKERS[index % len(MARKERS)], color=color, label=None if below else column)
        if shots:
            plt.xticks(shots)
            # a little room either side: the first and last K's bars are not drawn on the frame
            pad = 0.04 * span + len(series) * step
            plt.xlim(shots[0] - pad, shots[-1] + pad)
        plt.ylim(*y_range(series))
        self.refresh()
