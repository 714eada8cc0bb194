"""A run on a Hub preset loads its pinned snapshot: here from a Hugging Face cache laid out as the
Hub client writes it, offline, with a newer ``main`` beside it that must not be picked (the pins
themselves: tests/unit/test_model_presets.py)."""

from __future__ import annotations

import json
import shutil

import pytest

from xtui.models import HUB_REVISIONS, TINY_CONFIG, minilm_path


def _snapshot(cache, repo: str, commit: str, hidden: int):
    """A real (tiny) XLM-R saved as the Hub client caches a commit of ``repo``."""
    from transformers import AutoModel, AutoTokenizer, XLMRobertaConfig

    folder = cache / f"models--{repo.replace('/', '--')}" / "snapshots" / commit
    tokenizer = AutoTokenizer.from_pretrained(minilm_path())
    config = {k: v for k, v in TINY_CONFIG.items() if k != "model_type"}
    config.update(hidden_size=hidden, intermediate_size=2 * hidden)
    AutoModel.from_config(XLMRobertaConfig(vocab_size=len(tokenizer), pad_token_id=tokenizer.pad_token_id,
                                           **config)).save_pretrained(folder)
    tokenizer.save_pretrained(folder)
    return folder


@pytest.mark.slow
def test_a_run_on_a_preset_loads_its_pinned_snapshot(xtui, write_spec, home, tmp_path):
    pytest.importorskip("torch")
    repo = "FacebookAI/xlm-roberta-base"
    cache = tmp_path / "hf" / "hub"
    pinned = _snapshot(cache, repo, HUB_REVISIONS[repo], hidden=64)
    newer = _snapshot(cache, repo, "0" * 40, hidden=32)
    shutil.rmtree(newer.parent.parent / "refs", ignore_errors=True)
    (newer.parent.parent / "refs").mkdir()
    (newer.parent.parent / "refs" / "main").write_text("0" * 40)  # "main" has moved on
    spec = write_spec("""
        name = "pinned"
        model = "xlm-roberta-base"

        [intermediate]
        tasks = ["none"]

        [target]
        task = "demo_sentiment"
        languages = ["de"]
        max_steps = 3
        batch_size = 8

        [fewshot]
        shots = [0]
    """)
    env = {"HF_HUB_CACHE": cache, "HF_HOME": tmp_path / "hf"}
    run = xtui("run", spec, env=env, timeout=600)
    assert run.returncode == 0, run.stdout[-3000:] + run.stderr[-3000:]
    target = next(json.loads(p.read_text()) for p in (home / "stages").glob("*/result.json")
                  if json.loads(p.read_text())["type"] == "target")
    stage = json.loads((home / "stages" / target["hash"][:16] / "stage.json").read_text())
    assert stage["model"]["source"] == f"{repo}@{HUB_REVISIONS[repo]}"
    # the pinned commit's encoder (hidden 64) was trained, not main's (hidden 32, a quarter of the weights)
    from transformers import AutoModel

    from xtui.perf import non_embedding_parameters

    assert non_embedding_parameters(AutoModel.from_pretrained(newer)) < non_embedding_parameters(
        AutoModel.from_pretrained(pinned)) <= target["train"]["non_embedding_parameters"]
