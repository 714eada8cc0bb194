"""Published shot sets (fsxlt/buckets) through the CLI: a run trains on them and exports them
back in the same layout."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from support.buckets import BUCKETS, xnli_dev_pool  # noqa: F401  (a fixture)
from xtui.buckets import read_set


@pytest.mark.slow
def test_a_run_trains_on_the_published_sets_and_exports_them_back(xtui, write_spec, xnli_dev_pool, tmp_path, home):
    spec = write_spec(f"""
        name = "buckets"
        model = "tiny"
        data_dir = "{xnli_dev_pool}"
        [intermediate]
        tasks = ["none"]
        [target]
        task = "xnli"
        languages = ["de"]
        max_steps = 2
        batch_size = 8
        [fewshot]
        shots = [1]
        shot_sets = 2
        steps = 2
        batch_size = 3
        shot_sets_from = "{BUCKETS}"
        """)
    done = xtui("run", spec)
    assert done.returncode == 0, done.stderr
    for folder in (home / "stages").iterdir():
        stage = json.loads((folder / "stage.json").read_text())
        if stage["type"] == "fewshot":
            trained = [json.loads(line) for line in (folder / "shots.jsonl").read_text().splitlines()]
            published = read_set(Path(stage["shot_file"]))
            assert [(e["text"], e["text_pair"]) for e in trained] == [(e["text"], e["text_pair"]) for e in published]
    out = tmp_path / "exported"
    exported = xtui("runs", "export", "latest", "--format", "buckets", "-o", out)
    assert exported.returncode == 0, exported.stderr
    for shot_set in (0, 1):
        back = read_set(out / f"xnli/1-shots/german/{shot_set}-th/sampled.json")
        original = read_set(BUCKETS / f"xnli/1-shots/german/{shot_set}-th/sampled.json")
        assert [(e["text"], e["text_pair"], e["label"]) for e in back] == [
            (e["text"], e["text_pair"], e["label"]) for e in original]
