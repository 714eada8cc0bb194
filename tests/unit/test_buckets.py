"""Shot sets others published (fsxlt/buckets, tests/data/fsxlt_buckets: real files of that
repository): read and matched to the shot pool by content at plan time (trained on and written
back in the same layout: tests/integration/test_buckets.py)."""

from __future__ import annotations

from pathlib import Path

import pytest

from support.buckets import BUCKETS, XNLI_LABELS, xnli_dev_pool  # noqa: F401  (a fixture)
from support.unit_fixtures import registry, spec_data  # noqa: F401  (registry is a fixture)
from xtui.buckets import find_set, match_set, read_set
from xtui.errors import DataError, SpecError
from xtui.plan import build_plan
from xtui.spec import parse_spec


def test_both_layouts_are_read_in_file_order():
    xnli = read_set(BUCKETS / "xnli/1-shots/german/0-th/sampled.json")
    assert [e["label"] for e in xnli] == ["contradiction", "entailment", "neutral"]
    assert xnli[0]["uid"].startswith("german-") and xnli[0]["text"] and xnli[0]["text_pair"]
    paws = read_set(BUCKETS / "pawsx/2-shots/german/1-th/sampled.json")
    assert [e["label"] for e in paws] == ["0", "0", "1", "1"], "2 per label"
    pos = read_set(BUCKETS / "udpos/1-shots/de/0-th/train.tsv")
    assert pos[0]["tokens"][:3] == ["Sauber", ",", "Fair"] and pos[0]["tags"][:3] == ["ADJ", "PUNCT", "ADJ"]
    assert all(len(s["tokens"]) == len(s["tags"]) for s in pos)
    assert find_set(BUCKETS, "xnli", 1, "de", 1).parent.name == "1-th", "classification: by the language's name"
    assert find_set(BUCKETS, "udpos", 1, "de", 0).name == "train.tsv", "tagging: by ISO code"
    with pytest.raises(DataError, match=r"no shot set 7 of xnli de K=1: looked for .*german/7-th/sampled.json"):
        find_set(BUCKETS, "xnli", 1, "de", 7)


def _pool_with(examples, filler):
    """A pool holding the set's examples among others, at positions 5, 2, 9 (not in file order)."""
    pool = [dict(f) for f in filler]
    for position, example in zip((5, 2, 9), examples):
        pool.insert(position, {"text": example["text"], "text_pair": example["text_pair"],
                               "label": XNLI_LABELS.index(example["label"])})
    return pool


def test_examples_are_matched_by_content_and_label(shared_data):
    from xtui.data import read_jsonl

    path = BUCKETS / "xnli/1-shots/german/0-th/sampled.json"
    filler = [{"text": row["premise"], "text_pair": row["hypothesis"], "label": row["label"]}
              for _, row in list(read_jsonl(shared_data / "xnli/de/validation.jsonl"))[:20]]
    pool = _pool_with(read_set(path), filler)
    indices = match_set(path, pool, XNLI_LABELS, "the pool")
    assert [pool[i]["text"] for i in indices] == [e["text"] for e in read_set(path)]
    with pytest.raises(DataError, match=r"sampled.json: example 1 \('german-\d+-val'\) is not in the de pool"):
        match_set(path, filler, XNLI_LABELS, "the de pool")
    relabelled = [dict(e, label=(e["label"] + 1) % 3) if e.get("text") in {x["text"] for x in read_set(path)} else e
                  for e in pool]
    with pytest.raises(DataError, match=r"has label 'contradiction'; the pool has 'entailment'"):
        match_set(path, relabelled, XNLI_LABELS, "the pool")


def _spec(data, **fewshot):
    return parse_spec(spec_data(data_dir=str(data), target={"task": "xnli", "languages": ["de"], "max_steps": 2},
                                fewshot={"shots": [1], "shot_sets": 2, "steps": 2, "batch_size": 3, **fewshot}), "t.toml")


def test_the_plan_checks_every_published_set_against_the_pool(registry, xnli_dev_pool, shared_data):
    plan = build_plan(_spec(xnli_dev_pool, shot_sets_from=str(BUCKETS)), registry, "t.toml")
    sets = sorted((s for s in plan.stages.values() if s.type == "fewshot"), key=lambda s: s.grid["shot_set"])
    assert [Path(s.shot_file).parent.name for s in sets] == ["0-th", "1-th"]
    assert sets[0].config["shot_source"]["sha256"] != sets[1].config["shot_source"]["sha256"]
    drawn = build_plan(_spec(xnli_dev_pool), registry, "t.toml")
    assert {s.hash for s in sets}.isdisjoint(drawn.stages), "published sets are other stages than drawn ones"
    with pytest.raises(SpecError, match=r"field 'fewshot.shot_sets_from': .*sampled.json: example 1 \('german-\d+-val'\) "
                                        r"is not in the de shot pool of xnli \(validation\)"):
        build_plan(_spec(shared_data, shot_sets_from=str(BUCKETS)), registry, "t.toml")
    with pytest.raises(SpecError, match=r"no shot set 0 of xnli de K=4"):
        build_plan(_spec(xnli_dev_pool, shot_sets_from=str(BUCKETS), shots=[4]), registry, "t.toml")
