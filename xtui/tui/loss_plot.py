"""The selected stage's loss curve (and validation scores on the right axis), as a plot."""

from __future__ import annotations

from typing import Optional

from textual_plotext import PlotextPlot


def downsample(points: list, buckets: int) -> list:
    """Min and max per bucket (as dolphie's MetricGraph does): spikes survive, the shape is kept."""
    if buckets <= 0 or len(points) <= 2 * buckets:
        return list(points)
    out = []
    size = len(points) / buckets
    for index in range(buckets):
        chunk = points[int(index * size):int((index + 1) * size)]
        if not chunk:
            continue
        low = min(chunk, key=lambda p: p[1])
        high = max(chunk, key=lambda p: p[1])
        out.extend(sorted({low, high}, key=lambda p: p[0]))
    return out


class LossPlot(PlotextPlot):
    """Plots a :class:`xtui.follow.StageState`'s losses; redraws only when the stage changed."""

    def __init__(self, **kwargs) -> None:
        super().__init__(**kwargs)
        self._key: Optional[tuple] = None
        self._stage = None
        self.points_drawn = 0

    def on_resize(self) -> None:
        self.show(self._stage)

    def show(self, stage) -> None:
        self._stage = stage
        key = (stage.hash, stage.version, self.size.width, self.size.height) if stage is not None else None
        if key == self._key:
            return
        self._key = key
        plt = self.plt
        plt.clear_data()
        plt.clear_figure()
        plt.xlabel("step")
        if stage is None:
            plt.title("loss: select a stage")
            self.points_drawn = 0
            self.refresh()
            return
        points = downsample(stage.losses, max(8, (self.size.width or 40) - 12))
        legend = (self.size.height or 20) >= 14  # a legend on a small plot hides the curve
        self.points_drawn = len(points)
        title = f"loss · {stage.short} {stage.type}"
        if stage.loss is not None:
            title += f" · {stage.loss:.4f}"
        plt.title(title)
        if points:
            plt.plot([p[0] for p in points], [p[1] for p in points], marker="braille", label="train loss" if legend else None)
            first, last = points[0][0], points[-1][0]
            ticks = sorted({round(first + (last - first) * i / 4) for i in range(5)})
            plt.xticks(ticks, [str(t) for t in ticks])
        validation = [e for e in stage.evals if e.get("split") == "validation" and e.get("step") is not None]
        if validation:
            metric = stage.grid.get("metric") or next(iter(validation[-1].get("metrics") or {"score": 0}))
            values = [(e["step"], 100 * e["metrics"][metric]) for e in validation if isinstance((e.get("metrics") or {}).get(metric), (int, float))]
            if values:
                plt.plot([v[0] for v in values], [v[1] for v in values], marker="x", yside="right",
                         label=f"validation {metric} %" if legend else None)
        if not points and not validation:
            plt.title(f"{stage.short} {stage.type}: no training steps" + (" yet" if stage.status in ("pending", "queued", "running") else ""))
        self.refresh()
