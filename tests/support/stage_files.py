"""stage.json files as an earlier xtui wrote them (schema 1: the grid under ``labels``), for tests
that lay out runs directories by hand. Their hashes are the test's own: schema-1 files are read
without checking the hash (it was computed over the old field names)."""

from __future__ import annotations

TINY = {"name": "tiny", "source": "tiny-random-xlmr", "revision": None}
CLASSIFICATION = {"name": "classification", "target": "xtui.kinds.classification:ClassificationKind", "version": "1"}


def old_stage_json(digest: str, type_: str, grid: dict, *, task: str, language: str, parent=None,
                   kind: dict = CLASSIFICATION, class_names=("negative", "positive")) -> dict:
    return {"hash": digest, "type": type_, "parent": parent, "model": TINY, "seed": grid.get("seed", 1), "task": task,
            "kind": kind, "labels_names": list(class_names), "language": language, "labels": grid}
