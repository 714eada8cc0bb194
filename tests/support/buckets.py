"""The published shot sets of fsxlt/buckets kept in tests/data, and an XNLI data folder whose
German few-shot pool holds them."""

from __future__ import annotations

import json
import shutil

import pytest

from conftest import TESTS
from xtui.buckets import read_set

BUCKETS = TESTS / "data" / "fsxlt_buckets"
XNLI_LABELS = ("entailment", "neutral", "contradiction")


@pytest.fixture
def xnli_dev_pool(shared_data, tmp_path):
    """The shared XNLI sample with the bucket's (dev-set) examples in the German few-shot pool, as the
    Hub's XNLI validation split has them."""
    data = tmp_path / "data"
    shutil.copytree(shared_data / "xnli", data / "xnli")
    rows = []
    for shot_set in (0, 1):
        for example in read_set(BUCKETS / f"xnli/1-shots/german/{shot_set}-th/sampled.json"):
            rows.append({"premise": example["text"], "hypothesis": example["text_pair"],
                         "label": XNLI_LABELS.index(example["label"])})
    with open(data / "xnli/de/validation.jsonl", "a", encoding="utf-8") as handle:
        handle.writelines(json.dumps(r, ensure_ascii=False) + "\n" for r in rows)
    return data
