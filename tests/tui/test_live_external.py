"""The Live screen follows an experiment that `xtui run` started elsewhere (another terminal, an SSH session),
and what it shows when that experiment ends is what `xtui runs show` prints for it (real tiny training)."""

from __future__ import annotations

import io
import os
import re
import subprocess
import sys

import pytest
from rich.console import Console
from textual.widgets import DataTable

from xtui.tui.compose import ComposeScreen
from xtui.tui.dashboard import DashboardScreen
from xtui.tui.experiment_view import ExperimentView
from xtui.tui.heat_map import HeatMap
from xtui.tui.history import HistoryScreen
from xtui.tui.results_view import ResultsView
from xtui.tui.score_table import ScoreTable

from .conftest import make_app, screen_text, wait_for
from .test_browse import cells

pytestmark = pytest.mark.slow

SPEC = """
name = "elsewhere"
model = "tiny"

[intermediate]
tasks = ["none"]

[target]
task = "demo_sentiment"
languages = ["de"]
max_steps = 40
learning_rate = 1e-3

[fewshot]
shots = [0]
"""


def _env(**extra) -> dict:
    return dict(os.environ, PYTHONUNBUFFERED="1", COLUMNS="160", HF_HUB_OFFLINE="1", HF_DATASETS_OFFLINE="1",
                TRANSFORMERS_OFFLINE="1", **extra)


def printed_tables(text: str) -> list:
    """The tables `xtui runs show` prints: [(title, [[cell, ...] per row])], read from its box drawing."""
    tables = []
    for line in text.splitlines():
        if " · " in line and not line.startswith(("│", "┃", "┏", "┡", "└")):
            tables.append((line.strip(), []))
        elif line.startswith("│") and tables:
            tables[-1][1].append([cell.strip() for cell in line.strip().strip("│").split("│")])
    return tables


def drawn_lines(renderable) -> list:
    console = Console(file=io.StringIO(), width=240, color_system=None, legacy_windows=False)
    console.print(renderable)
    return [" ".join(line.split()) for line in console.file.getvalue().splitlines()]


def first_number(cell: str):
    found = re.match(r"\s*(-?\d+(?:\.\d+)?)", cell)
    return found.group(1) if found else cell.strip()


async def test_live_follows_an_experiment_started_by_xtui_run_elsewhere(store, home, tmp_path):
    spec = tmp_path / "elsewhere.toml"
    spec.write_text(SPEC)
    app = make_app(store)
    async with app.run_test(size=(120, 36)) as pilot:
        # opened before anything ran: nothing to watch yet
        assert isinstance(app.screen, ComposeScreen) and app.watching is None
        with open(tmp_path / "run.log", "w") as log:
            run = subprocess.Popen([sys.executable, "-m", "xtui.cli", "run", str(spec)], stdout=log,
                                   stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL, env=_env(), cwd=tmp_path)
        try:
            await pilot.press("f4")
            history = app.screen
            assert isinstance(history, HistoryScreen)
            table = history.query_one("#history-table", DataTable)
            await wait_for(pilot, lambda: table.row_count == 1 and "running" in cells(table)[0][1], timeout=120,
                           what="the history listing the running experiment")
            experiment_id = cells(table)[0][10]
            await pilot.press("f3")
            assert isinstance(app.screen, DashboardScreen)
            await wait_for(pilot, lambda: app.screen.query(ExperimentView), timeout=10,
                           what="the Live screen following the experiment started elsewhere")
            view = app.screen.query_one(ExperimentView)
            assert view.experiment_id == experiment_id and app.watching == experiment_id
            await wait_for(pilot, lambda: len(view.stages) == 3 and view.status == "running", timeout=30,
                           what="its stages")
            text = screen_text(app)
            assert experiment_id in text and "Nothing is being watched" not in text
            stage_rows = cells(view.query_one("#stage-table", DataTable))
            assert sorted(row[1] for row in stage_rows) == ["evaluate", "evaluate", "target"]
            # it finishes: the Live screen shows its scores
            await wait_for(pilot, lambda: view.status == "done", timeout=300, what="the experiment done")
            assert run.wait(timeout=60) == 0, (tmp_path / "run.log").read_text()[-3000:]
            scores = view.query_one(ScoreTable)
            results = view.query_one(ResultsView)
            await wait_for(pilot, lambda: results.tables and view.counts == {"done": 3}, timeout=30, what="the scores")
            await pilot.pause(0.3)
            assert "3/3 stages done" in screen_text(app)
            # ... the same tables, cell for cell, as `xtui runs show` prints for the same experiment
            shown = subprocess.run([sys.executable, "-m", "xtui.cli", "runs", "show", experiment_id], capture_output=True,
                                   text=True, env=_env(), stdin=subprocess.DEVNULL, timeout=120)
            assert shown.returncode == 0, shown.stderr
            printed = printed_tables(shown.stdout)
            assert printed and all(rows for _, rows in printed), shown.stdout
            drawn = drawn_lines(scores.content)
            for title, rows in printed:
                assert " ".join(title.split()) in drawn, (title, drawn)
                for row in rows:
                    assert " ".join(" ".join(row).split()) in drawn, (row, drawn)
            # ... and the heat map of the table it shows has the same means
            await pilot.press("2")
            await pilot.pause(0.3)
            heat = results.query_one(HeatMap)
            table = results.tables[results.index]
            title, rows = next((t, r) for t, r in printed if t.startswith(f"{table['task']} ·") and f"K={table['shots']}" in t)
            heat_rows = {row[0]: [first_number(c) for c in row[1:]] for row in cells(heat)}
            assert heat_rows == {row[0]: [first_number(c) for c in row[1:]] for row in rows}, (title, heat_rows, rows)
        finally:
            if run.poll() is None:
                run.terminate()
                run.wait(timeout=60)
