"""Bad input met while running: a disk that fills up, memory that runs out.

Every bad input a command refuses up front (specs, flags, data files, models, the runs directory)
is a case folder of the corpus in ``tests/bad_inputs/``, run by ``tests/unit/test_bad_inputs.py``;
what is left here needs a real run (training through a worker), and an index to rebuild is in
``tests/unit/test_bad_input.py``.
"""

from __future__ import annotations

import json
import shutil

import pytest

from conftest import run_cli

SPEC = ('name = "bad"\nmodel = "tiny"\n[target]\ntask = "demo_sentiment"\nlanguages = ["de"]\nmax_steps = {steps}\n'
        '{extra}[fewshot]\nshots = [0]\n')


def spec(steps: int = 2, extra: str = "") -> str:
    return SPEC.format(steps=steps, extra=extra)


@pytest.fixture(scope="module")
def finished(tmp_path_factory):
    """A real finished experiment that no failure may harm."""
    home = tmp_path_factory.mktemp("finished") / "runs"
    path = home.parent / "good.toml"
    path.write_text(spec())
    result = run_cli(home, "run", path, timeout=300)
    assert result.returncode == 0, result.stderr
    snapshot = {p: p.read_bytes() for p in (home / "stages").glob("*/result.json")}
    assert len(snapshot) == 3
    return home, snapshot


@pytest.mark.slow
def test_disk_full_while_writing_a_checkpoint(finished, tmp_path, home, xtui):
    shutil.copytree(finished[0], home)
    before = {p: p.read_bytes() for p in (home / "stages").glob("*/result.json")}
    path = tmp_path / "s.toml"
    path.write_text(spec(steps=3))
    result = xtui("run", path, env={"XTUI_FAULT": "checkpoint"})
    assert result.returncode == 1 and "Traceback" not in result.stdout + result.stderr
    assert "disk full" in result.stderr and "No space left on device" in result.stderr
    assert {p: p.read_bytes() for p in before} == before  # finished results untouched
    listing = json.loads(xtui("runs", "list", "--json").stdout)
    assert [r["status"] for r in listing] == ["done", "failed"]


@pytest.mark.slow
def test_out_of_memory_gives_a_hint_and_auto_batch_size_recovers(finished, tmp_path, home, xtui):
    path = tmp_path / "s.toml"
    path.write_text(spec(extra="batch_size = 16\n"))
    failed = xtui("run", path, env={"XTUI_FAULT_OOM_ABOVE": "4"})
    assert failed.returncode == 1
    assert "out of memory" in failed.stderr and "lower batch_size" in failed.stderr
    recovered = xtui("run", path, "--auto-batch-size", env={"XTUI_FAULT_OOM_ABOVE": "4"})
    assert recovered.returncode == 0, recovered.stderr
    target = next(json.loads(p.read_text()) for p in (home / "stages").glob("*/result.json")
                  if json.loads(p.read_text())["type"] == "target")
    assert target["train"]["batch_size"] == 4 and target["train"]["gradient_accumulation"] == 4
