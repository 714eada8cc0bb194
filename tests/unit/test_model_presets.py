"""The Hub presets are pinned: ``xlm-roberta-base`` means one Hub commit, held in every stage hash
(a run that loads that snapshot: tests/integration/test_model_presets.py)."""

from __future__ import annotations

import re

from xtui.models import HUB_REVISIONS, resolve_model


def test_hub_presets_resolve_to_a_pinned_commit(monkeypatch):
    monkeypatch.delenv("HF_HUB_OFFLINE", raising=False)  # online, nothing needs to be in the cache to plan
    for preset, repo in (("xlm-roberta-base", "FacebookAI/xlm-roberta-base"),
                         ("xlm-roberta-large", "FacebookAI/xlm-roberta-large")):
        ref = resolve_model(preset)
        name, _, revision = ref.source.partition("@")
        assert name == repo and revision == HUB_REVISIONS[repo] and re.fullmatch("[0-9a-f]{40}", revision)
        assert revision in ref.fingerprint  # another commit is another stage
