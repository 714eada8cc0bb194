"""QA metrics against values computed by hand: the SQuAD v1.1 script's normalisation and the
MLQA script's per-language rules (articles, Unicode punctuation, Chinese segmentation)."""

from __future__ import annotations

import pytest

from xtui.metrics import (
    MLQA_ARTICLES,
    mixed_segmentation,
    mlqa_normalize,
    qa_example_scores,
    qa_scores,
    squad_normalize,
)

# --------------------------------------------------------------------------- SQuAD v1.1


def test_squad_normalisation():
    assert squad_normalize("The Eiffel Tower") == "eiffel tower"
    assert squad_normalize("A cat and an apple") == "cat and apple"
    assert squad_normalize("  New\tYork \n City  ") == "new york city"
    # ASCII punctuation is deleted, not replaced by a space
    assert squad_normalize("Eiffel-Tower!") == "eiffeltower"
    assert squad_normalize("U.S.") == "us"
    # articles only as whole words
    assert squad_normalize("theatre another") == "theatre another"
    # non-ASCII punctuation survives in SQuAD v1.1 (not in MLQA)
    assert squad_normalize("„Faust“") == "„faust“"


def test_squad_exact_match_and_f1_by_hand():
    # pred tokens [big, red, dog], gold [red, dog]: precision 2/3, recall 1 -> F1 0.8
    assert qa_example_scores("the big red dog", ["Red dog."]) == pytest.approx((0.0, 0.8))
    assert qa_example_scores("The Denver Broncos!", ["Denver Broncos"]) == (1.0, 1.0)
    assert qa_example_scores("Paris", ["London"]) == (0.0, 0.0)
    # repeated tokens count with multiplicity: pred [a1 a1 b], gold [a1 b b] -> common {a1:1, b:1}
    assert qa_example_scores("x x y", ["x y y"]) == pytest.approx((0.0, 2 / 3))


def test_best_over_several_references():
    # against "Denver Broncos": p 1, r 1/2 -> 2/3; against "the Denver Broncos team": p 1, r 1/3 -> 1/2
    assert qa_example_scores("Broncos", ["Denver Broncos", "the Denver Broncos team"]) == pytest.approx((0.0, 2 / 3))
    # exact match and F1 are maximised separately
    exact, f1 = qa_example_scores("Denver Broncos", ["Broncos", "Denver Broncos", "Broncos of Denver"])
    assert (exact, f1) == (1.0, 1.0)


def test_no_answer_questions_score_as_squad_2():
    assert qa_example_scores("", []) == (1.0, 1.0)
    assert qa_example_scores("the", []) == (1.0, 1.0)  # normalises to nothing
    assert qa_example_scores("Paris", []) == (0.0, 0.0)
    assert qa_example_scores("", ["Paris"]) == (0.0, 0.0)


def test_corpus_scores_average_over_questions():
    predictions = ["Denver Broncos", "the big red dog", "Paris"]
    references = [["Denver Broncos"], ["red dog"], ["London", "Rome"]]
    scores = qa_scores(predictions, references)
    assert scores["exact_match"] == pytest.approx(1 / 3)
    assert scores["f1"] == pytest.approx((1 + 0.8 + 0) / 3)
    assert scores["em_f1_mean"] == pytest.approx((1 / 3 + 1.8 / 3) / 2)
    assert qa_scores([], []) == {"exact_match": 0.0, "f1": 0.0, "em_f1_mean": 0.0}
    with pytest.raises(ValueError):
        qa_scores(["a"], [])


# --------------------------------------------------------------------------- MLQA


def test_mlqa_german_articles():
    assert mlqa_normalize("Der Vertrag von Versailles", "de") == "vertrag von versailles"
    assert mlqa_normalize("eines Tages, dem Hund", "de") == "tages hund"
    assert qa_example_scores("Der Vertrag von Versailles", ["Vertrag von Versailles"], "de") == (1.0, 1.0)
    # SQuAD v1.1 keeps "der": 3 of 4 predicted tokens match, recall 1 -> F1 6/7
    assert qa_example_scores("Der Vertrag von Versailles", ["Vertrag von Versailles"]) == pytest.approx((0.0, 6 / 7))
    # German quotation marks are Unicode punctuation
    assert mlqa_normalize("„Faust“", "de") == "faust"


def test_mlqa_spanish_and_vietnamese_articles():
    assert mlqa_normalize("La Casa Blanca", "es") == "casa blanca"
    assert mlqa_normalize("unos libros y las casas", "es") == "libros y casas"
    assert qa_example_scores("¡La Casa Blanca!", ["casa blanca"], "es") == (1.0, 1.0)
    assert mlqa_normalize("những con mèo của tôi", "vi") == "con mèo tôi"


def test_mlqa_arabic_removes_every_al():
    # The script's pattern removes every "ال", not only the prefix; "،" (U+060C) is punctuation.
    assert mlqa_normalize("الكتاب، الأحمر", "ar") == "كتاب أحمر"
    assert mlqa_normalize("مال", "ar") == "م"
    assert qa_example_scores("الكتاب", ["كتاب"], "ar") == (1.0, 1.0)


def test_mlqa_hindi_has_no_articles_but_loses_the_danda():
    assert mlqa_normalize("भारत की राजधानी।", "hi") == "भारत की राजधानी"


def test_mlqa_chinese_mixed_segmentation():
    assert mixed_segmentation("2008年北京 奥运会") == ["2008", "年", "北", "京", "奥", "运", "会"]
    assert mlqa_normalize("北京，上海。", "zh") == "北 京 上 海"
    # characters are tokens: [北 京 大 学] vs [北 京]: precision 1/2, recall 1 -> F1 2/3
    assert qa_example_scores("北京大学", ["北京"], "zh") == pytest.approx((0.0, 2 / 3))
    # SQuAD v1.1 sees one token each: no overlap
    assert qa_example_scores("北京大学", ["北京"]) == (0.0, 0.0)
    assert qa_example_scores("《红楼梦》", ["红楼梦"], "zh") == (1.0, 1.0)


def test_mlqa_english_uses_unicode_punctuation():
    assert mlqa_normalize("The “quoted” answer…", "en") == "quoted answer"
    assert squad_normalize("The “quoted” answer…") == "“quoted” answer…"


def test_mlqa_unknown_language_is_an_error():
    assert set(MLQA_ARTICLES) == {"en", "es", "hi", "vi", "de", "ar", "zh"}
    with pytest.raises(ValueError, match="no language 'fr'"):
        mlqa_normalize("le chat", "fr")


def test_mlqa_corpus_scores():
    scores = qa_scores(["北京大学", "Der Hund"], [["北京"], ["Hund", "Katze"]], "zh")
    # zh rules on German text: no articles, "der hund" vs "hund" -> p 1/2, r 1 -> 2/3
    assert scores["f1"] == pytest.approx((2 / 3 + 2 / 3) / 2)
    assert scores["exact_match"] == 0.0
