"""Score against K, one line per language (and the average), for one intermediate task."""

from __future__ import annotations

from textual_plotext import PlotextPlot

MARKERS = ("●", "x", "+", "*", "o", "#", "@", "%", "&", "$")
COLORS = ("cyan", "green", "magenta", "yellow", "blue", "red", "orange", "white")


def curve_series(tables: list, task: str, intermediate: str) -> dict:
    """column -> [(K, mean %)] over the tables of one task."""
    series: dict = {}
    for table in sorted((t for t in tables if t["task"] == task), key=lambda t: t["shots"]):
        row = table["cells"].get(intermediate) or {}
        for column in table["columns"] + ["avg"]:
            mean = (row.get(column) or (None,))[0]
            if mean is not None:
                series.setdefault(column, []).append((table["shots"], 100 * mean))
    return series


class FewshotCurve(PlotextPlot):
    def show(self, tables: list, task, intermediate, metric: str = "") -> None:
        plt = self.plt
        plt.clear_data()
        plt.clear_figure()
        if not tables or task is None or intermediate is None:
            plt.title("few-shot curve: no results yet")
            self.refresh()
            return
        series = curve_series(tables, task, intermediate)
        shots = sorted({t["shots"] for t in tables if t["task"] == task})
        plt.title(f"{task} {metric} (%) vs K · intermediate {intermediate}")
        plt.xlabel("K (shots)")
        for index, (column, points) in enumerate(series.items()):
            xs, ys = [p[0] for p in points], [p[1] for p in points]
            color = COLORS[index % len(COLORS)]
            if len(points) > 1:
                plt.plot(xs, ys, marker="braille", color=color)
            # A distinct marker per language keeps the plot readable without colour (NO_COLOR).
            plt.scatter(xs, ys, marker=MARKERS[index % len(MARKERS)], color=color, label=column)
        if shots:
            plt.xticks(shots)
        self.refresh()
