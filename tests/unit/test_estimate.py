"""The cost estimate's arithmetic (xtui.estimate): training schedules, parameter counts against the real
model, a stage's FLOPs from known token lengths, measured throughput and the presets, with golden numbers
computed by hand from the formulas."""

from __future__ import annotations

import json

import pytest

from support.unit_fixtures import registry, spec_data  # noqa: F401  (registry is a fixture)
from xtui import estimate
from xtui.errors import XtuiError
from xtui.estimate import (GPUS, MFU, Lengths, encoder_parameters, estimate_plan, head_parameters, measured_throughput,
                           mixture_schedule, stage_cost, training_schedule)
from xtui.models import TINY_CONFIG
from xtui.plan import build_plan
from xtui.spec import parse_spec


@pytest.mark.parametrize("features, batch, accumulation, max_steps, epochs, steps, seen", [
    (100, 8, 1, None, 2, 26, 200),      # 13 batches an epoch (the last of 4), two epochs
    (100, 8, 1, 5, None, 5, 40),        # max_steps: 5 updates of 8
    (100, 8, 2, None, 1, 7, 100),       # 13 batches, an update every 2 and at the epoch's end: 7
    (100, 8, 2, 3, None, 3, 48),        # 3 updates of 2 batches of 8
    (100, 10, 1, None, 1.5, 15, 150),   # half an epoch more: 5 of its 10 batches
    (4, 4, 1, 3, None, 3, 12),          # a few-shot stage: K=4, batch 4, 3 steps
    (5, 8, 1, 10, None, 10, 50),        # K smaller than the batch: every step sees all 5
])
def test_training_schedule_counts_what_the_trainer_sees(features, batch, accumulation, max_steps, epochs, steps, seen):
    assert training_schedule(features, batch, accumulation, max_steps, epochs) == (steps, seen)


def test_a_proportional_mixture_sees_each_task_once_an_epoch():
    steps, seen = mixture_schedule([30, 10], [0.75, 0.25], batch_size=10, accumulation=1, max_steps=None, epochs=2)
    assert steps == 8  # 3 + 1 batches an epoch
    assert seen == pytest.approx([60, 20])


def test_the_parameter_count_is_the_one_perf_measures_on_the_real_model():
    """encoder_parameters + head_parameters (from the config) = xtui.perf.non_embedding_parameters of the
    model the worker builds (the tiny XLM-R with its pooler, and each built-in kind's head)."""
    from transformers import AutoModel, XLMRobertaConfig

    from xtui.kinds.base import TaskModel
    from xtui.kinds.classification import ClassificationHead
    from xtui.kinds.multiple_choice import ChoiceHead
    from xtui.kinds.qa import SpanHead
    from xtui.kinds.tagging import TaggingHead
    from xtui.perf import non_embedding_parameters

    config = {k: v for k, v in TINY_CONFIG.items() if k != "model_type"}
    encoder = AutoModel.from_config(XLMRobertaConfig(vocab_size=1000, **config))
    hidden = TINY_CONFIG["hidden_size"]
    heads = {"classification": ClassificationHead(hidden, 3, 0.1), "tagging": TaggingHead(hidden, 17, 0.1),
             "qa": SpanHead(hidden, 0.1), "multiple_choice": ChoiceHead(hidden, 0.1)}
    classes = {"classification": 3, "tagging": 17, "qa": 0, "multiple_choice": 0}
    for kind, head in heads.items():
        expected = non_embedding_parameters(TaskModel(encoder, head))
        assert encoder_parameters(TINY_CONFIG) + head_parameters(kind, hidden, classes[kind]) == expected, kind
    # by hand: LayerNorm 2h + 2 layers x (4h^2 + 2hi + 9h + i) + pooler h^2 + h, h = 64, i = 128
    assert encoder_parameters(TINY_CONFIG) == 128 + 2 * (4 * 64 * 64 + 2 * 64 * 128 + 9 * 64 + 128) + 64 * 64 + 64


class FixedLengths:
    """A measurer whose every data file has 100 examples of 20 tokens (one feature each)."""

    def __init__(self, registry, examples=100, tokens=20.0):
        self.registry = registry
        self.examples, self.tokens = examples, tokens

    def lengths(self, stage, task, language, split, kind):
        return Lengths(self.examples, 1.0, self.tokens, how="measured")


def _plan(registry, **sections):
    data = spec_data(intermediate={"tasks": ["none"]},
                     target={"task": "demo_sentiment", "languages": ["de"], "epochs": 2, "batch_size": 8},
                     fewshot={"shots": [0, 4], "shot_sets": 1, "steps": 3, "batch_size": 4}, **sections)
    return build_plan(parse_spec(data), registry)


def test_a_stage_costs_six_p_t_to_train_and_two_p_t_to_evaluate(registry):
    plan = _plan(registry)
    stages = {s.type.value + (f"-{s.language}" if s.type.value == "evaluate" else ""): s for s in plan.order()}
    measurer = FixedLengths(registry)
    params = encoder_parameters(TINY_CONFIG)
    head = head_parameters("classification", 64, 2)
    target = stage_cost(stages["target"], measurer, params, 64)
    assert (target.steps, target.train_examples, target.train_tokens) == (26, 200, 4000)  # 2 epochs of 100
    assert target.flops == 6 * (params + head) * 4000
    evaluate = stage_cost(stages["evaluate-de"], measurer, params, 64)
    assert (evaluate.eval_examples, evaluate.eval_tokens) == (100, 2000)
    assert evaluate.flops == 2 * (params + head) * 2000
    fewshot = stage_cost(stages["fewshot"], measurer, params, 64)
    # 3 steps of the 4 shots (20 tokens each), then the 100 test examples
    assert (fewshot.train_examples, fewshot.train_tokens, fewshot.eval_tokens) == (12, 240, 2000)
    assert fewshot.flops == 6 * (params + head) * 240 + 2 * (params + head) * 2000


def test_the_totals_are_the_sum_of_the_types_and_done_stages_cost_nothing(registry, monkeypatch, tmp_path):
    monkeypatch.setenv("XTUI_CACHE_DIR", str(tmp_path / "cache"))
    monkeypatch.setattr(estimate, "Measurer", lambda registry, sample, cache_file: _Saving(registry))
    plan = _plan(registry)
    target = next(s for s in plan.order() if s.type.value == "target")
    result = estimate_plan(plan, {target.hash: True}, registry, gpu="h100")
    rows = result["types"]
    assert rows["target"] == {**rows["target"], "stages": 1, "done": 1, "flops": 0.0, "train_examples": 0.0}
    for key in ("flops", "gpu_hours", "train_tokens", "eval_examples"):
        assert result["total"][key] == pytest.approx(sum(row[key] for row in rows.values()))
    assert result["total"]["done"] == 1 and result["total"]["stages"] == len(plan.stages)
    assert result["total"]["gpu_hours"] == pytest.approx(result["total"]["flops"] / (GPUS["h100"].peak * MFU) / 3600)
    assert "H100" in result["throughput"]["evaluate"]["describe"] and "40%" in result["throughput"]["evaluate"]["describe"]


class _Saving(FixedLengths):
    cache: dict = {}
    tokenizer_lines: dict = {}
    published: dict = {}
    hits = 0
    cache_file = None

    def save(self):
        pass


def test_an_unknown_gpu_is_one_line_naming_the_presets(registry):
    with pytest.raises(XtuiError, match=r"--gpu 'tpu': not a preset \(valid: h100, a100, v100, l40s, cpu\)"):
        estimate_plan(_plan(registry), {}, registry, gpu="tpu")


def test_run_flags_refuse_estimate_without_dry_run_and_gpu_without_estimate():
    from xtui.cli import _check_run_flags

    with pytest.raises(XtuiError, match="--estimate .* needs --dry-run"):
        _check_run_flags(False, False, False, estimate=True)
    with pytest.raises(XtuiError, match="--gpu sets the throughput of --estimate"):
        _check_run_flags(True, False, False, estimate=False, gpu="h100")
    with pytest.raises(XtuiError, match="valid: h100, a100, v100, l40s, cpu"):
        _check_run_flags(True, False, False, estimate=True, gpu="h200")


def _stage_folder(home, name, fingerprint, type_, flops_per_second, seconds, peak=None):
    folder = home / "stages" / name
    folder.mkdir(parents=True)
    (folder / "stage.json").write_text(json.dumps({"model": {"fingerprint": fingerprint}}))
    train = {"flops_per_second": flops_per_second, "training_seconds": seconds, **({"peak_flops": peak} if peak else {})}
    (folder / "result.json").write_text(json.dumps({"status": "done", "type": type_, "device": "cuda:0", "train": train}))


def test_measured_throughput_is_the_training_flops_over_the_training_seconds_of_the_same_model(tmp_path):
    _stage_folder(tmp_path, "a" * 16, "m1", "target", 10e12, 100, peak=100e12)
    _stage_folder(tmp_path, "b" * 16, "m1", "fewshot", 1e12, 300, peak=100e12)
    _stage_folder(tmp_path, "c" * 16, "other", "target", 99e12, 1000)
    measured = measured_throughput(tmp_path, "m1")
    assert measured["target"].flops == pytest.approx(10e12)
    assert measured["fewshot"].flops == pytest.approx(1e12)
    # (10e12 x 100 + 1e12 x 300) / 400 s
    assert measured["all"].flops == pytest.approx(1.3e15 / 400)
    assert measured["all"].mfu == pytest.approx(1.3e15 / (100e12 * 400))
    assert measured["all"].stages == 2 and measured_throughput(tmp_path, "nothing") == {}


# -- data that is not on this machine: published split sizes and typical lengths ------------------
@pytest.mark.parametrize("task, language, split, expected", [
    # huggingface/datasets datasets/xnli/dataset_infos.json @ d7dfbc83: every language 2,490 / 5,010
    ("xnli", "de", "test", 5010), ("xnli", "sw", "validation", 2490),
    # ... datasets/glue/dataset_infos.json mnli train (XNLI's English training data)
    ("xnli", "en", "train", 392702),
    # ... datasets/xtreme/dataset_infos.json PAN-X.ta (train 15,000) and udpos.English (train 21,253)
    ("panx", "ta", "train", 15000), ("udpos", "en", "train", 21253), ("udpos", "tl", "test", 55),
    # ... datasets/xtreme/dataset_infos.json MLQA.en.en test 11,590, XQuAD.<lang> 1,190
    ("mlqa", "en", "test", 11590), ("xquad", "th", "test", 1190),
    # ... datasets/wikiann/dataset_infos.json uk (XTREME-R's PAN-X languages): train 20,000
    ("panx", "uk", "train", 20000),
    # TensorFlow Datasets catalog tydi_qa, split validation-ar: 921
    ("tydiqa", "ar", "test", 921),
    # ... datasets/squad/dataset_infos.json train 87,599 (XQuAD trains on SQuAD v1.1)
    ("xquad", "en", "train", 87599), ("squad_v1", "en", "train", 87599),
    # BUCC's test is its validation part + its test part: bucc18.de 1,038 + 9,580
    ("bucc", "de", "test", 1038 + 9580),
    # LAReQA's test pool is every XQuAD-R language's 1,190 questions (11 languages)
    ("lareqa", "de", "test", 11 * 1190),
    # not sourced: stays unknown
    ("tydiqa", "ko", "test", None), ("tydiqa", "en", "train", None), ("ccg", "en", "train", None),
])
def test_published_sizes_are_the_cited_ones(registry, task, language, split, expected):
    assert estimate.published_size(registry.task(task), language, split) == expected


def test_typical_lengths_take_the_max_length_entry_cap_at_a_smaller_one_or_say_upper_bound(registry):
    xquad = registry.task("xquad")
    per_example, per_feature, how = estimate.typical_lengths(xquad, 384)
    entry = estimate._tables()[1]["xquad"]["384"]
    assert (per_example, per_feature) == (entry[0], entry[1]) and "measured on xquad" in how
    _, capped, how = estimate.typical_lengths(xquad, 64)  # the 128 entry, each feature cut to 64 tokens
    assert capped == 64.0 and "max_length 128" in how
    assert estimate.typical_lengths(registry.task("qqp"), 256)[:2] == (1.0, 256.0)  # no sample: an upper bound
    assert "upper bound" in estimate.typical_lengths(registry.task("qqp"), 256)[2]
    assert "borrowed" in estimate.typical_lengths(registry.task("mnli"), 128)[2]


def test_local_data_wins_over_the_published_sizes(registry, shared_data, tmp_path, monkeypatch):
    """The same (task, language, split) is measured on the local file when there is one, and sized from the
    table (never written to the lengths cache) when there is none."""
    from types import SimpleNamespace

    monkeypatch.setenv("HF_HOME", str(tmp_path / "hf"))  # no Hub copy of anything
    model = {"name": "xlm-roberta-large", "source": "FacebookAI/xlm-roberta-large", "fingerprint": "unit"}
    cache = tmp_path / "lengths.json"
    local = SimpleNamespace(input_length=128, data_dir=str(shared_data), misaligned_answers=None, model=model)
    absent = SimpleNamespace(input_length=128, data_dir=str(tmp_path / "empty"), misaligned_answers=None, model=model)
    measurer = estimate.Measurer(registry, sample=20, cache_file=cache)
    target = registry.kinds["classification"].target
    here = measurer.lengths(local, "xnli", "de", "test", target)
    rows = sum(1 for line in (shared_data / "xnli" / "de" / "test.jsonl").open(encoding="utf-8") if line.strip())
    assert (here.examples, here.sized, here.sampled) == (rows, "", 20)  # the shared sample's rows, measured
    away = measurer.lengths(absent, "xnli", "de", "test", target)
    assert (away.examples, away.sized, away.how) == (5010, "table", "published")
    measurer.save()
    assert len(json.loads(cache.read_text())) == 1  # the measured one only
