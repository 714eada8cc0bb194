"""xtui's scorers against the official code itself, on many random inputs with planted ties and
repeats. Test-only, and skipped unless the official code is at hand (nothing of it is copied):

* ``XTUI_SEQEVAL_0012_SRC``: an unpacked seqeval 0.0.12 sdist (``pip download seqeval==0.0.12``),
  XTREME's release pin, for the UD-POS chunking;
* ``XTUI_XTREME_SRC``: a checkout of google-research/xtreme, for ``third_party/utils_lareqa.py``
  and (with ``faiss`` importable, e.g. faiss-cpu) ``third_party/utils_retrieve.py``.
"""

from __future__ import annotations

import contextlib
import importlib.util
import io
import os
import random
from pathlib import Path

import numpy as np
import pytest

from xtui.scorers import chunk_scores, conll_chunks_v0

UPOS = ("ADJ", "ADP", "ADV", "AUX", "CCONJ", "DET", "INTJ", "NOUN", "NUM", "PART", "PRON", "PROPN", "PUNCT",
        "SCONJ", "SYM", "VERB", "X")
IOB = ("O", "B-PER", "I-PER", "B-ORG", "I-ORG", "B-LOC", "I-LOC")
ODD = ("O", ".", "E-PER", "S-LOC", "B-MISC", "I-MISC", "E-MISC", "OTHER", "S", "B-A-B")


def _module(variable: str, relative: str, name: str):
    root = os.environ.get(variable)
    if not root or not (Path(root) / relative).is_file():
        pytest.skip(f"set {variable} to run this cross-check against the official code")
    spec = importlib.util.spec_from_file_location(name, Path(root) / relative)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope="module")
def seqeval_0012():
    return _module("XTUI_SEQEVAL_0012_SRC", "seqeval/metrics/sequence_labeling.py", "seqeval_0012_sequence_labeling")


@pytest.fixture(scope="module")
def utils_lareqa():
    return _module("XTUI_XTREME_SRC", "third_party/utils_lareqa.py", "xtreme_utils_lareqa")


@pytest.fixture(scope="module")
def utils_retrieve():
    pytest.importorskip("faiss")
    return _module("XTUI_XTREME_SRC", "third_party/utils_retrieve.py", "xtreme_utils_retrieve")


@pytest.mark.parametrize("tags", [UPOS, IOB, UPOS + IOB + ODD])
def test_chunks_are_seqeval_0012s(seqeval_0012, tags):
    rng = random.Random(len(tags))
    for _ in range(400):
        gold = [[rng.choice(tags) for _ in range(rng.randint(1, 9))] for _ in range(rng.randint(1, 4))]
        predicted = [[tag if rng.random() < 0.6 else rng.choice(tags) for tag in sentence] for sentence in gold]
        assert conll_chunks_v0(gold) == seqeval_0012.get_entities(gold)
        official = (seqeval_0012.precision_score(gold, predicted), seqeval_0012.recall_score(gold, predicted),
                    seqeval_0012.f1_score(gold, predicted))
        ours = chunk_scores(predicted, gold)
        assert (ours["precision"], ours["recall"], ours["f1"]) == pytest.approx(official, abs=1e-12)


def test_lareqa_map_is_utils_lareqas(utils_lareqa):
    """XQuAD-R-shaped data in three languages, through utils_lareqa.load_data and
    mean_avg_prec_at_k, against pool_layout + the lareqa scorer. Candidates are encoded as one of
    three vectors and questions as one of three others, so most scores tie exactly."""
    from xtui.kinds.answer_retrieval import pool_layout
    from xtui.retrieval import lareqa_rankings
    from xtui.scorers import get_scorer

    rng = random.Random(7)
    generator = np.random.default_rng(11)
    vectors = generator.normal(size=(6, 8)).astype(np.float32)
    vectors /= np.linalg.norm(vectors, axis=1, keepdims=True)

    def encode(text: str, question: bool = False) -> np.ndarray:
        return vectors[sum(map(ord, text)) % 3 + (3 if question else 0)]

    languages = ("ar", "de", "en")
    documents, rows = {}, []
    for language in languages:
        paragraphs = []
        for p in range(4):
            sentences = [f"{language} p{p} s{s} {'x' * rng.randint(0, 5)}." for s in range(rng.randint(2, 5))]
            context, breaks = "", []
            for sentence in sentences:
                breaks.append([len(context), len(context) + len(sentence)])
                context += sentence + " "
            qas = []
            for q in range(3):
                start = breaks[rng.randrange(len(breaks))][0] + 2
                qid = f"q{p}-{q}"
                qas.append({"id": qid, "question": f"{language} question {qid} {'?' * rng.randint(1, 4)}",
                            "answers": [{"text": context[start:start + 2], "answer_start": start}]})
                rows.append({"id": qid, "language": language, "context": context, "question": qas[-1]["question"],
                             "answers": {"text": [context[start:start + 2]], "answer_start": [start]},
                             "sentence_breaks": breaks})
            paragraphs.append({"context": context, "qas": qas, "sentence_breaks": breaks})
        documents[language] = {"data": [{"title": "t", "paragraphs": paragraphs}]}

    questions, candidates = utils_lareqa.load_data(documents)
    for question in questions.as_list():
        question.encoding = encode(question.question, question=True)
    for candidate in candidates.as_list():
        candidate.encoding = {"sentences_and_contexts": encode((candidate.sentence + candidate.context).replace("\n", ""))}
    printed = io.StringIO()
    with contextlib.redirect_stdout(printed):
        utils_lareqa.mean_avg_prec_at_k(questions, candidates, k=20)
    official = float(printed.getvalue().split("sentences_and_contexts: ")[1].split()[0])

    per_language = []
    for language in languages:
        layout = pool_layout(rows, language)
        query_vectors = np.array([encode(rows[i]["question"], question=True) for i in layout["queries"]])
        candidate_vectors = np.array([encode(text) for text in layout["candidates"]])
        outputs = lareqa_rankings(query_vectors, candidate_vectors, layout["relevant"], k=20)
        scores = get_scorer("lareqa").score(outputs, {"relevant": layout["relevant"], "k": 20})
        per_language.append((scores["map@20"], len(layout["queries"])))
    # the official number is over every question of every language at once
    ours = sum(value * count for value, count in per_language) / sum(count for _, count in per_language)
    assert ours == pytest.approx(official, abs=1e-12)


def _write_lines(path: Path, lines) -> None:
    path.write_text("".join(f"{line}\n" for line in lines), encoding="utf-8")


def test_bucc_is_utils_retrieves(utils_retrieve, tmp_path):
    """Random sentences with repeated texts, mined and read by mine_bitext + bucc_eval
    (threshold on validation) + read_candidate2score / bucc_extract (test), against the retrieval
    kind's mining and the bucc scorer."""
    from xtui.kinds.retrieval import RetrievalKind

    rng = np.random.default_rng(3)

    class Texts:  # a tokenizer stand-in that remembers the texts to embed
        def __call__(self, texts, truncation=True, max_length=None):
            self.texts = list(texts)
            return {"input_ids": [[1] for _ in texts], "attention_mask": [[1] for _ in texts]}

    examples, meaning = [], {}
    for part, count in (("validation", 30), ("test", 40)):
        for i in range(count):
            source, target = f"{part} src {i}", f"{part} tgt {i}"
            if i % 7 == 3:
                source = f"{part} src {i - 1}"  # the same text as another sentence
            vector = rng.normal(size=16)
            meaning.setdefault(source, vector + 0.3 * rng.normal(size=16))
            meaning.setdefault(target, vector + 0.3 * rng.normal(size=16))
            aligned = i % 5 != 0
            examples.append({"part": part, "source": source, "target": target if aligned else None,
                             "source_id": f"de-{part}-{i}", "target_id": f"en-{part}-{i}" if aligned else None})
            if not aligned:
                examples.append({"part": part, "source": None, "target": target, "target_id": f"en-{part}-{i}"})
    tokenizer = Texts()
    kind = RetrievalKind((), tokenizer, 32, {"mining": True})
    features = kind.features(examples)
    ours = kind.metrics([meaning[text] for text in tokenizer.texts], examples, features)

    files = {}
    for part in ("validation", "test"):
        rows = [e for e in examples if e["part"] == part]
        prefix = tmp_path / part
        for side, field, id_field in (("src", "source", "source_id"), ("trg", "target", "target_id")):
            kept = [(e[id_field], e[field]) for e in rows if e[field]]
            _write_lines(Path(f"{prefix}.{side}.txt"), [text for _, text in kept])
            _write_lines(Path(f"{prefix}.{side}.id"), [key for key, _ in kept])
            files[part, side] = np.array([meaning[text] for _, text in kept], dtype=np.float32)
        _write_lines(Path(f"{prefix}.gold"), [f"{e['source_id']}\t{e['target_id']}" for e in rows if e["source"] and e["target"]])
        with contextlib.redirect_stdout(io.StringIO()):
            utils_retrieve.mine_bitext(files[part, "src"], files[part, "trg"], f"{prefix}.src.txt", f"{prefix}.trg.txt",
                                       f"{prefix}.candidates", dist="cosine")
    names = lambda part: [str(tmp_path / f"{part}.{suffix}") for suffix in ("src.txt", "trg.txt", "src.id", "trg.id")]
    with contextlib.redirect_stdout(io.StringIO()):
        validation = utils_retrieve.bucc_eval(str(tmp_path / "validation.candidates"), str(tmp_path / "validation.gold"),
                                              *names("validation"), None)
        pairs = utils_retrieve.read_candidate2score(str(tmp_path / "test.candidates"), *names("test"))
    extracted = set(utils_retrieve.bucc_extract(pairs, validation["best-threshold"], None))
    gold = {line for line in (tmp_path / "test.gold").read_text().splitlines()}
    correct = len(extracted & gold)
    precision, recall = correct / len(extracted), correct / len(gold)
    assert ours["threshold"] == pytest.approx(validation["best-threshold"], rel=1e-5)
    assert ours["validation_f1"] == pytest.approx(validation["F1"] / 100, abs=1e-9)
    assert ours["precision"] == pytest.approx(precision, abs=1e-9)
    assert ours["recall"] == pytest.approx(recall, abs=1e-9)
    assert ours["f1"] == pytest.approx(2 * precision * recall / (precision + recall), abs=1e-9)


def test_tatoeba_is_similarity_search(utils_retrieve):
    from xtui.retrieval import nearest_indices

    rng = np.random.default_rng(5)
    english = rng.normal(size=(200, 24)).astype(np.float32)
    other = (english + 0.9 * rng.normal(size=english.shape)).astype(np.float32)
    official = utils_retrieve.similarity_search(other.copy(), english.copy(), 24, normalize=True).ravel()
    assert nearest_indices(english, other).tolist() == official.tolist()
    assert 0.2 < float(np.mean(official == np.arange(200))) < 1.0  # the case is neither trivial nor hopeless
