"""`xtui run --detach` starts an experiment in the background and prints its id; `xtui attach` follows it.
`xtui` alone opens the app on a terminal and prints the help elsewhere, without importing Textual."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from .fake_runs import T0, write_experiment

XTUI = [sys.executable, "-m", "xtui.cli"]

TINY = """
name = "detached"
model = "tiny"

[intermediate]
tasks = ["none"]

[target]
task = "demo_sentiment"
languages = ["de"]
max_steps = 3
learning_rate = 1e-3

[fewshot]
shots = [0]
"""


def run(home: Path, *args, timeout=120):
    env = dict(os.environ, XTUI_HOME=str(home), HF_HUB_OFFLINE="1", HF_DATASETS_OFFLINE="1", COLUMNS="120")
    return subprocess.run([*XTUI, *args], capture_output=True, text=True, env=env, timeout=timeout,
                          stdin=subprocess.DEVNULL)


def test_no_command_without_a_terminal_prints_help_and_imports_no_textual(home):
    probe = ("import sys; sys.argv = ['xtui']\nfrom xtui.cli import main\ntry:\n    main()\nexcept SystemExit:\n    pass\n"
             "print('TEXTUAL=' + str('textual' in sys.modules))")
    result = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, stdin=subprocess.DEVNULL,
                            env=dict(os.environ, XTUI_HOME=str(home)), timeout=60)
    assert result.returncode == 0, result.stderr
    assert "Usage" in result.stdout and "attach" in result.stdout and "TEXTUAL=False" in result.stdout


def test_attach_to_a_finished_experiment_prints_its_results(home, store):
    write_experiment(store, "20231114-221320-baseline-aaaa", name="baseline", created=T0)
    result = run(home, "attach", "baseline")
    assert result.returncode == 0, result.stderr
    assert "20231114-221320-baseline-aaaa  done" in result.stdout
    assert "demo_sentiment · accuracy (%) · K=4" in result.stdout and "66.0 ± 2.8" in result.stdout


def test_attach_unknown_experiment_is_one_line(home, store):
    write_experiment(store, "20231114-221320-baseline-aaaa", name="baseline", created=T0)
    result = run(home, "attach", "nope")
    assert result.returncode != 0 and "no experiment 'nope'" in result.stderr and "Traceback" not in result.stderr


@pytest.mark.slow
def test_detach_then_attach_until_done(home, tmp_path):
    spec = tmp_path / "detached.toml"
    spec.write_text(TINY)
    bad = run(home, "run", str(spec), "--detach", "--set", "target.languages=['xx']")
    assert bad.returncode == 2 and "target.languages" in bad.stderr  # bad input is told before anything starts
    detached = run(home, "run", str(spec), "--detach")
    assert detached.returncode == 0, detached.stderr
    experiment_id = detached.stdout.strip()
    assert experiment_id.endswith(tuple("0123456789abcdef")) and "-detached-" in experiment_id
    assert f"xtui attach {experiment_id}" in detached.stderr
    record = json.loads((home / "experiments" / experiment_id / "experiment.json").read_text())
    assert record["status"] == "running" and record["id"] == experiment_id
    attached = run(home, "attach", experiment_id, timeout=240)
    assert attached.returncode == 0, attached.stdout[-2000:] + attached.stderr[-2000:]
    assert f"attached to {experiment_id}" in attached.stdout or "finished" in attached.stdout
    assert "K=0" in attached.stdout and "stages: 3 done" in attached.stdout and "finished" in attached.stdout
    record = json.loads((home / "experiments" / experiment_id / "experiment.json").read_text())
    assert record["status"] == "done"
    log = (home / "logs" / f"{experiment_id}.log").read_text()
    assert f"experiment {experiment_id} done" in log
