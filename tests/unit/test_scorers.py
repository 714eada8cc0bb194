"""The scorer registry: every task is scored by a named, versioned scorer that its stages hash,
plus the scorers' own small cases (seqeval 0.0.12 chunks, BUCC's threshold search, AP by ranks)."""

from __future__ import annotations

from dataclasses import replace

import pytest

from support.unit_fixtures import registry, spec_data  # noqa: F401  (registry is a fixture)
from xtui.plan import build_plan
from xtui.scorers import (SCORERS, average_precision, average_precision_from_ranks, conll_chunks_v0, get_scorer,
                          optimal_threshold, read_candidates, scorer_name)
from xtui.spec import parse_spec
from xtui.tasks import validate_task

XTREME_SCORERS = {"xnli": "classification", "pawsx": "classification", "udpos": "xtreme_udpos", "panx": "seqeval",
                  "xquad": "squad", "mlqa": "mlqa", "tydiqa": "squad", "bucc": "bucc", "tatoeba": "tatoeba",
                  "lareqa": "lareqa", "xcopa": "accuracy"}


def test_every_task_has_a_registered_versioned_scorer(registry):
    for name, task in registry.tasks.items():
        scorer = get_scorer(scorer_name(task))
        assert scorer.version and scorer.reproduces, name
    for name, expected in XTREME_SCORERS.items():
        assert registry.tasks[name].scorer == expected  # declared by the task, not left to a default
    with pytest.raises(ValueError, match="unknown scorer 'nope'.*xtreme_udpos"):
        get_scorer("nope")


def test_an_unknown_scorer_makes_the_task_invalid(registry):
    task = replace(registry.tasks["udpos"], scorer="seqeval_0012")
    assert any("unknown scorer 'seqeval_0012'" in problem for problem in validate_task(task, sorted(registry.kinds)))


def test_the_scorer_name_and_version_are_in_every_stage_hash(registry, monkeypatch):
    data = spec_data(intermediate={"tasks": ["demo_nli"], "max_steps": 2}, fewshot={"shots": [0, 2]})
    plan = build_plan(parse_spec(data, "s.toml"), registry, "s.toml")
    for stage in plan.stages.values():
        assert stage.config["scorer"] == get_scorer(scorer_name(registry.tasks[stage.config["task"]])).to_json()
    bumped = replace(SCORERS["classification"], version="999")
    monkeypatch.setitem(SCORERS, "classification", bumped)
    again = build_plan(parse_spec(data, "s.toml"), registry, "s.toml")
    assert not set(plan.stages) & set(again.stages)  # demo tasks are classification: every stage changes


# --------------------------------------------------------------------------- seqeval 0.0.12's chunks


def test_chunks_of_pos_tags_as_seqeval_0012():
    # a run of one POS tag is one chunk; S-initial tags (SCONJ, SYM) are single chunks
    assert conll_chunks_v0([["NOUN", "NOUN", "VERB", "SCONJ", "SCONJ", "X"]]) == [
        ("NOUN", 0, 1), ("VERB", 2, 2), ("SCONJ", 3, 3), ("SCONJ", 4, 4), ("X", 5, 5)]
    # sentences are laid end to end with an O after each: chunks never cross sentences
    assert conll_chunks_v0([["NOUN"], ["NOUN"]]) == [("NOUN", 0, 0), ("NOUN", 2, 2)]
    # IOB2 as usual, an I- after O starts a chunk
    assert conll_chunks_v0([["B-PER", "I-PER", "O", "I-LOC"]]) == [("PER", 0, 1), ("LOC", 3, 3)]


def test_udpos_scorer_counts_and_token_accuracy():
    scores = get_scorer("xtreme_udpos").score([["NOUN", "NOUN", "VERB"]], [["NOUN", "ADJ", "VERB"]])
    # gold chunks NOUN(0), ADJ(1), VERB(2); predicted NOUN(0-1), VERB(2): one of 2 predicted right
    assert scores == pytest.approx({"accuracy": 2 / 3, "precision": 0.5, "recall": 1 / 3, "f1": 0.4})
    with pytest.raises(ValueError, match="sentence 1: 2 predicted tags for 3 gold tags"):
        get_scorer("xtreme_udpos").score([["NOUN", "NOUN"]], [["NOUN", "ADJ", "VERB"]])


# --------------------------------------------------------------------------- QA, Tatoeba


def test_an_unanswered_question_scores_zero_as_in_the_scripts():
    # gold "the" normalises to nothing: an empty answer would match it, an unanswered one does not
    assert get_scorer("squad").score([None], [["the"]])["exact_match"] == 0.0
    assert get_scorer("squad").score([""], [["the"]])["exact_match"] == 1.0
    with pytest.raises(ValueError, match="language"):
        get_scorer("mlqa").score(["a"], [["a"]])


def test_tatoeba_headline_direction_and_secondary():
    scores = get_scorer("tatoeba").score({"target_to_source": [0, 1, 1], "source_to_target": [0, 1, 2]}, [0, 1, 2])
    assert scores == pytest.approx({"accuracy": 2 / 3, "accuracy_target_to_source": 2 / 3, "accuracy_source_to_target": 1})


# --------------------------------------------------------------------------- BUCC


def test_reader_keeps_the_best_score_of_a_pair_and_drops_shared_texts():
    sources = [["de-1", "Ja. "], ["de-2", "Nein."], ["de-3", "Nein."]]
    targets = [["en-1", "Yes."], ["en-2", "No."]]
    candidates = [[3.0, "Ja.", "Yes."], [2.5, " Ja. ", "Yes."], [2.0, "Nein.", "No."], [1.0, "Ja.", "No."]]
    assert read_candidates(candidates, sources, targets) == {("de-1", "en-1"): 3.0, ("de-1", "en-2"): 1.0}


def test_threshold_halfway_after_the_f1_peak():
    pairs = {("a", "1"): 4.0, ("b", "2"): 3.0, ("c", "9"): 2.0, ("d", "4"): 1.0}
    gold = {("a", "1"), ("b", "2"), ("d", "4")}
    # F1 after each: 0.5, 0.8, 0.667, 0.857 (last): the official code reads past the end there;
    # xtui keeps the last candidate (its own score)
    assert optimal_threshold(pairs, gold) == 1.0
    assert optimal_threshold(dict(list(pairs.items())[:3]), gold) == 2.5  # peak at 2nd: (3 + 2) / 2
    assert optimal_threshold(pairs, {("z", "z")}) == 0.0  # nothing right: 0, as bucc_optimize


# --------------------------------------------------------------------------- LAReQA


@pytest.mark.parametrize("k", [1, 2, 3, 20, None])
def test_average_precision_from_ranks_equals_the_ranked_list(k):
    ranked = [4, 0, 7, 2, 9, 1]
    relevant = [0, 2, 1, 5]  # 5 is not retrieved within the list
    ranks = [1, 3, 5, 6]
    assert average_precision_from_ranks(ranks, k) == pytest.approx(average_precision(ranked + [5], relevant, k))
