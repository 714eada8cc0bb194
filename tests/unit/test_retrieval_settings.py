"""Retrieval settings in the spec: ``[target.per_task.tatoeba] layer = 14, pooling = "cls"``, the default
(14/24 of the depth, mean), ``retrieval_preset = "xtreme"`` (XTREME's scripts' layer, pooling and length),
all part of the evaluate stage's hash; and on the tiny model, CLS and mean pooling (and two layers) really
give different embeddings."""

from __future__ import annotations

import pytest

from support.unit_fixtures import registry, spec_data  # noqa: F401  (registry is a fixture)
from xtui.errors import SpecError
from xtui.plan import build_plan
from xtui.spec import parse_spec

PAIRS = [{"source_sentence": f"Satz {i} über Dinge.", "target_sentence": f"Sentence {i} about things."} for i in range(6)]


@pytest.fixture
def data(tmp_path):
    """A local Tatoeba de-en sample (and BUCC's layout is not needed: its presets are checked on tatoeba)."""
    import json

    folder = tmp_path / "data" / "tatoeba" / "de"
    folder.mkdir(parents=True)
    (folder / "test.jsonl").write_text("".join(json.dumps(row) + "\n" for row in PAIRS), encoding="utf-8")
    return tmp_path / "data"


def _evaluate(registry, data, model="tiny", task="tatoeba", **target):
    spec = spec_data(model=model, data_dir=str(data),
                     target={"task": task, "languages": ["de"], "max_length": 64, **target}, fewshot={"shots": [0]})
    plan = build_plan(parse_spec(spec, "t.toml"), registry, "t.toml")
    (stage,) = [s for s in plan.stages.values() if s.type == "evaluate"]
    return stage


def _error(registry, data, **kwargs) -> str:
    with pytest.raises(SpecError) as caught:
        _evaluate(registry, data, **kwargs)
    assert "\n" not in str(caught.value)
    return str(caught.value)


def test_default_records_neither_layer_nor_pooling(registry, data):
    stage = _evaluate(registry, data)
    assert "layer" not in stage.content() and "pooling" not in stage.content()  # stages of older specs keep their hash
    assert stage.content()["max_length"] == 64


def test_layer_and_pooling_are_part_of_the_evaluate_stage_hash(registry, data):
    default = _evaluate(registry, data)
    one = _evaluate(registry, data, per_task={"tatoeba": {"layer": 1}})
    two = _evaluate(registry, data, per_task={"tatoeba": {"layer": 2}})
    cls = _evaluate(registry, data, per_task={"tatoeba": {"layer": 2, "pooling": "cls"}})
    assert (one.layer, two.layer, cls.layer, cls.pooling) == (1, 2, 2, "cls")
    assert len({default.hash, one.hash, two.hash, cls.hash}) == 4
    alone = _evaluate(registry, data, layer=2, pooling="cls")  # one target: [target] is its own section
    assert alone.hash == cls.hash


def test_the_xtreme_preset_sets_the_scripts_layer_pooling_and_length(registry, data, monkeypatch):
    import xtui.models

    for depth, layer in ((12, 8), (24, 14)):
        monkeypatch.setattr(xtui.models, "encoder_depth", lambda model, depth=depth: depth)
        stage = _evaluate(registry, data, retrieval_preset="xtreme")
        assert (stage.layer, stage.pooling, stage.max_length) == (layer, "mean", 512)
        own = _evaluate(registry, data, retrieval_preset="xtreme", per_task={"tatoeba": {"layer": 3, "max_length": 128}})
        assert (own.layer, own.pooling, own.max_length) == (3, "mean", 128)  # the target's own values win
    bucc = registry.tasks["bucc"].retrieval_presets["xtreme"]
    assert (bucc["pooling"], bucc["layers"], bucc["max_length"]) == ("cls", {12: 8, 24: 20}, 512)


def test_bad_layers_presets_and_targets_are_one_line_errors(registry, data):
    assert "field 'target.per_task.tatoeba.layer': Input should be greater than or equal to 0 (got -1)" in _error(
        registry, data, per_task={"tatoeba": {"layer": -1}})
    assert _error(registry, data, per_task={"tatoeba": {"layer": 3}}) == (
        "t.toml: field 'target.per_task.tatoeba.layer': layer 3 is past the last layer of tiny (2 layers: 0 = "
        "embeddings, 1-2 = its layers)")
    assert "field 'target.per_task.tatoeba.pooling': Input should be 'cls' or 'mean' (got 'max')" in _error(
        registry, data, per_task={"tatoeba": {"pooling": "max"}})
    assert _error(registry, data, retrieval_preset="laser") == (
        "t.toml: field 'target.retrieval_preset': task 'tatoeba' has no retrieval preset 'laser' (valid: xtreme)")
    assert _error(registry, data, retrieval_preset="xtreme").startswith(
        "t.toml: field 'target.retrieval_preset': preset 'xtreme' of 'tatoeba' gives the layer for 12-layer and "
        "24-layer encoders (google-research/xtreme scripts/run_tatoeba.sh")
    assert "tiny has 2: set target.per_task.tatoeba.layer instead" in _error(registry, data, retrieval_preset="xtreme")
    assert _error(registry, data, task="demo_sentiment", layer=4).startswith(
        "t.toml: field 'target.layer': task 'demo_sentiment' (classification) trains a head on the last layer; layer "
        "applies to retrieval tasks (bucc, tatoeba)")


def test_a_shared_pooling_is_the_heads_and_a_retrieval_targets_own_is_its(registry, data):
    spec = spec_data(model="tiny", data_dir=str(data), fewshot={"shots": [0]}, target={
        "tasks": ["demo_sentiment", "tatoeba"], "languages": ["de"], "max_steps": 1, "pooling": "mean", "layer": 1})
    plan = build_plan(parse_spec(spec, "t.toml"), registry, "t.toml")
    tatoeba = [s for s in plan.stages.values() if s.grid.task == "tatoeba"]
    head = [s for s in plan.stages.values() if s.grid.task == "demo_sentiment" and s.type == "target"]
    assert [(s.layer, s.pooling) for s in tatoeba] == [(1, None)] and head[0].pooling == "mean"
    spec["target"]["per_task"] = {"tatoeba": {"pooling": "cls"}}
    plan = build_plan(parse_spec(spec, "t.toml"), registry, "t.toml")
    assert [(s.layer, s.pooling) for s in plan.stages.values() if s.grid.task == "tatoeba"] == [(1, "cls")]


def _tiny_model(layer, pooling):
    import torch
    from transformers import AutoModel, XLMRobertaConfig

    from xtui.kinds.base import TaskModel
    from xtui.kinds.retrieval import RetrievalKind
    from xtui.models import TINY_CONFIG

    torch.manual_seed(0)
    config = XLMRobertaConfig(vocab_size=100, pad_token_id=1, **{k: v for k, v in TINY_CONFIG.items() if k != "model_type"})
    kind = RetrievalKind((), None, 64)
    kind.pooling, kind.layer = pooling, layer
    return TaskModel(AutoModel.from_config(config).eval(), kind.build_head(64, 0.0), kind.encoder_layer())


def test_cls_and_mean_pooling_and_two_layers_give_different_embeddings_on_the_tiny_model():
    import torch

    ids = torch.tensor([[0, 5, 6, 7, 2, 1], [0, 8, 9, 2, 1, 1]])
    mask = (ids != 1).long()
    with torch.no_grad():
        mean, cls, first = (_tiny_model(layer, pooling)(ids, mask) for layer, pooling in
                            ((2, "mean"), (2, "cls"), (1, "mean")))
    assert mean.shape == cls.shape == (2, 64)
    assert not torch.allclose(mean, cls) and not torch.allclose(mean, first)
    with torch.no_grad():
        states = _tiny_model(None, "mean").encoder(ids, attention_mask=mask, output_hidden_states=True).hidden_states
    assert torch.allclose(cls, states[2][:, 0])  # cls: the first token of hidden state 2, exactly
    with pytest.raises(ValueError, match="layer 3 is past the encoder's last layer"):
        _tiny_model(3, "mean")(ids, mask)
