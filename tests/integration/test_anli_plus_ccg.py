"""CCG supertagging through the CLI: a spec naming the licensed task without its data is told in
one line, and the worker trains CCG as an intermediate task from the local files."""

from __future__ import annotations

import json
import subprocess

import pytest

from support.data_folders import write_ccg
from support.results import best_validation

CCG_SPEC = """
name = "ccg-missing"
model = "tiny"
{data_dir}

[intermediate]
tasks = ["none", "ccg"]

[target]
task = "demo_sentiment"
languages = ["de"]

[fewshot]
shots = [0]
"""


def _one_line(result: subprocess.CompletedProcess) -> str:
    assert result.returncode not in (0, None), result.stdout
    assert "Traceback" not in result.stdout + result.stderr
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith("xtui: error: ")
    return lines[0]


def test_a_spec_naming_ccg_without_data_says_it_is_licensed(xtui, write_spec, tmp_path):
    line = _one_line(xtui("run", write_spec(CCG_SPEC.format(data_dir="")), "--dry-run"))
    for needle in ("'ccg'", "LDC2005T13", "cannot download", "<data_dir>/ccg/en/", "labels.txt",
                   "no data folder is set"):
        assert needle in line, (needle, line)
    data = tmp_path / "data"
    data.mkdir()
    line = _one_line(xtui("run", write_spec(CCG_SPEC.format(data_dir=f'data_dir = "{data}"'), "d.toml"), "--dry-run"))
    assert "LDC2005T13" in line and f"there is no folder {data / 'ccg'}" in line
    write_ccg(data)
    planned = xtui("run", write_spec(CCG_SPEC.format(data_dir=f'data_dir = "{data}"'), "ok.toml"), "--dry-run", "--json")
    assert planned.returncode == 0, planned.stderr
    stages = json.loads(planned.stdout)["stages"]
    assert any(s["type"] == "intermediate" and "ccg" in json.dumps(s) for s in stages)


CCG_RUN_SPEC = """
name = "ccg-run"
model = "tiny"
seeds = [1]
data_dir = "{data}"

[intermediate]
tasks = ["ccg"]
max_steps = 6
batch_size = 2
learning_rate = 1e-3

[target]
task = "demo_sentiment"
languages = ["de"]
max_steps = 3
batch_size = 8
max_length = 32

[fewshot]
shots = [0]
"""


@pytest.mark.slow
def test_ccg_trains_as_an_intermediate_task_with_labels_from_its_data(xtui, write_spec, tmp_path, home):
    """The worker builds CCG's tagging head from labels.txt (the task registers none) and the
    target continues from its encoder."""
    write_ccg(tmp_path / "data")
    run = xtui("run", write_spec(CCG_RUN_SPEC.format(data=tmp_path / "data")))
    assert run.returncode == 0, run.stdout[-3000:] + run.stderr[-3000:]
    results = [json.loads(p.read_text()) for p in (home / "stages").glob("*/result.json")]
    ccg = next(r for r in results if r["type"] == "intermediate")
    assert ccg["task"] == "ccg" and ccg["train"]["steps"] == 6
    # selected on the validation sentence, over the file's supertags: the best of the evaluations it logged
    best = best_validation(home / "stages" / ccg["hash"][:16], "accuracy")
    assert ccg["selection"]["strategy"] == "best English validation" and ccg["selection"]["step"] == best["step"]
    assert ccg["validation"] == best["metrics"]
    assert {r["type"] for r in results} == {"intermediate", "target", "evaluate"}
