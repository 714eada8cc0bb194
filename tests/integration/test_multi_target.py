"""The shipped grids (`examples/paper.toml`, `examples/fewshot.toml`), several targets each,
planned offline by `xtui run --dry-run`."""

from __future__ import annotations

import json

import pytest

from conftest import REPO


@pytest.mark.parametrize("name, targets, intermediates", [("paper", 9, 11), ("fewshot", 8, 10)])
def test_shipped_grids_plan(xtui, name, targets, intermediates):
    """`xtui run examples/X.toml --dry-run`: the plan, its size, what sharing saves. Offline, without
    XLM-R and the Hub data in the local caches, the dry run refuses the grid as the run would (its
    workers could not load them); planning itself reads nothing from the Hub, so the shape is checked
    as a user online sees it, without a download."""
    offline = xtui("run", REPO / "examples" / f"{name}.toml", "--dry-run")
    assert offline.returncode == 2 and "not in the local Hugging Face cache" in offline.stderr, offline.stderr[-2000:]
    online = {"HF_HUB_OFFLINE": "0", "HF_DATASETS_OFFLINE": "0", "TRANSFORMERS_OFFLINE": "0"}
    shown = xtui("run", REPO / "examples" / f"{name}.toml", "--dry-run", env=online)
    assert shown.returncode == 0, shown.stderr[-2000:]
    assert "stages per task" in shown.stdout and "sharing saves" in shown.stdout
    plan = xtui("run", REPO / "examples" / f"{name}.toml", "--dry-run", "--json", env=online)
    data = json.loads(plan.stdout)
    stages = data["stages"]
    assert len({s["task"] for s in stages if s["type"] in ("target", "evaluate")}) >= targets
    assert len([s for s in stages if s["type"] == "intermediate"]) == intermediates - 1  # 'none' has no stage
    assert any("+" in s["intermediate"] for s in stages)  # the mixture
    assert data["naive"] > data["unique"] == len(stages)
    if name == "fewshot":
        shots = {s["shots"] for s in stages if s["type"] == "fewshot"}
        assert shots == {5, 10} and {s["shot_set"] for s in stages if s["type"] == "fewshot"} == set(range(5))
        assert any("zero-shot only" in note for note in data["notes"])
