"""``xtui plugin new``: the template package copied and renamed, installed as a user installs a
plugin (pip, its entry point), its own test passing, its task listed and its example spec run."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest

from conftest import XTUI, offline_env


def test_bad_names_and_an_existing_folder_are_refused_in_one_line(xtui, tmp_path):
    for name in ("Bad Name", "9lives", "a--b", ""):
        done = xtui("plugin", "new", name, "--dest", tmp_path)
        assert done.returncode == 2 and done.stderr.count("\n") == 1 and "plugin name" in done.stderr, done.stderr
    assert xtui("plugin", "new", "acme", "--dest", tmp_path).returncode == 0
    again = xtui("plugin", "new", "acme", "--dest", tmp_path)
    assert again.returncode == 2 and "already exists" in again.stderr
    missing = xtui("plugin", "new", "other", "--dest", tmp_path / "nowhere")
    assert missing.returncode == 2 and "no such folder" in missing.stderr


@pytest.mark.slow
def test_a_new_plugin_installs_passes_its_test_and_runs(xtui, home, tmp_path):
    made = xtui("plugin", "new", "acme-tasks", "--dest", tmp_path)
    assert made.returncode == 0, made.stderr
    folder = tmp_path / "xtui-acme-tasks"
    assert (folder / "xtui_acme_tasks" / "__init__.py").is_file()
    assert 'acme_tasks = "xtui_acme_tasks"' in (folder / "pyproject.toml").read_text()
    # installed as any plugin is (a wheel with its entry point), into a folder of its own
    site = tmp_path / "site"
    pip = subprocess.run([sys.executable, "-m", "pip", "install", "-q", "--no-deps", "--no-build-isolation",
                          "--target", str(site), str(folder)], capture_output=True, text=True, timeout=300)
    assert pip.returncode == 0, pip.stderr[-2000:]
    env = {"PYTHONPATH": os.pathsep.join([str(site), os.environ.get("PYTHONPATH", "")])}
    listed = xtui("tasks", "--json", env=env)
    assert listed.returncode == 0, listed.stderr
    task = next(t for t in json.loads(listed.stdout) if t["name"] == "acme_tasks_sentiment")
    assert task["plugin"] == "acme_tasks" and task["kind"] == "classification"
    own = subprocess.run([sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", str(folder / "tests")],
                         capture_output=True, text=True, timeout=300, env=offline_env(home, **env), cwd=folder)
    assert own.returncode == 0 and "2 passed" in own.stdout, own.stdout[-2000:]
    run = subprocess.run([*XTUI, "run", "example.toml"], capture_output=True, text=True, timeout=600,
                         env=offline_env(home, **env), cwd=folder, stdin=subprocess.DEVNULL)
    assert run.returncode == 0, run.stdout[-2000:] + run.stderr[-2000:]
    assert "acme_tasks_sentiment · accuracy (%) · K=4" in run.stdout
