"""Bad input met while running: a disk that fills up, memory that runs out, an index to rebuild.

Every bad input a command refuses up front (specs, flags, data files, models, the runs directory)
is a case folder of the corpus in ``tests/bad_inputs/``, run by ``tests/test_bad_inputs.py``; what is
left here needs a real run (training through a worker) or checks what happens after the error.
"""

from __future__ import annotations

import json
import shutil
import subprocess

import pytest

from conftest import TESTS, XTUI, offline_env

SPEC = ('name = "bad"\nmodel = "tiny"\n[target]\ntask = "demo_sentiment"\nlanguages = ["de"]\nmax_steps = {steps}\n'
        '{extra}[fewshot]\nshots = [0]\n')
FINISHED = TESTS / "bad_inputs" / "_homes" / "finished"


def spec(steps: int = 2, extra: str = "") -> str:
    return SPEC.format(steps=steps, extra=extra)


@pytest.fixture(scope="module")
def finished(tmp_path_factory):
    """A real finished experiment that no failure may harm."""
    home = tmp_path_factory.mktemp("finished") / "runs"
    path = home.parent / "good.toml"
    path.write_text(spec())
    result = subprocess.run([*XTUI, "run", str(path)], capture_output=True, text=True, env=offline_env(home), timeout=300)
    assert result.returncode == 0, result.stderr
    snapshot = {p: p.read_bytes() for p in (home / "stages").glob("*/result.json")}
    assert len(snapshot) == 3
    return home, snapshot


def run_in(home, *args, env=None, cwd=None):
    return subprocess.run([*XTUI, *map(str, args)], capture_output=True, text=True, env=offline_env(home, **(env or {})),
                          timeout=300, cwd=cwd, stdin=subprocess.DEVNULL)


def test_corrupted_index_says_reindex_and_reindex_rebuilds(tmp_path):
    home = tmp_path / "runs"
    shutil.copytree(FINISHED, home)
    (home / "index.json").write_text('{"experiments": {"1": ')
    listing = run_in(home, "runs", "list")
    assert listing.returncode == 1 and "damaged" in listing.stderr and "xtui runs reindex" in listing.stderr
    rebuilt = run_in(home, "runs", "reindex")
    assert rebuilt.returncode == 0 and "reindexed 1 experiments and 4 stages" in rebuilt.stdout, rebuilt.stderr
    assert json.loads(run_in(home, "runs", "list", "--json").stdout)[0]["status"] == "done"


def test_reindex_leaves_a_damaged_record_out_and_says_so(tmp_path):
    home = tmp_path / "runs"
    shutil.copytree(FINISHED, home)
    shutil.copytree(home / "experiments" / "20261201-235542-good-e6ec", home / "experiments" / "20261202-000000-copy-0000")
    (home / "experiments" / "20261202-000000-copy-0000" / "experiment.json").write_text("{")
    rebuilt = run_in(home, "runs", "reindex")
    assert rebuilt.returncode == 0 and "reindexed 1 experiments" in rebuilt.stdout
    assert "warning: left out of the index:" in rebuilt.stderr and "20261202-000000-copy-0000" in rebuilt.stderr
    assert "damaged" in rebuilt.stderr and "Traceback" not in rebuilt.stderr


@pytest.mark.slow
def test_disk_full_while_writing_a_checkpoint(finished, tmp_path):
    home = tmp_path / "runs"
    shutil.copytree(finished[0], home)
    before = {p: p.read_bytes() for p in (home / "stages").glob("*/result.json")}
    path = tmp_path / "s.toml"
    path.write_text(spec(steps=3))
    result = run_in(home, "run", path, env={"XTUI_FAULT": "checkpoint"})
    assert result.returncode == 1 and "Traceback" not in result.stdout + result.stderr
    assert "disk full" in result.stderr and "No space left on device" in result.stderr
    assert {p: p.read_bytes() for p in before} == before  # finished results untouched
    listing = json.loads(run_in(home, "runs", "list", "--json").stdout)
    assert [r["status"] for r in listing] == ["done", "failed"]


@pytest.mark.slow
def test_out_of_memory_gives_a_hint_and_auto_batch_size_recovers(finished, tmp_path):
    home = tmp_path / "runs"
    path = tmp_path / "s.toml"
    path.write_text(spec(extra="batch_size = 16\n"))
    failed = run_in(home, "run", path, env={"XTUI_FAULT_OOM_ABOVE": "4"})
    assert failed.returncode == 1
    assert "out of memory" in failed.stderr and "lower batch_size" in failed.stderr
    recovered = run_in(home, "run", path, "--auto-batch-size", env={"XTUI_FAULT_OOM_ABOVE": "4"})
    assert recovered.returncode == 0, recovered.stderr
    target = next(json.loads(p.read_text()) for p in (home / "stages").glob("*/result.json")
                  if json.loads(p.read_text())["type"] == "target")
    assert target["train"]["batch_size"] == 4 and target["train"]["gradient_accumulation"] == 4
