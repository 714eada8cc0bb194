"""Scorers: each task's metrics computed exactly as its official evaluation script computes them.

A scorer turns a task's decoded predictions (what a kind's ``outputs`` gives, what a stage
saves) and its gold references into metrics. Scripts print percentages; scorers give fractions,
like every metric in xtui. A task names its scorer (``Task.scorer``), or gets its kind's default
(registered with the kind); a stage's hash holds the scorer's name and version, so a changed scorer
never passes an old number off as a new one.

Which official code each one reproduces (google-research/xtreme at
838c13b69daafb9328785d16caae2711e4012123 unless said otherwise):

* ``classification``: ``evaluate.py`` ``accuracy`` (XNLI, PAWS-X), plus macro-F1 as a secondary;
  ``accuracy``: the same accuracy alone (XCOPA and other multiple choice).
* ``seqeval``: ``evaluate.py`` ``f1`` on IOB2 tags (PAN-X). XTREME's release pins seqeval 0.0.12;
  on IOB2 tags seqeval >= 1.2 (used here) finds the same chunks.
* ``xtreme_udpos``: ``evaluate.py`` ``f1`` on UD-POS tags with seqeval 0.0.12's chunking
  (``conll_chunks_v0``), which seqeval >= 1.2 changed for tags that are not IOB.
* ``squad``: SQuAD v1.1's ``evaluate-v1.1.py`` (xtreme ``third_party/evaluate_squad.py``; XQuAD,
  TyDiQA GoldP); ``mlqa``: MLQA's ``mlqa_evaluation_v1.py`` (``third_party/evaluate_mlqa.py``).
* ``tatoeba``: ``third_party/evaluate_retrieval.py`` + ``utils_retrieve.similarity_search``: the
  non-English side is indexed and English queries it; the other direction is secondary.
* ``bucc``: ``third_party/utils_retrieve.py`` ``read_candidate2score`` / ``bucc_optimize`` /
  ``bucc_extract`` on mined candidates, then ``evaluate.py`` ``bucc_f1``.
* ``lareqa``: ``third_party/utils_lareqa.py`` ``mean_avg_prec_at_k`` (XTREME-R's mAP@20).
* ``mewslix``: ``third_party/utils_mewslix.py`` ``evaluate`` (``evaluate.py`` ``mewslix_map20``):
  the mean reciprocal rank of each mention's gold entity in its top 20, which XTREME-R calls mAP@20.

Pure Python: seqeval and NumPy are imported only by the scorers that need them.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Callable, Mapping, Optional, Sequence

from .metrics import accuracy as _accuracy
from .metrics import entity_scores, macro_f1, qa_example_scores, token_accuracy


@dataclass(frozen=True)
class Scorer:
    """A named, versioned metric function: ``score(predictions, references, language)``."""

    name: str
    version: str
    """Changes whenever the same predictions could score differently (part of the stage hash)."""
    reproduces: str
    """The official script (and function) this scorer reproduces, in one line."""
    function: Callable[..., dict]

    def score(self, predictions: Any, references: Any, language: Optional[str] = None) -> dict:
        """Metrics (fractions) of ``predictions`` against ``references`` for ``language``."""
        return self.function(predictions, references, language)

    def to_json(self) -> dict:
        return {"name": self.name, "version": self.version}


SCORERS: dict = {}


def register_scorer(name: str, version: str, reproduces: str) -> Callable:
    """Decorator: register ``function(predictions, references, language) -> dict`` as a scorer.

    Plugins call it at import time for scorers of their own; a name is registered once.
    """

    def register(function: Callable) -> Callable:
        if name in SCORERS and SCORERS[name].function is not function:
            raise ValueError(f"scorer {name!r} is already registered")
        SCORERS[name] = Scorer(name, str(version), reproduces, function)
        return function

    return register


def get_scorer(name: str) -> Scorer:
    """The scorer registered as ``name``; ValueError naming the valid ones otherwise."""
    if name not in SCORERS:
        raise ValueError(f"unknown scorer {name!r} (known: {', '.join(sorted(SCORERS))})")
    return SCORERS[name]


def scorer_name(task, kinds: Optional[Mapping] = None) -> Optional[str]:
    """The scorer a task is scored with: its own ``scorer``, else its kind's default (``kinds``: the
    registry's ``KindInfo`` by name; without it, the built-in kinds' defaults)."""
    if getattr(task, "scorer", ""):
        return task.scorer
    if kinds is not None and task.kind in kinds:
        return kinds[task.kind].default_scorer
    from .kinds import builtin_default_scorer

    return builtin_default_scorer(task.kind)


# --------------------------------------------------------------------------- classification


@register_scorer("accuracy", "1", "google-research/xtreme evaluate.py accuracy (XCOPA; multiple choice)")
def score_accuracy(predictions: Sequence, references: Sequence, language: Optional[str] = None) -> dict:
    """``predictions`` and ``references``: one label (id or name) per example."""
    return {"accuracy": _accuracy(list(predictions), list(references))}


@register_scorer("classification", "1", "google-research/xtreme evaluate.py accuracy (XNLI, PAWS-X), "
                 "plus macro-F1 over the labels as a secondary metric")
def score_classification(predictions: Sequence, references: Sequence, language: Optional[str] = None) -> dict:
    """As ``accuracy``, with the macro-F1 of the labels that occur in either side."""
    labels = sorted({*predictions, *references}, key=str)
    index = {label: position for position, label in enumerate(labels)}
    return {**score_accuracy(predictions, references),
            "macro_f1": macro_f1([index[p] for p in predictions], [index[r] for r in references], len(labels))}


# --------------------------------------------------------------------------- tagging


def conll_chunks_v0(sequences: Sequence[Sequence[str]]) -> list:
    """Chunks ``(type, first, last)`` of tag sequences as seqeval 0.0.12 reads them, positions
    counted over the sentences laid end to end with one ``O`` after each.

    A tag's prefix is its first character and its type what follows its last ``-``: ``B-PER``
    is (B, PER), and a POS tag like ``NOUN`` is (N, NOUN), so a run of one POS tag is one chunk,
    and a tag starting with S (SCONJ, SYM) or B is a chunk of its own. A chunk ends after an E
    or S; when a B or I meets a B, S or O; and when the type changes (unless the previous prefix
    is O or "."). One starts at a B or S; at an E or I after an E, S or O; and when the type
    changes (unless this prefix is O or "."). seqeval >= 1.2 reads a POS tag's type differently
    (everything after the first character: CCONJ and SCONJ both become "CONJ", X becomes "_"),
    which is why UD-POS needs this reading to match XTREME's numbers.
    """
    labels = [label for sentence in sequences for label in (*sentence, "O")] + ["O"]
    chunks = []
    previous_prefix, previous_type, start = "O", "", 0
    for position, label in enumerate(labels):
        prefix, type_ = label[0], label.split("-")[-1]
        ends = (previous_prefix in ("E", "S")
                or (previous_prefix in ("B", "I") and prefix in ("B", "S", "O"))
                or (previous_prefix not in ("O", ".") and previous_type != type_))
        starts = (prefix in ("B", "S")
                  or (previous_prefix in ("E", "S", "O") and prefix in ("E", "I"))
                  or (prefix not in ("O", ".") and previous_type != type_))
        if ends:
            chunks.append((previous_type, start, position - 1))
        if starts:
            start = position
        previous_prefix, previous_type = prefix, type_
    return chunks


def chunk_scores(predictions: Sequence[Sequence[str]], references: Sequence[Sequence[str]]) -> dict:
    """Precision, recall and F1 of ``conll_chunks_v0`` chunks (seqeval 0.0.12's micro scores)."""
    gold, found = set(conll_chunks_v0(references)), set(conll_chunks_v0(predictions))
    correct = len(gold & found)
    precision = correct / len(found) if found else 0.0
    recall = correct / len(gold) if gold else 0.0
    f1 = 2 * precision * recall / (precision + recall) if precision + recall > 0 else 0.0
    return {"precision": precision, "recall": recall, "f1": f1}


def _check_tags(predictions: Sequence, references: Sequence) -> None:
    if len(predictions) != len(references):
        raise ValueError(f"{len(predictions)} predicted sentences for {len(references)} gold sentences")
    for number, (predicted, gold) in enumerate(zip(predictions, references), 1):
        if len(predicted) != len(gold):
            raise ValueError(f"sentence {number}: {len(predicted)} predicted tags for {len(gold)} gold tags")


@register_scorer("seqeval", "1", "google-research/xtreme evaluate.py f1 (seqeval over IOB2 chunks; PAN-X)")
def score_seqeval(predictions: Sequence, references: Sequence, language: Optional[str] = None) -> dict:
    """``predictions`` and ``references``: one list of tag names per sentence."""
    _check_tags(predictions, references)
    return {"accuracy": token_accuracy(predictions, references), **entity_scores(predictions, references)}


@register_scorer("xtreme_udpos", "1",
                 "google-research/xtreme evaluate.py f1 on UD-POS tags with seqeval 0.0.12's chunking (XTREME's release)")
def score_xtreme_udpos(predictions: Sequence, references: Sequence, language: Optional[str] = None) -> dict:
    """``predictions`` and ``references``: one list of tag names per sentence."""
    _check_tags(predictions, references)
    return {"accuracy": token_accuracy(predictions, references), **chunk_scores(predictions, references)}


# --------------------------------------------------------------------------- extractive QA


def _qa(predictions: Sequence, references: Sequence, language: Optional[str]) -> dict:
    """Each question scores the best over its references; an unanswered one (None) scores 0, as
    the scripts score a question missing from the predictions file."""
    if len(predictions) != len(references):
        raise ValueError(f"{len(predictions)} predictions for {len(references)} questions")
    if not references:
        return {"exact_match": 0.0, "f1": 0.0, "em_f1_mean": 0.0}
    exact = f1 = 0.0
    for prediction, gold in zip(predictions, references):
        if prediction is None:
            continue
        one_exact, one_f1 = qa_example_scores(prediction, list(gold), language)
        exact += one_exact
        f1 += one_f1
    exact, f1 = exact / len(references), f1 / len(references)
    return {"exact_match": exact, "f1": f1, "em_f1_mean": (exact + f1) / 2}


@register_scorer("squad", "1", "SQuAD v1.1 evaluate-v1.1.py = xtreme third_party/evaluate_squad.py (XQuAD, TyDiQA)")
def score_squad(predictions: Sequence, references: Sequence, language: Optional[str] = None) -> dict:
    """``predictions``: one answer text (None: unanswered) per question; ``references``: the
    question's gold answer texts (none: SQuAD 2.0 "no answer", right when the answer is empty)."""
    return _qa(predictions, references, None)


@register_scorer("mlqa", "1", "MLQA mlqa_evaluation_v1.py = xtreme third_party/evaluate_mlqa.py, per language")
def score_mlqa(predictions: Sequence, references: Sequence, language: Optional[str] = None) -> dict:
    """As ``squad``, with the MLQA script's normalisation for ``language``."""
    if not language:
        raise ValueError("the mlqa scorer needs the language of the answers")
    return _qa(predictions, references, language)


# --------------------------------------------------------------------------- Tatoeba


@register_scorer("tatoeba", "1", "google-research/xtreme third_party/evaluate_retrieval.py tatoeba: the "
                 "non-English side indexed, English queries (utils_retrieve.similarity_search), accuracy")
def score_tatoeba(predictions: Mapping, references: Sequence, language: Optional[str] = None) -> dict:
    """``predictions``: ``{"target_to_source": [...]}`` (each target (English) row's retrieved
    source row, the official direction) and optionally ``"source_to_target"``; ``references``:
    each row's gold index on the other side (row i translates row i: ``range(n)``)."""
    gold = list(references)
    official = _accuracy(list(predictions["target_to_source"]), gold)
    scores = {"accuracy": official, "accuracy_target_to_source": official}
    if predictions.get("source_to_target") is not None:
        scores["accuracy_source_to_target"] = _accuracy(list(predictions["source_to_target"]), gold)
    return scores


# --------------------------------------------------------------------------- BUCC


def sentence_ids(sentences: Sequence) -> dict:
    """``utils_retrieve.read_sent2id``: stripped text -> id, leaving out every text that more
    than one sentence (id) has, since a mined text could not say which of them it is."""
    ids: dict = {}
    repeated = set()
    for sentence_id, text in sentences:
        text = text.strip()
        if text in ids:
            repeated.add(text)
        else:
            ids[text] = sentence_id
    return {text: sentence_id for text, sentence_id in ids.items() if text not in repeated}


def read_candidates(candidates: Sequence, sources: Sequence, targets: Sequence) -> dict:
    """``utils_retrieve.read_candidate2score``: mined ``(score, source text, target text)`` ->
    ``{(source id, target id): best score}``, in the candidates' order; pairs with a text the
    reader left out (``sentence_ids``) are dropped."""
    source_ids, target_ids = sentence_ids(sources), sentence_ids(targets)
    pairs: dict = {}
    for score, source, target in candidates:
        source, target = source.strip(), target.strip()
        if source in source_ids and target in target_ids:
            key = (source_ids[source], target_ids[target])
            pairs[key] = max(float(score), pairs.get(key, float(score)))
    return pairs


def optimal_threshold(pairs: Mapping, gold: set) -> float:
    """``utils_retrieve.bucc_optimize``: the score halfway between the candidate where F1 on
    ``gold`` peaks (first peak) and the next one; 0 when no candidate is right. Where the
    official code fails (the peak is the last candidate: it reads past the end) the threshold is
    that candidate's score, which keeps it."""
    items = sorted(pairs.items(), key=lambda item: -item[1])
    threshold, best, correct = 0.0, 0.0, 0
    for rank, (pair, score) in enumerate(items, 1):
        correct += pair in gold
        if correct:
            precision, recall = correct / rank, correct / len(gold)
            f1 = 2 * precision * recall / (precision + recall)
            if f1 > best:
                best = f1
                threshold = (score + items[rank][1]) / 2 if rank < len(items) else score
    return threshold


def extract_pairs(pairs: Mapping, threshold: float) -> list:
    """``utils_retrieve.bucc_extract``: the pairs scoring at least ``threshold``."""
    return [pair for pair, score in pairs.items() if score >= threshold]


def bucc_f1(predicted: Sequence, gold: Sequence) -> dict:
    """``evaluate.py`` ``bucc_f1``: precision, recall and F1 of predicted id pairs (as sets)."""
    predicted, gold = {tuple(p) for p in predicted}, {tuple(g) for g in gold}
    correct = len(predicted & gold)
    if not correct:
        return {"precision": 0.0, "recall": 0.0, "f1": 0.0}
    precision, recall = correct / len(predicted), correct / len(gold)
    return {"precision": precision, "recall": recall, "f1": 2 * precision * recall / (precision + recall)}


@register_scorer("bucc", "1", "google-research/xtreme third_party/utils_retrieve.py read_candidate2score + "
                 "bucc_optimize (threshold on validation) + bucc_extract, then evaluate.py bucc_f1")
def score_bucc(predictions: Mapping, references: Mapping, language: Optional[str] = None) -> dict:
    """``predictions``: per part, the mined candidates ``[score, source text, target text]``
    (what LASER's ``mine_bitext`` writes). ``references``: ``{"threshold_part": "validation",
    "parts": {part: {"source": [[id, text], ...], "target": [...], "gold": [[source id, target
    id], ...]}}}``. The threshold is chosen on the threshold part and F1 measured on the other
    one; with a single part, on that part itself (an optimistic, oracle threshold)."""
    mined = bucc_pairs(predictions, references)
    validation = bucc_f1(mined["threshold_pairs"], mined["threshold_gold"])
    scores = bucc_f1(mined["pairs"], mined["gold"])
    return {**scores, "threshold": float(mined["threshold"]), "validation_f1": validation["f1"]}


def bucc_pairs(predictions: Mapping, references: Mapping) -> dict:
    """The ``bucc`` scorer's decisions: the ``threshold`` and the extracted id ``pairs`` of the
    scored part (what a submission lists) with its ``gold``, and the same for the threshold part."""
    parts = dict(references["parts"])
    wanted = references.get("threshold_part", "validation")
    if len(parts) == 1:
        chosen = scored = next(iter(parts))
    else:
        others = [part for part in parts if part != wanted]
        if wanted not in parts or len(others) != 1:
            raise ValueError(f"bitext mining needs one {wanted!r} part and one part to score, got {sorted(parts)}")
        chosen, scored = wanted, others[0]

    def read(part: str) -> tuple:
        data = parts[part]
        pairs = read_candidates(predictions.get(part, []), data["source"], data["target"])
        return pairs, {tuple(pair) for pair in data["gold"]}

    chosen_pairs, chosen_gold = read(chosen)
    threshold = optimal_threshold(chosen_pairs, chosen_gold)
    scored_pairs, scored_gold = read(scored)
    return {"threshold": threshold, "part": scored, "pairs": extract_pairs(scored_pairs, threshold), "gold": scored_gold,
            "threshold_pairs": extract_pairs(chosen_pairs, threshold), "threshold_gold": chosen_gold}


# --------------------------------------------------------------------------- LAReQA


def official_ranking(scores) -> Any:
    """Candidate indices best first, exactly as ``utils_lareqa.mean_avg_prec_at_k`` ranks them:
    ``scores.argsort()[::-1]``. Ties keep what NumPy's default (unstable) argsort gives,
    reversed: for a few tied candidates, the later one first."""
    import numpy as np

    return np.asarray(scores).argsort()[::-1]


def average_precision(ranked: Sequence, relevant: Sequence, k: Optional[int]) -> float:
    """``utils_lareqa.average_precision_at_k``: ``ranked`` candidates best first (cut at ``k``),
    ``relevant`` the candidates that answer; divided by min(len(relevant), k)."""
    wanted = set(relevant)
    if not wanted:
        return 0.0
    ranked = list(ranked)[:k] if k else list(ranked)
    seen, hits, total = set(), 0, 0.0
    for rank, candidate in enumerate(ranked, 1):
        if candidate in wanted and candidate not in seen:
            hits += 1
            total += hits / rank
        seen.add(candidate)
    return total / (min(len(wanted), k) if k else len(wanted))


def average_precision_from_ranks(ranks: Sequence, k: Optional[int]) -> float:
    """AP (at ``k``, or full for None) from the 0-based ranks of every relevant candidate."""
    if not ranks:
        return 0.0
    ordered = sorted(int(rank) for rank in ranks)
    total = sum((hit + 1) / (rank + 1) for hit, rank in enumerate(ordered) if k is None or rank < k)
    return total / (min(len(ordered), k) if k else len(ordered))


@register_scorer("lareqa", "1", "google-research/xtreme third_party/utils_lareqa.py mean_avg_prec_at_k "
                 "(XTREME-R mAP@20; full mAP as the LAReQA paper)")
def score_lareqa(predictions: Mapping, references: Mapping, language: Optional[str] = None) -> dict:
    """``predictions``: ``{"ranked": [top-k candidate indices per question], "relevant_ranks":
    [0-based rank of each relevant candidate in the full ranking, per question]}``;
    ``references``: ``{"relevant": [relevant candidate indices per question], "k": 20}``.
    ``map@k`` comes from the ranked lists, ``map`` (full) from the ranks."""
    relevant = list(references["relevant"])
    k = int(references.get("k", 20))
    ranked = list(predictions["ranked"])
    if len(ranked) != len(relevant):
        raise ValueError(f"{len(ranked)} rankings for {len(relevant)} questions")
    if not relevant:
        return {f"map@{k}": 0.0, "map": 0.0}
    scores = {f"map@{k}": sum(average_precision(r, g, k) for r, g in zip(ranked, relevant)) / len(relevant)}
    if predictions.get("relevant_ranks") is not None:
        ranks = list(predictions["relevant_ranks"])
        scores["map"] = sum(average_precision_from_ranks(r, None) for r in ranks) / len(relevant)
    return scores


# --------------------------------------------------------------------------- Mewsli-X


@register_scorer("mewslix", "1", "google-research/xtreme third_party/utils_mewslix.py evaluate (evaluate.py "
                 "mewslix_map20: MRR of the gold entity in the top 20, reported as mAP@20)")
def score_mewslix(predictions: Mapping, references: Mapping, language: Optional[str] = None) -> dict:
    """``predictions``: mention id -> its predicted entity ids, best first; ``references``: mention id ->
    ``[gold entity id]`` (the official files' formats). As the official ``evaluate``: every gold mention
    counts (one without predictions scores 0, predictions without gold are ignored), its top ``k`` = 20
    are searched for the gold id (stripped of surrounding spaces) and the first hit at rank r gives 1/r;
    with one gold entity per mention this is both MRR and mAP@20."""
    k = 20
    ranks = []
    for mention, gold in references.items():
        wanted = gold[0].strip()
        found = [rank for rank, entity in enumerate(list(predictions.get(mention, []))[:k], 1) if entity == wanted]
        ranks.append(1.0 / found[0] if found else 0.0)
    return {f"map@{k}": sum(ranks) / len(ranks) if ranks else 0.0}
