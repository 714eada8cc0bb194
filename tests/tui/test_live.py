"""The live dashboard follows run directories: bursts of events coalesce, curves and scores fill in."""

from __future__ import annotations

import json
import os
import threading
import time

from textual.widgets import DataTable, Log

from xtui.files import atomic_write_json
from xtui.tui.dashboard import DashboardScreen
from xtui.tui.experiment_view import ExperimentView
from xtui.tui.loss_plot import LossPlot
from xtui.tui.messages import WatchExperiment
from xtui.tui.score_table import ScoreTable

from .conftest import make_app, screen_text, wait_for
from .fake_runs import write_running

STEPS = 3000


def _burst(path, stop: threading.Event) -> None:
    """Hundreds of step events per second, in bursts, as a fast worker writes them."""
    with open(path, "a") as handle:
        handle.write(json.dumps({"event": "start", "time": time.time(), "device": "cpu", "pid": 1, "host": "h"}) + "\n")
        handle.write(json.dumps({"event": "train", "time": time.time(), "total_steps": STEPS, "examples": 9000,
                                 "batch_size": 8}) + "\n")
        handle.flush()
        for step in range(1, STEPS + 1):
            handle.write(json.dumps({"event": "step", "time": time.time(), "step": step, "total": STEPS,
                                     "loss": 2.0 / (1 + step / 300), "lr": 1e-4, "examples_per_second": 2400.0}) + "\n")
            if step % 100 == 0:
                handle.flush()
                time.sleep(0.03)  # ~3,000 events per second
            if stop.is_set():
                return


async def test_dashboard_coalesces_bursts_and_fills_in(store):
    experiment, target, evaluate = write_running(store, "20231114-000000-live-cccc", pid=os.getpid(),
                                                 created=time.time())
    app = make_app(store)
    async with app.run_test(size=(120, 36)) as pilot:
        # an experiment that is running when the app opens is watched straight away
        assert app.current_mode == "live" and app.watching == experiment["id"]
        await wait_for(pilot, lambda: isinstance(app.screen, DashboardScreen) and app.screen.query(ExperimentView))
        view = app.screen.query_one(ExperimentView)
        await wait_for(pilot, lambda: view.updates > 0, what="first update")
        stop = threading.Event()
        writer = threading.Thread(target=_burst, args=(store.stage_dir(target) / "events.jsonl", stop))
        writer.start()
        try:
            table = view.query_one("#stage-table", DataTable)
            moved = []  # where each "down" took the cursor: the UI answers keys while events pour in
            while writer.is_alive():
                await pilot.press("down")
                moved.append(table.cursor_row)
                await pilot.press("up")
                await pilot.pause(0.05)
        finally:
            stop.set()
            writer.join()
        await wait_for(pilot, lambda: view.stages[target].step == STEPS, what="last step")
        await pilot.pause(0.4)
        # every "down" reached the stage table, from the target's row to the evaluation's (how fast it
        # answers is measured in benchmarks, not asserted here)
        assert moved and set(moved) == {1}, moved
        assert view.updates < 200, f"{view.updates} repaints for {STEPS} events"
        # what is drawn: the running stage with its progress and loss, its curve, its log
        text = screen_text(app)
        assert f"{STEPS}/{STEPS}" in text and f"{2.0 / (1 + STEPS / 300):.4f}" in text
        plot = app.screen.query_one(LossPlot)
        assert 0 < plot.points_drawn <= 2 * plot.size.width
        assert "loss · " in text and "train loss" in text
        log = app.screen.query_one("#stage-log", Log)
        assert any(f"step {STEPS}/{STEPS}" in line for line in log.lines)
        assert "● running" in text and "1 running" in text
        # the evaluation finishes: the score table fills in, the experiment ends
        for h, kind, labels, metrics in ((target, "target", {"intermediate": "none", "task": "demo_sentiment", "seed": 1}, None),
                                         (evaluate, "evaluate", {"intermediate": "none", "task": "demo_sentiment",
                                                                 "language": "de", "shots": 0, "shot_set": None, "seed": 1},
                                          {"accuracy": 0.625})):
            result = {"hash": h, "type": kind, "status": "done", "task": "demo_sentiment", "labels": labels, "seed": 1,
                      "language": labels.get("language", "en"), "metric": "accuracy", "finished": time.time(),
                      "started": time.time() - 1, "seconds": 1.0}
            if metrics:
                result.update(metrics=metrics, evaluation={"split": "test", "language": "de", "examples": 8})
            atomic_write_json(store.stage_dir(h) / "result.json", result)
            with open(store.stage_dir(h) / "events.jsonl", "a") as handle:
                handle.write(json.dumps({"event": "done", "time": time.time(), "metrics": metrics or {}, "seconds": 1.0}) + "\n")
        await wait_for(pilot, lambda: view.counts.get("done") == 2, what="both done")
        record = json.loads((store.experiment_dir(experiment["id"]) / "experiment.json").read_text())
        record.update(status="done", finished=time.time())
        atomic_write_json(store.experiment_dir(experiment["id"]) / "experiment.json", record)
        await wait_for(pilot, lambda: view.status == "done", what="experiment done")
        await pilot.pause(0.2)
        scores = app.screen.query_one(ScoreTable)
        assert "62.5" in screen_text(app) or "62.5" in str(scores.render())
        stages = app.screen.query_one("#stage-table", DataTable)
        assert stages.row_count == 2
        # nothing is running any more: quitting asks nothing
        await pilot.press("ctrl+q")
        await pilot.pause(0.2)
    assert app.return_code == 0


async def test_live_moves_on_to_the_next_experiment_started_elsewhere_once_the_followed_one_ended(store):
    """Picked because it was running (not chosen): when it ends and another starts elsewhere, Live follows that."""
    first, _, _ = write_running(store, "20231114-000000-first-aaaa", pid=os.getpid(), created=time.time() - 60)
    app = make_app(store)
    async with app.run_test(size=(120, 36)) as pilot:
        assert app.current_mode == "live" and app.watching == first["id"] and not app.watch_chosen
        record = json.loads((store.experiment_dir(first["id"]) / "experiment.json").read_text())
        record.update(status="done", finished=time.time())
        atomic_write_json(store.experiment_dir(first["id"]) / "experiment.json", record)
        from xtui.store import index_record

        store.upsert_experiment(index_record(record))
        second, _, _ = write_running(store, "20231114-000100-second-bbbb", pid=os.getpid(), created=time.time())
        await wait_for(pilot, lambda: app.watching == second["id"], timeout=10, what="following the second")
        await wait_for(pilot, lambda: app.screen.query(ExperimentView)
                       and app.screen.query_one(ExperimentView).experiment_id == second["id"], what="its stages")
        assert any("second" in str(n.message) for n in app._notifications)
        # one chosen with `w` stays, whatever starts elsewhere
        app.post_message(WatchExperiment(first["id"]))
        await wait_for(pilot, lambda: app.watching == first["id"] and app.watch_chosen)
        write_running(store, "20231114-000200-third-cccc", pid=os.getpid(), created=time.time())
        await pilot.pause(2.5)
        assert app.watching == first["id"]
