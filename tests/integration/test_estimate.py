"""`xtui run SPEC --dry-run --estimate` as a user types it: the quickstart's cost per stage type and in
total (text, --json, --gpu), done stages left out after a real tiny run (and the throughput it measured
used), and the flags' bad-input errors."""

from __future__ import annotations

import json

import pytest

pytestmark = pytest.mark.slow

TYPES = ("intermediate", "target", "evaluate", "fewshot")

TINY = """
name = "est"
model = "tiny"
seeds = [1]
[intermediate]
tasks = ["none"]
[target]
task = "demo_sentiment"
languages = ["de"]
max_steps = 12
batch_size = 8
[fewshot]
shots = [0, 4]
shot_sets = 2
steps = 3
batch_size = 4
"""


@pytest.fixture
def cache(tmp_path):
    return {"XTUI_CACHE_DIR": str(tmp_path / "cache")}


def _estimate(xtui, cache, *args) -> dict:
    done = xtui("run", *args, "--dry-run", "--estimate", "--json", env=cache)
    assert done.returncode == 0, done.stderr[-2000:]
    return json.loads(done.stdout)


def test_the_quickstart_estimate_prints_each_type_and_totals_that_add_up(xtui, cache):
    done = xtui("run", "examples/quickstart.toml", "--dry-run", "--estimate", env=cache)
    assert done.returncode == 0, done.stderr[-2000:]
    text = done.stdout
    assert "Traceback" not in done.stderr
    lines = {line.split("│")[1].strip(): line for line in text.splitlines() if line.startswith("│")}
    assert set(lines) == {*TYPES, "total"}
    assert "e5-small-multilingual" in text and "non-embedding parameters" in text
    assert "preset a100" in text and "assumed MFU 40%" in text and "no measured figure" in text
    assert "tokens (measured): e5-small-multilingual's tokenizer" in text
    assert "left out:" in text and "model loading" in text and "model selection" in text
    estimate = _estimate(xtui, cache, "examples/quickstart.toml", "--gpu", "h100")
    rows, total = estimate["types"], estimate["total"]
    assert [rows[t]["stages"] for t in TYPES] == [1, 2, 10, 24]  # the plan of the quickstart
    for key in ("stages", "train_examples", "eval_examples", "train_tokens", "eval_tokens", "flops", "gpu_hours"):
        assert total[key] == pytest.approx(sum(row[key] for row in rows.values())), key
    assert rows["fewshot"]["train_examples"] == 24 * 4 * 8  # 24 shot sets x 4 steps x 8 shots
    assert rows["intermediate"]["train_examples"] > 0 and rows["evaluate"]["train_examples"] == 0
    parameters = estimate["model"]["non_embedding_parameters"]
    assert rows["target"]["flops"] >= 6 * parameters * rows["target"]["train_tokens"]  # + the head's parameters
    assert total["gpu_hours"] == pytest.approx(total["flops"] / (989e12 * 0.4) / 3600)
    assert "H100" in estimate["throughput"]["target"]["describe"]
    assert estimate["tokens"]["from_cache"] > 0  # the text run measured the files; --json read them back


def test_after_a_real_run_done_stages_cost_nothing_and_the_measured_throughput_is_used(xtui, write_spec, cache):
    spec = write_spec(TINY)
    before = _estimate(xtui, cache, spec)
    assert before["total"]["done"] == 0 and before["total"]["flops"] > 0
    ran = xtui("run", spec, env=cache)
    assert ran.returncode == 0, ran.stderr[-2000:]
    after = _estimate(xtui, cache, spec, "--set", "fewshot.shot_sets=3")
    rows = after["types"]
    assert [(rows[t]["stages"], rows[t]["done"]) for t in ("target", "evaluate", "fewshot")] == [(1, 1), (2, 2), (3, 2)]
    assert rows["target"]["flops"] == rows["evaluate"]["flops"] == 0
    assert rows["fewshot"]["train_examples"] == 3 * 4  # the new shot set only: 3 steps of 4 shots
    assert after["total"]["flops"] == pytest.approx(rows["fewshot"]["flops"])
    throughput = after["throughput"]["fewshot"]
    assert throughput["source"] == "measured" and throughput["stages"] == 2, throughput
    text = xtui("run", spec, "--dry-run", "--estimate", env=cache).stdout
    assert "measured:" in text and "done fewshot stages of this model" in text
    preset = _estimate(xtui, cache, spec, "--gpu", "cpu")  # a preset wins over the measured figure
    assert preset["throughput"]["target"]["source"] == "preset"


@pytest.mark.parametrize("args, message", [
    (["--estimate"], "--estimate prices the plan without running it, so it needs --dry-run"),
    (["--dry-run", "--estimate", "--gpu", "tpu"], "--gpu 'tpu': not a preset (valid: h100, a100, v100, l40s, cpu)"),
    (["--dry-run", "--gpu", "h100"], "--gpu sets the throughput of --estimate"),
])
def test_bad_estimate_flags_are_one_line_errors(xtui, write_spec, args, message):
    done = xtui("run", write_spec(TINY), *args)
    assert done.returncode == 2
    assert done.stderr.strip().splitlines() == [f"xtui: error: {done.stderr.split('error: ', 1)[1].strip()}"]
    assert message in done.stderr and "Traceback" not in done.stderr


def test_the_paper_grid_without_its_data_is_priced_from_the_published_sizes(xtui, cache, tmp_path):
    """examples/paper.toml with no data here (no Hub cache, no data folder): every stage of a task in
    xtui/data/split_sizes.toml is priced from the published sizes and marked so; only TyDiQA (not sourced there
    per language) stays unknown; the totals are the rows' sums."""
    env = {**cache, "HF_HOME": str(tmp_path / "hf"), "HF_HUB_OFFLINE": "0", "HF_DATASETS_OFFLINE": "0",
           "TRANSFORMERS_OFFLINE": "0"}  # the plan's offline checks off; the estimate itself never downloads
    result = _estimate(xtui, env, "examples/paper.toml", "--gpu", "a100")
    total = result["total"]
    assert total["stages"] == 1869 and total["done"] == 0
    assert total["estimated"] + total["not_estimated"] == total["stages"]
    assert total["sized_from_tables"] == total["estimated"] > 1800
    assert result["not_estimated"] and all("no published size of tydiqa" in item["why"] for item in result["not_estimated"])
    for key in ("flops", "gpu_hours", "train_tokens", "eval_examples", "sized_from_tables", "not_estimated"):
        assert total[key] == pytest.approx(sum(row[key] for row in result["types"].values()))
    assert total["gpu_hours"] == pytest.approx(total["flops"] / (312e12 * 0.4) / 3600) and total["gpu_hours"] > 1
    assert result["tokens"]["files"] == 0 and set(result["published"]["tasks"]) >= {"xnli", "panx", "udpos", "mnli"}
    text = xtui("run", "examples/paper.toml", "--dry-run", "--estimate", env={**env, "COLUMNS": "200"}).stdout
    assert "sized from tables" in text and "published split sizes" in text and "(an upper bound)" in text
