"""The XTREME target tasks and the English intermediate tasks, as data.

Every task loads from the Hugging Face Hub at a pinned commit (``hub(language, split)``)
or from a local folder laid out ``<task>/<lang>/<split>.{jsonl,conllu}``; one ``convert``
per task reads both row formats. Importing this module costs no torch and no ``datasets``.

Hub sources (field names checked against each dataset's card / ``dataset_infos.json``):

* ``google/xtreme``: ``XNLI`` (one config, column ``language``; ``sentence1``,
  ``sentence2``, ``gold_label`` as a string; validation + test only), ``PAWS-X.<lang>``
  (``sentence1``, ``sentence2``, ``label`` as the string "0"/"1"), ``udpos.<Treebank
  language>`` (``tokens``, ``pos_tags`` as ClassLabel ints in ``UPOS`` order),
  ``PAN-X.<lang>`` (``tokens``, ``ner_tags`` as ClassLabel ints in ``PANX_TAGS`` order,
  ``langs``).
* ``nyu-mll/glue``: ``mnli`` (``premise``, ``hypothesis``, ``label``; validation is
  ``validation_matched``), ``qqp`` (``question1``, ``question2``, ``label``), ``sst2``
  (``sentence``, ``label``). GLUE test labels are hidden (-1), so no test split here.
* ``facebook/anli`` config ``plain_text``: ``uid``, ``premise``, ``hypothesis``,
  ``label``, ``reason``; splits ``train_r1`` ... ``test_r3``, read as one split with
  ``datasets``' ``a+b+c`` split syntax.
* QA, SQuAD fields (``id``, ``context``, ``question``, ``answers{text, answer_start}``):
  ``rajpurkar/squad`` (``plain_text``), ``rajpurkar/squad_v2``, and in google/xtreme
  ``XQuAD.<lang>`` (split ``validation`` only), ``MLQA.<lang>.<lang>`` (validation, test),
  ``tydiqa`` (train, validation; all languages, ids prefixed ``english-``, ``arabic-`` ...).
* ``google/xtreme`` ``bucc18.<lang>`` (de, fr, ru, zh; splits ``validation`` = BUCC's sample
  set, ``test`` = its training set, as XTREME uses them): ``source_sentence`` (the non-English
  side), ``target_sentence`` (English), and the BUCC sentence ids in the columns named
  ``source_lang`` / ``target_lang`` (``de-000000012``). The rows are the gold pairs only (the
  loading script joins the gold file with the sentence files), so mining from the Hub searches
  the gold pairs' sentences, not the full monolingual corpora.
* XTREME-R's languages beyond XTREME's: PAN-X az, gu, lt, pa, pl, qu, ro, uk from ``unimelb-nlp/wikiann``
  (config = language; ``tokens``, ``ner_tags`` in ``PANX_TAGS`` order), XQuAD ro from ``google/xquad``
  (``xquad.ro``, split ``validation``), Tatoeba az, lt, pl, ro, uk from ``mteb/tatoeba-bitext-mining`` (LASER's
  Tatoeba v1 pairs; default config filtered by ``lang``); UD-POS lt, pl, ro, uk, wo (UD v2.7) have no Hub copy
  xtui can load: local CoNLL-U only (``Task.local_only`` says which treebanks).
* ``stanfordnlp/snli`` (``plain_text``): ``premise``, ``hypothesis``, ``label`` (-1 = no gold
  label: those rows are dropped).
* ``google-research-datasets/xquad_r`` (LAReQA; config = language, split ``validation`` only): SQuAD
  fields (``id``, ``context``, ``question``, ``answers``), the same ids in all 11 languages; the
  Hub rows have no sentence breaks: ``convert_xquad_r`` gives each of XQuAD-R's paragraphs its own
  breaks from the table in ``xquad_r_breaks`` (from the lareqa repository's ``xquad-r/<lang>.json``,
  which can also be read directly as the local ``xquad/<lang>/test.json``); other paragraphs are split
  by xtui (``xtui.kinds.answer_retrieval``).
* ``izhx/mewsli-x`` (Mewsli-X, made by get-mewsli-x.sh and split by its uploader; field names of
  google-research's ``mel/mewsli-x.md``, see ``mewslix``): config ``wikipedia_pairs`` (``train``: the
  English training pairs), one config per mention language (``validation``, ``test``: WikiNews
  documents), and the file ``candidate_entities.jsonl.tar.gz`` (the 1,003,893 candidate entities).
* Multiple choice: ``cambridgeltl/xcopa`` (config = language) and ``aps/super_glue``
  ``copa`` (``premise, choice1, choice2, question, label``); ``Rowan/hellaswag`` (``ctx_a,
  ctx_b, endings, label`` as a string); ``allenai/cosmos_qa`` (``context, question,
  answer0-3, label``); ``tau/commonsense_qa`` (``question, choices{label, text},
  answerKey``); ``allenai/social_i_qa`` (``context, question, answerA-C, label`` "1"-"3").
"""

from __future__ import annotations

import re
from dataclasses import replace
from functools import lru_cache
from typing import Any, Callable, Mapping, Optional, Sequence

from xtui.tasks import HubRef, Task

from .mewslix import convert_mewslix

# --------------------------------------------------------------------------- sources

XTREME = "google/xtreme"
XTREME_REVISION = "ec5f1f46e9af79639a90684a7a70a956c4998f04"
"""A parquet-era commit of google/xtreme (``<config>/<split>-00000-of-00001.parquet``),
used pinned by independent public projects for ``MLQA.en.en`` and ``PAWS-X.es``."""

GLUE = "nyu-mll/glue"
GLUE_REVISION = "bcdcba79d07bc864c1c254ccfcedcce55bcc9a8c"

ANLI = "facebook/anli"
ANLI_CONFIG = "plain_text"
ANLI_REVISION = "8e4813d81f46d313dac7892e1c28076917cfcdf9"

SQUAD = "rajpurkar/squad"
SQUAD_CONFIG = "plain_text"
SQUAD_REVISION = "7b6d24c440a36b6815f21b70d25016731768db1f"
SQUAD_V2 = "rajpurkar/squad_v2"
SQUAD_V2_CONFIG = "squad_v2"
SQUAD_V2_REVISION = "3ffb306f725f7d2ce8394bc1873b24868140c412"

XQUAD_R = "google-research-datasets/xquad_r"
XQUAD_R_REVISION = "4b06ecde495ed493a1bbabcb70620e5f1aa3de88"
"""The commit that replaced the loading script by Parquet files ("Delete loading script"), found in the
Hub's commit history; not checked here against the newest commit (no network in this project's tests)."""

WIKIANN = "unimelb-nlp/wikiann"
WIKIANN_REVISION = "52e47f0d4e5ace71b32ebc9729ea60c20477eec6"
"""A main-branch commit holding the Parquet conversion (``<lang>/{train,validation,test}-00000-of-00001.parquet``,
"Convert dataset to Parquet", one config per language), found in the Hub's file history; not checked here against
the newest commit (no network in this project's tests). WikiANN with Rahimi et al.'s balanced splits is PAN-X."""

GOOGLE_XQUAD = "google/xquad"
GOOGLE_XQUAD_REVISION = "51adfef1c1287aab1d2d91b5bead9bcfb9c68583"
"""XQuAD's own Hub copy (configs ``xquad.<lang>``, split ``validation``; SQuAD fields), which has Romanian; the
commit is the one an independent public project pins. google/xtreme's ``XQuAD.*`` configs stop at XTREME's 11."""

MTEB_TATOEBA = "mteb/tatoeba-bitext-mining"
MTEB_TATOEBA_REVISION = "69e8f12da6e31d59addadda9a9c8a2e601a0e282"
"""LASER's Tatoeba v1 test pairs (the files XTREME-R's download script reads), as MTEB's TatoebaBitextMining task
pins them (embeddings-benchmark/mteb, ``mteb/tasks/BitextMining/multilingual/TatoebaBitextMining.py``): one default
config whose rows carry ``lang`` (``aze-eng``), ``sentence1`` (the pair's first language) and ``sentence2``
(English), split ``test``. google/xtreme's ``tatoeba.*`` configs stop at XTREME's 36 languages."""

XCOPA = "cambridgeltl/xcopa"
XCOPA_REVISION = "042f78955ba48e6404616762fa6e05e839c3907a"
"""Parquet, one config per language (``<lang>/{validation,test}-00000-of-00001.parquet``)."""
SUPER_GLUE = "aps/super_glue"
SUPER_GLUE_REVISION = "3de24cf8022e94f4ee4b9d55a6f539891524d646"

HELLASWAG = "Rowan/hellaswag"
HELLASWAG_REVISION = "218ec52e09a7e7462a5400043bb9a69a41d06b76"
COMMONSENSEQA = "tau/commonsense_qa"
COMMONSENSEQA_REVISION = "94630fe30dad47192a8546eb75f094926d47e155"
# allenai/cosmos_qa and allenai/social_i_qa hold only loading scripts, which datasets >= 3
# no longer runs; these are commits of their Hub-converted ``refs/convert/parquet`` branches.
SNLI = "stanfordnlp/snli"
SNLI_CONFIG = "plain_text"
SNLI_REVISION = "cdb5c3d5eed6ead6e5a341c8e56e669bb666725b"
"""A parquet commit (``plain_text/train-00000-of-00001.parquet``), pinned by independent public projects."""

COSMOSQA = "allenai/cosmos_qa"
COSMOSQA_REVISION = "ed50fe83db62b355759053b1cd5eef344ee371e0"
SIQA = "allenai/social_i_qa"
SIQA_REVISION = "537a2ec8ec565adc0b70b70752893e59e024df26"

MEWSLIX = "izhx/mewsli-x"
MEWSLIX_REVISION = "315f267bc74ca5aa1541e825a7bc702bb08e5293"
"""The commit whose dataset card first declared the configs used here (``wikipedia_pairs``, ``ar`` ...
``uk``), found in the Hub's commit history; its files are those of the current main branch. Not checked
here against the newest commit (no network in this project's tests)."""
MEWSLIX_CANDIDATES = "candidate_entities.jsonl.tar.gz"

# --------------------------------------------------------------------------- labels

NLI_LABELS = ("entailment", "neutral", "contradiction")
PAWSX_LABELS = ("not_paraphrase", "paraphrase")
QQP_LABELS = ("not_duplicate", "duplicate")
SST2_LABELS = ("negative", "positive")
COPA_LABELS = ("choice1", "choice2")
HELLASWAG_LABELS = ("ending0", "ending1", "ending2", "ending3")
COSMOSQA_LABELS = ("answer0", "answer1", "answer2", "answer3")
COMMONSENSEQA_LABELS = ("A", "B", "C", "D", "E")
SIQA_LABELS = ("answerA", "answerB", "answerC")
"""Multiple-choice labels name the choices; a label id is the index of the right one."""

UPOS = (
    "ADJ", "ADP", "ADV", "AUX", "CCONJ", "DET", "INTJ", "NOUN", "NUM",
    "PART", "PRON", "PROPN", "PUNCT", "SCONJ", "SYM", "VERB", "X",
)
"""The ClassLabel order of ``pos_tags`` in google/xtreme ``udpos.*`` (alphabetical)."""

PANX_TAGS = ("O", "B-PER", "I-PER", "B-ORG", "I-ORG", "B-LOC", "I-LOC")
"""The ClassLabel order of ``ner_tags`` in google/xtreme ``PAN-X.*`` and HF wikiann."""

# --------------------------------------------------------------------------- languages

XNLI_LANGUAGES = ("en", "ar", "bg", "de", "el", "es", "fr", "hi", "ru", "sw", "th", "tr", "ur", "vi", "zh")
PAWSX_LANGUAGES = ("en", "de", "es", "fr", "ja", "ko", "zh")
PANX_XTREME_LANGUAGES = (
    "en", "af", "ar", "bg", "bn", "de", "el", "es", "et", "eu", "fa", "fi", "fr", "he",
    "hi", "hu", "id", "it", "ja", "jv", "ka", "kk", "ko", "ml", "mr", "ms", "my", "nl",
    "pt", "ru", "sw", "ta", "te", "th", "tl", "tr", "ur", "vi", "yo", "zh",
)
"""XTREME's 40 PAN-X languages: google/xtreme configs ``PAN-X.<lang>``."""
PANX_WIKIANN_LANGUAGES = ("az", "gu", "lt", "pa", "pl", "qu", "ro", "uk")
"""The 8 PAN-X languages XTREME-R adds (its download script's ``langs``): ``unimelb-nlp/wikiann`` config = the code."""
PANX_LANGUAGES = ("en",) + tuple(sorted(set(PANX_XTREME_LANGUAGES + PANX_WIKIANN_LANGUAGES) - {"en"}))

UDPOS_CONFIGS = {
    "af": "udpos.Afrikaans", "ar": "udpos.Arabic", "bg": "udpos.Bulgarian", "de": "udpos.German",
    "el": "udpos.Greek", "en": "udpos.English", "es": "udpos.Spanish", "et": "udpos.Estonian",
    "eu": "udpos.Basque", "fa": "udpos.Persian", "fi": "udpos.Finnish", "fr": "udpos.French",
    "he": "udpos.Hebrew", "hi": "udpos.Hindi", "hu": "udpos.Hungarian", "id": "udpos.Indonesian",
    "it": "udpos.Italian", "ja": "udpos.Japanese", "kk": "udpos.Kazakh", "ko": "udpos.Korean",
    "mr": "udpos.Marathi", "nl": "udpos.Dutch", "pt": "udpos.Portuguese", "ru": "udpos.Russian",
    "ta": "udpos.Tamil", "te": "udpos.Telugu", "th": "udpos.Thai", "tl": "udpos.Tagalog",
    "tr": "udpos.Turkish", "ur": "udpos.Urdu", "vi": "udpos.Vietnamese", "yo": "udpos.Yoruba",
    "zh": "udpos.Chinese",
}
"""ISO 639-1 code -> google/xtreme config (XTREME's 33 UD v2.5 languages)."""

UDPOS_XTREME_R_TREEBANKS = {
    "lt": ("lt_alksnis", "lt_hse"),
    "pl": ("pl_lfg", "pl_pdb", "pl_pud"),
    "ro": ("ro_nonstandard", "ro_rrt", "ro_simonero"),
    "uk": ("uk_iu",),
    "wo": ("wo_wtb",),
}
"""The 5 UD-POS languages XTREME-R adds, with the UD v2.7 treebanks its download script reads for each:
``scripts/download_data.sh`` (``download_treebank xtreme-r``: ud-treebanks-v2.7, ``langs=(lt pl uk wo ro)``)
keeps every ``<code>_*.conllu`` file of the release, and ``utils_preprocess.py`` (``udpos_preprocess``)
concatenates each language's train, dev and test files across its treebanks. The names are the UD v2.7 release's
treebanks of each language (hdl 11234/1-3424) as known to the UD documentation, not checked here against the
release's tarball (no network). google/xtreme has UD v2.5's 33 languages only, so these are local data."""

UDPOS_LANGUAGES = ("en",) + tuple(sorted((set(UDPOS_CONFIGS) | set(UDPOS_XTREME_R_TREEBANKS)) - {"en"}))


def _udpos_local_only(language: str) -> str:
    treebanks = ", ".join(UDPOS_XTREME_R_TREEBANKS[language])
    return (f"UD v2.7 treebanks {treebanks} (LINDAT hdl 11234/1-3424), concatenated per split as XTREME-R's "
            f"utils_preprocess.py does; google/xtreme has no UD v2.7 data: put them under "
            f"<data_dir>/udpos/{language}/{{train,validation,test}}.conllu")


UDPOS_LOCAL_ONLY = {language: _udpos_local_only(language) for language in UDPOS_XTREME_R_TREEBANKS}

XQUAD_XTREME_LANGUAGES = ("en", "ar", "de", "el", "es", "hi", "ru", "th", "tr", "vi", "zh")
"""XTREME's 11 XQuAD languages: google/xtreme configs ``XQuAD.<lang>``."""
XQUAD_LANGUAGES = XQUAD_XTREME_LANGUAGES + ("ro",)
"""XTREME-R adds Romanian (XQuAD's own Hub copy, google/xquad ``xquad.ro``)."""
LAREQA_LANGUAGES = XQUAD_XTREME_LANGUAGES
"""XQuAD-R: XQuAD's first 11 languages, 11-way parallel (no Romanian)."""
MLQA_LANGUAGES = ("en", "ar", "de", "es", "hi", "vi", "zh")
MLQA_CONFIGS = {language: f"MLQA.{language}.{language}" for language in MLQA_LANGUAGES}
"""ISO code -> google/xtreme config: XTREME evaluates MLQA on same-language context/question pairs."""
TYDIQA_PREFIXES = {
    "en": "english", "ar": "arabic", "bn": "bengali", "fi": "finnish", "id": "indonesian",
    "ko": "korean", "ru": "russian", "sw": "swahili", "te": "telugu",
}
"""ISO code -> the language prefix of TyDiQA GoldP question ids (``english-...``)."""
TYDIQA_LANGUAGES = tuple(TYDIQA_PREFIXES)
MEWSLIX_LANGUAGES = ("en", "ar", "de", "es", "fa", "ja", "pl", "ro", "ta", "tr", "uk")
"""The WikiNews mention languages (xtreme ``utils_mewslix.MENTION_LANGUAGES``); English also trains."""
MEWSLIX_CANDIDATE_SET = "candidates"
"""The shared part of every language's test split (``Task.companions``): ``<data>/mewslix/candidates/test.jsonl``
in the local layout, a copy of ``candidate_set_entities.jsonl``."""
XCOPA_LANGUAGES = ("en", "et", "ht", "id", "it", "qu", "sw", "ta", "th", "tr", "vi", "zh")
"""``en`` is English COPA (training and development data only; its test labels are hidden)."""

XCOPA_RECIPES = {"siqa+copa": ("siqa", "xcopa"), "copa": ("xcopa",)}
"""XTREME-R's scripts/train_xcopa.sh trains on SocialIQA, then continues on English COPA (the same
multiple-choice head, the same settings); ``copa`` is XTREME's and xtui's earlier COPA-only target."""

ALL_SPLITS = ("train", "validation", "test")
UDPOS_SPLITS = {"kk": ("train", "test"), "tl": ("test",), "th": ("test",), "yo": ("test",)}
"""Treebanks without some split in google/xtreme (every other language has all three)."""

GLUE_SPLITS = {
    "mnli": {"train": "train", "validation": "validation_matched"},
    "qqp": {"train": "train", "validation": "validation"},
    "sst2": {"train": "train", "validation": "validation"},
}
ANLI_SPLITS = {
    "train": "train_r1+train_r2+train_r3",
    "validation": "dev_r1+dev_r2+dev_r3",
    "test": "test_r1+test_r2+test_r3",
}

# --------------------------------------------------------------------------- converters


def label_id(value: Any, labels: Sequence[str]) -> int:
    """A label id from an int id, a label name, or a digit string ("0"); else ValueError."""
    if isinstance(value, int) and not isinstance(value, bool):
        if 0 <= value < len(labels):
            return value
    elif isinstance(value, str):
        name = value.strip()
        if name in labels:
            return labels.index(name)
        if name.isascii() and name.isdigit() and int(name) < len(labels):
            return int(name)
    raise ValueError(f"unknown label {value!r} (expected one of {', '.join(labels)} or an id 0-{len(labels) - 1})")


def _first(row: Mapping[str, Any], keys: Sequence[str]) -> Any:
    for key in keys:
        if key in row:
            return row[key]
    raise KeyError(f"none of the fields {', '.join(keys)}")


def _text(row: Mapping[str, Any], keys: Sequence[str]) -> str:
    value = _first(row, keys)
    if not isinstance(value, str):
        raise ValueError(f"field {keys[0]!r} must be a string, got {type(value).__name__}")
    return value


def pair_converter(
    labels: Sequence[str],
    text: Sequence[str],
    pair: Sequence[str] = (),
    label: Sequence[str] = ("label",),
) -> Callable[[Mapping[str, Any]], dict]:
    """A classification converter reading the first present field of each alternative."""

    def convert(row: Mapping[str, Any]) -> dict:
        return {
            "text": _text(row, text),
            "text_pair": _text(row, pair) if pair else None,
            "label": label_id(_first(row, label), labels),
        }

    return convert


def tag_converter(labels: Sequence[str], tag_fields: Sequence[str]) -> Callable[[Mapping[str, Any]], dict]:
    """A tagging converter: ``tokens`` plus tag ids or names under one of ``tag_fields``."""

    def convert(row: Mapping[str, Any]) -> dict:
        tokens = row["tokens"]
        raw = _first(row, tag_fields)
        if len(raw) != len(tokens):
            raise ValueError(f"{len(tokens)} tokens but {len(raw)} tags")
        tags = []
        for position, (token, tag) in enumerate(zip(tokens, raw), 1):
            try:
                tags.append(label_id(tag, labels))
            except ValueError as error:
                raise ValueError(f"token {position} ({token!r}): {error}") from None
        return {"tokens": [str(token) for token in tokens], "tags": tags}

    return convert


# Local NLI jsonl and GLUE/ANLI hub rows use premise/hypothesis/label (int);
# google/xtreme XNLI rows use sentence1/sentence2/gold_label (a label name).
convert_nli = pair_converter(NLI_LABELS, text=("premise", "sentence1"), pair=("hypothesis", "sentence2"),
                             label=("label", "gold_label"))
NO_GOLD_LABEL = (-1, "-1", "-")
"""SNLI's marks for pairs whose annotators did not agree (-1 on the Hub, "-" in its own files)."""


def convert_nli_gold(row: Mapping[str, Any]) -> Optional[dict]:
    """``convert_nli``, dropping pairs without a gold label (SNLI has about 0.1 % of them)."""
    label = row["label"] if "label" in row else row.get("gold_label")
    return None if label in NO_GOLD_LABEL else convert_nli(row)

convert_pawsx = pair_converter(PAWSX_LABELS, text=("sentence1",), pair=("sentence2",))
convert_qqp = pair_converter(QQP_LABELS, text=("question1",), pair=("question2",))
convert_sst2 = pair_converter(SST2_LABELS, text=("sentence",))
# Hub udpos rows carry pos_tags (ints); local CoNLL-U sentences (xtui.data.read_conllu) carry upos names.
convert_udpos = tag_converter(UPOS, ("pos_tags", "upos"))
# Hub PAN-X and local jsonl carry ner_tags (ints); a 3-column CoNLL file gives names under upos.
convert_panx = tag_converter(PANX_TAGS, ("ner_tags", "upos"))


def convert_squad(row: Mapping[str, Any]) -> dict:
    """A SQuAD-format row (Hub squad/xtreme rows and local SQuAD JSON read alike)."""
    answers = row["answers"]
    texts, starts = list(answers["text"]), list(answers["answer_start"])
    if len(texts) != len(starts):
        raise ValueError(f"{len(texts)} answer texts but {len(starts)} answer_start values")
    if not all(isinstance(start, int) and start >= 0 for start in starts):
        raise ValueError(f"answer_start must be character offsets (integers >= 0), got {starts}")
    example = {
        "id": str(row["id"]),
        "context": _text(row, ("context",)),
        "question": _text(row, ("question",)),
        "answers": {"text": [str(text) for text in texts], "answer_start": starts},
    }
    if row.get("sentence_breaks") is not None:  # XQuAD-R's own sentence breaks (LAReQA)
        example["sentence_breaks"] = [[int(start), int(end)] for start, end in row["sentence_breaks"]]
    return example


def convert_xquad_r(row: Mapping[str, Any]) -> dict:
    """``convert_squad``, with XQuAD-R's own sentence breaks when the row has none and its
    paragraph is one of XQuAD-R's (the Hub's xquad_r rows, XQuAD's files: ``xquad_r_breaks``)."""
    example = convert_squad(row)
    if "sentence_breaks" not in example:
        from .xquad_r_breaks import xquad_r_breaks

        breaks = xquad_r_breaks(example["context"])
        if breaks is not None:
            example["sentence_breaks"] = breaks
    return example


COPA_QUESTIONS = {"cause": "What was the cause?", "effect": "What happened as a result?"}
"""COPA's ``question`` field names the relation; the model reads it as an English question."""


def convert_copa(row: Mapping[str, Any]) -> dict:
    relation = row["question"]
    if relation not in COPA_QUESTIONS:
        raise ValueError(f"question {relation!r} is neither 'cause' nor 'effect'")
    return {"context": _text(row, ("premise",)), "question": COPA_QUESTIONS[relation],
            "choices": [_text(row, ("choice1",)), _text(row, ("choice2",))], "label": label_id(row["label"], COPA_LABELS)}


def convert_hellaswag(row: Mapping[str, Any]) -> dict:
    # The context's second half (ctx_b) starts the sentence every ending completes.
    return {"context": _text(row, ("ctx_a",)), "question": _text(row, ("ctx_b",)),
            "choices": [str(ending) for ending in row["endings"]], "label": label_id(row["label"], HELLASWAG_LABELS)}


def convert_cosmosqa(row: Mapping[str, Any]) -> dict:
    return {"context": _text(row, ("context",)), "question": _text(row, ("question",)),
            "choices": [_text(row, (f"answer{i}",)) for i in range(4)], "label": label_id(row["label"], COSMOSQA_LABELS)}


def convert_commonsenseqa(row: Mapping[str, Any]) -> dict:
    choices = row["choices"]
    return {"context": "", "question": _text(row, ("question",)), "choices": [str(text) for text in choices["text"]],
            "label": label_id(row["answerKey"], tuple(choices["label"]))}


def convert_siqa(row: Mapping[str, Any]) -> dict:
    # SocialIQA labels are the strings "1"-"3" (1-based).
    answer = str(row["label"]).strip()
    if answer not in ("1", "2", "3"):
        raise ValueError(f"unknown label {row['label']!r} (expected '1', '2' or '3')")
    return {"context": _text(row, ("context",)), "question": _text(row, ("question",)),
            "choices": [_text(row, (f"answer{c}",)) for c in "ABC"], "label": int(answer) - 1}

# --------------------------------------------------------------------------- hub locators

Locator = Callable[[str, str], Optional[HubRef]]


def xtreme_locator(
    languages: Sequence[str],
    config: Callable[[str], str],
    splits: Callable[[str], Sequence[str]] = lambda language: ALL_SPLITS,
) -> Locator:
    """One google/xtreme config per language; ``splits(language)`` lists what it has."""

    def hub(language: str, split: str) -> Optional[HubRef]:
        if language not in languages or split not in splits(language):
            return None
        return HubRef(XTREME, config(language), split, XTREME_REVISION)

    return hub


def english_locator(dataset: str, config: Optional[str], revision: str, splits: Mapping[str, str]) -> Locator:
    """An English-only dataset; ``splits`` maps xtui split names to the Hub's split spec."""

    def hub(language: str, split: str) -> Optional[HubRef]:
        if language != "en" or split not in splits:
            return None
        return HubRef(dataset, config, splits[split], revision)

    return hub


def xnli_hub(language: str, split: str) -> Optional[HubRef]:
    """XTREME's XNLI: English train = MultiNLI train; dev/test from the XNLI config."""
    if language not in XNLI_LANGUAGES:
        return None
    if split == "train":
        return HubRef(GLUE, "mnli", "train", GLUE_REVISION) if language == "en" else None
    if split in ("validation", "test"):
        return HubRef(XTREME, "XNLI", split, XTREME_REVISION, where=(("language", language),))
    return None


# PAWS-X non-English "train" in google/xtreme is machine-translated (translate-train), so
# only English training data is offered; every language has human dev/test.
pawsx_hub = xtreme_locator(
    PAWSX_LANGUAGES,
    lambda language: f"PAWS-X.{language}",
    lambda language: ALL_SPLITS if language == "en" else ("validation", "test"),
)
udpos_hub = xtreme_locator(  # XTREME's 33 languages; XTREME-R's 5 more are local data (UDPOS_LOCAL_ONLY)
    tuple(UDPOS_CONFIGS),
    UDPOS_CONFIGS.__getitem__,
    lambda language: UDPOS_SPLITS.get(language, ALL_SPLITS),
)
_panx_xtreme_hub = xtreme_locator(PANX_XTREME_LANGUAGES, lambda language: f"PAN-X.{language}")


def panx_hub(language: str, split: str) -> Optional[HubRef]:
    """XTREME's 40 languages from google/xtreme; XTREME-R's 8 more from WikiANN (same data, same tag order)."""
    if language in PANX_WIKIANN_LANGUAGES:
        return HubRef(WIKIANN, language, split, WIKIANN_REVISION) if split in ALL_SPLITS else None
    return _panx_xtreme_hub(language, split)

SQUAD_TRAIN = HubRef(SQUAD, SQUAD_CONFIG, "train", SQUAD_REVISION)
"""XTREME trains XQuAD and MLQA on SQuAD v1.1, as XNLI on MultiNLI."""


def xquad_hub(language: str, split: str) -> Optional[HubRef]:
    """XQuAD is test data only (google/xtreme keeps it as ``validation``). It has no
    development split, and SQuAD v1.1 dev holds XQuAD's own paragraphs: no validation."""
    if language not in XQUAD_LANGUAGES:
        return None
    if split == "train":
        return SQUAD_TRAIN if language == "en" else None
    if split == "test" and language not in XQUAD_XTREME_LANGUAGES:
        return HubRef(GOOGLE_XQUAD, f"xquad.{language}", "validation", GOOGLE_XQUAD_REVISION)
    if split == "test":
        return HubRef(XTREME, f"XQuAD.{language}", "validation", XTREME_REVISION)
    return None


def lareqa_hub(language: str, split: str) -> Optional[HubRef]:
    """LAReQA: the dual encoder trains on SQuAD v1.1 (question -> answer sentence), as XTREME-R
    does; each language's test data is its XQuAD-R file (kept as ``validation`` on the Hub). The
    task's ``pooled_splits`` reads every language's file into one language's test split."""
    if language not in LAREQA_LANGUAGES:
        return None
    if split == "train":
        return SQUAD_TRAIN if language == "en" else None
    if split == "test":
        return HubRef(XQUAD_R, language, "validation", XQUAD_R_REVISION)
    return None


def mlqa_hub(language: str, split: str) -> Optional[HubRef]:
    if language not in MLQA_LANGUAGES:
        return None
    if split == "train":
        return SQUAD_TRAIN if language == "en" else None
    if split in ("validation", "test"):
        return HubRef(XTREME, MLQA_CONFIGS[language], split, XTREME_REVISION)
    return None


def tydiqa_hub(language: str, split: str) -> Optional[HubRef]:
    """TyDiQA GoldP: one config for all languages, told apart by the id prefix. Its dev set is
    the test set; every language's (human-written) training data is its few-shot pool."""
    if language not in TYDIQA_PREFIXES or split not in ("train", "test"):
        return None
    hub_split = "train" if split == "train" else "validation"
    return HubRef(XTREME, "tydiqa", hub_split, XTREME_REVISION, startswith=(("id", TYDIQA_PREFIXES[language] + "-"),))


def mewslix_hub(language: str, split: str) -> Optional[HubRef]:
    """Mewsli-X: English Wikipedia pairs train; each language's WikiNews test documents are scored against
    the candidate set (the ``candidates`` companion). The WikiNews dev documents (the Hub's ``validation``)
    are not read: XTREME-R keeps the last checkpoint and has no few-shot setting."""
    if language == MEWSLIX_CANDIDATE_SET:
        return HubRef(MEWSLIX, None, "train", MEWSLIX_REVISION, data_files=MEWSLIX_CANDIDATES) if split == "test" else None
    if split == "train":
        return HubRef(MEWSLIX, "wikipedia_pairs", "train", MEWSLIX_REVISION) if language == "en" else None
    if split == "test" and language in MEWSLIX_LANGUAGES:
        return HubRef(MEWSLIX, language, "test", MEWSLIX_REVISION)
    return None


def xcopa_hub(language: str, split: str) -> Optional[HubRef]:
    """English COPA (SuperGLUE) trains XCOPA; every other language has validation + test."""
    if language == "en":
        return HubRef(SUPER_GLUE, "copa", split, SUPER_GLUE_REVISION) if split in ("train", "validation") else None
    if language in XCOPA_LANGUAGES and split in ("validation", "test"):
        return HubRef(XCOPA, language, split, XCOPA_REVISION)
    return None


ENGLISH_SPLITS = {"train": "train", "validation": "validation"}

# --------------------------------------------------------------------------- overlaps (xtui.leakage)

MNLI_XNLI = ("MultiNLI train, which is XNLI's English training data (the same examples); XNLI's dev and "
             "test sets were collected the way MultiNLI's were (same genres and protocol)")
SQUAD_XQUAD = ("XQuAD's paragraphs and questions are SQuAD v1.1 development data, which the intermediate stage "
               "uses for model selection, and xquad's English training data is SQuAD v1.1 train itself")
SQUAD_MLQA = "MLQA's English training data is SQuAD v1.1 train, the same examples"
SQUAD_LAREQA = ("LAReQA's questions and paragraphs are XQuAD's, i.e. SQuAD v1.1 development data, which the "
                "intermediate stage uses for model selection, and lareqa's English training data is SQuAD v1.1 train")

# --------------------------------------------------------------------------- tasks

INTERMEDIATE = frozenset({"intermediate"})
TARGET = frozenset({"target"})


def classification(name: str, **fields: Any) -> Task:
    return Task(name=name, kind="classification", metric="accuracy", **fields)


def tagging(name: str, **fields: Any) -> Task:
    return Task(name=name, kind="tagging", **fields)


QA_OPTIONS = {"doc_stride": 128, "max_query_length": 64, "max_answer_length": 30}
"""XTREME's run_squad settings (with max_length 384 in the spec)."""


def qa(name: str, **fields: Any) -> Task:
    options = {**QA_OPTIONS, **fields.pop("options", {})}
    return Task(name=name, kind="qa", metric="f1", table_metrics=("exact_match", "f1"), overall_metric="em_f1_mean",
                options=options, **fields)


def multiple_choice(name: str, **fields: Any) -> Task:
    return Task(name=name, kind="multiple_choice", metric="accuracy", **fields)


TATOEBA_XTREME_CODES = {
    "af": "afr", "ar": "ara", "bg": "bul", "bn": "ben", "de": "deu", "el": "ell", "es": "spa", "et": "est",
    "eu": "eus", "fa": "pes", "fi": "fin", "fr": "fra", "he": "heb", "hi": "hin", "hu": "hun", "id": "ind",
    "it": "ita", "ja": "jpn", "jv": "jav", "ka": "kat", "kk": "kaz", "ko": "kor", "ml": "mal", "mr": "mar",
    "nl": "nld", "pt": "por", "ru": "rus", "sw": "swh", "ta": "tam", "te": "tel", "th": "tha", "tl": "tgl",
    "tr": "tur", "ur": "urd", "vi": "vie", "zh": "cmn",
}
"""ISO 639-1 -> the three-letter code of XTREME's 36 Tatoeba pairs (each against English): google/xtreme
``tatoeba.<code>``."""
TATOEBA_XTREME_R_CODES = {"az": "aze", "lt": "lit", "pl": "pol", "ro": "ron", "uk": "ukr"}
"""The 5 pairs XTREME-R adds: ``lang3_dict`` of google-research/xtreme ``utils_preprocess.py``
(``tatoeba_preprocess``), read from LASER's ``tatoeba.<code>-eng.*`` files, here MTEB's copy of them."""
TATOEBA_CODES = {**TATOEBA_XTREME_CODES, **TATOEBA_XTREME_R_CODES}


def tatoeba_hub(language: str, split: str) -> Optional[HubRef]:
    # google/xtreme ships each pair as one split named "validation"; xtui evaluates it as test.
    if split != "test" or language not in TATOEBA_CODES:
        return None
    if language in TATOEBA_XTREME_R_CODES:
        return HubRef(MTEB_TATOEBA, None, "test", MTEB_TATOEBA_REVISION,
                      where=(("lang", f"{TATOEBA_XTREME_R_CODES[language]}-eng"),))
    return HubRef(XTREME, f"tatoeba.{TATOEBA_CODES[language]}", "validation", XTREME_REVISION)


def convert_tatoeba(row: Mapping[str, Any]) -> dict:
    """google/xtreme rows (``source_sentence``: the other language, ``target_sentence``: English) or MTEB's
    (``sentence1``: the other language, ``sentence2``: English)."""
    return {"source": str(_first(row, ("source_sentence", "sentence1"))),
            "target": str(_first(row, ("target_sentence", "sentence2")))}


RETRIEVAL_PRESETS = {
    "bucc": {"xtreme": {
        "pooling": "cls", "layers": {12: 8, 24: 20}, "max_length": 512,
        "source": "google-research/xtreme scripts/run_bucc2018.sh: --pool_type cls --specific_layer 7 "
                  "--max_seq_length 512, no --num_layers (default 12)"}},
    "tatoeba": {"xtreme": {
        "pooling": "mean", "layers": {12: 8, 24: 14}, "max_length": 512,
        "source": "google-research/xtreme scripts/run_tatoeba.sh: --specific_layer 7 --num_layers 12, for "
                  "xlm-roberta-* 13 and 24; no --pool_type (default mean); --max_seq_length 512"}},
}
"""``retrieval_preset = "xtreme"``: the layer, pooling and length XTREME's scripts pass to
``third_party/evaluate_retrieval.py`` (google-research/xtreme at 838c13b69daafb9328785d16caae2711e4012123). That
script keeps the last ``--num_layers`` hidden states (``all_layer_outputs[-num_layers:]``) and reads number
``--specific_layer`` of them, so its layer L of N kept states is hidden state ``depth - N + 1 + L`` here (0 =
embeddings): Tatoeba 7 of 12 is 8 of a 12-layer encoder, 13 of 24 is 14 of a 24-layer one (XLM-R Large);
BUCC keeps 12 states for any model, so its 7 is 8 of a 12-layer encoder and 20 of a 24-layer one. Mean pooling
there averages every real token, special ones included (no ``--pool_skip_special_token``), as xtui's does. The
scripts' other encoders (xlm-roberta-base with 24 layers' settings) would not run, so only 12 and 24 layers
have a setting."""

BUCC_LANGUAGES = ("de", "fr", "ru", "zh")
BUCC_ID = re.compile(r"^[a-z]{2}-\d+$")
"""A BUCC sentence id (``de-000000012``), which google/xtreme keeps in ``source_lang`` / ``target_lang``."""


def bucc_hub(language: str, split: str) -> Optional[HubRef]:
    """BUCC 2018 from google/xtreme: ``validation`` is BUCC's sample set, ``test`` its training set."""
    if language not in BUCC_LANGUAGES or split not in ("validation", "test"):
        return None
    return HubRef(XTREME, f"bucc18.{language}", split, XTREME_REVISION)


def _bucc_side(row: Mapping[str, Any], text_field: str, id_fields: Sequence[str]) -> tuple:
    text = row.get(text_field)
    if text is not None and not isinstance(text, str):
        raise ValueError(f"field {text_field!r} must be a string or null, got {type(text).__name__}")
    text = text if text and text.strip() else None
    sentence_id = None
    if text is not None:
        explicit, hub = row.get(id_fields[0]), row.get(id_fields[1])
        if explicit not in (None, ""):
            sentence_id = str(explicit)
        elif isinstance(hub, str) and BUCC_ID.match(hub):
            sentence_id = hub
    return text, sentence_id


def convert_bucc(row: Mapping[str, Any]) -> dict:
    """A gold pair (both sentences) or one unaligned sentence (the other side empty or null).

    Ids come from ``source_id`` / ``target_id`` (local files) or, on the Hub, from the
    ``source_lang`` / ``target_lang`` columns when they hold BUCC ids; a sentence without an
    id is identified by its row.
    """
    if "source_sentence" not in row and "target_sentence" not in row:
        raise KeyError("none of the fields source_sentence, target_sentence")
    source, source_id = _bucc_side(row, "source_sentence", ("source_id", "source_lang"))
    target, target_id = _bucc_side(row, "target_sentence", ("target_id", "target_lang"))
    if source is None and target is None:
        raise ValueError("source_sentence and target_sentence are both empty")
    return {"source": source, "target": target, "source_id": source_id, "target_id": target_id}


def anli_plus_hub(language: str, split: str):
    """ANLI+ (Phang et al. 2020): ANLI rounds 1-3 + MultiNLI + SNLI training data, one 3-way head.
    Model selection and test on ANLI's dev / test rounds 1-3 (the hardest part, and disjoint
    from XNLI, whose English data is MultiNLI's)."""
    if language != "en":
        return None
    if split == "train":
        return (HubRef(ANLI, ANLI_CONFIG, ANLI_SPLITS["train"], ANLI_REVISION),
                HubRef(GLUE, "mnli", "train", GLUE_REVISION),
                HubRef(SNLI, SNLI_CONFIG, "train", SNLI_REVISION))
    if split in ("validation", "test"):
        return HubRef(ANLI, ANLI_CONFIG, ANLI_SPLITS[split], ANLI_REVISION)
    return None


CCG_UNAVAILABLE = (
    "CCGbank is licensed by the LDC (LDC2005T13), so xtui cannot download it; put your copy under "
    "<data_dir>/ccg/en/ as train and validation (test optional) in .jsonl ({\"tokens\": [...], \"tags\": [supertags]}) "
    "or 3-column .conllu (index, token, supertag), with labels.txt listing the supertags one per line, "
    "and point data_dir (spec) or XTUI_DATA_DIR at <data_dir>"
)


@lru_cache(maxsize=4)
def _label_index(labels: tuple) -> dict:
    return {label: index for index, label in enumerate(labels)}


def convert_ccg(row: Mapping[str, Any], labels: Sequence[str]) -> dict:
    """CCG supertags by name (jsonl ``tags``, or the tag column of a CoNLL file) or by id."""
    tokens = row["tokens"]
    raw = _first(row, ("tags", "upos"))
    if len(raw) != len(tokens):
        raise ValueError(f"{len(tokens)} tokens but {len(raw)} tags")
    index = _label_index(tuple(labels))
    tags = []
    for position, (token, tag) in enumerate(zip(tokens, raw), 1):
        if isinstance(tag, str) and tag in index:
            tags.append(index[tag])
        elif isinstance(tag, int) and not isinstance(tag, bool) and 0 <= tag < len(labels):
            tags.append(tag)
        else:
            raise ValueError(f"token {position} ({token!r}): supertag {tag!r} is not in labels.txt "
                             f"({len(labels)} supertags)")
    return {"tokens": [str(token) for token in tokens], "tags": tags}


# --------------------------------------------------------------------------- benchmarks

XTREME_TASKS = {
    "pawsx": PAWSX_LANGUAGES, "xnli": XNLI_LANGUAGES, "panx": PANX_XTREME_LANGUAGES, "udpos": tuple(UDPOS_CONFIGS),
    "bucc": BUCC_LANGUAGES, "tatoeba": tuple(TATOEBA_XTREME_CODES), "xquad": XQUAD_XTREME_LANGUAGES,
    "mlqa": MLQA_LANGUAGES, "tydiqa": TYDIQA_LANGUAGES,
}
"""XTREME's task -> languages (google-research/xtreme ``evaluate.py``, ``XTREME_TASK2LANGS``; ``bucc2018`` is bucc)."""
XTREME_R_TASKS = {
    "xnli": XNLI_LANGUAGES, "xcopa": tuple(language for language in XCOPA_LANGUAGES if language != "en"),
    "panx": PANX_LANGUAGES, "udpos": UDPOS_LANGUAGES, "tatoeba": tuple(TATOEBA_CODES), "lareqa": LAREQA_LANGUAGES,
    "xquad": XQUAD_LANGUAGES, "mlqa": MLQA_LANGUAGES, "tydiqa": TYDIQA_LANGUAGES, "mewslix": MEWSLIX_LANGUAGES,
}
"""XTREME-R's task -> languages (``evaluate.py``, ``XTREME_R_TASK2LANGS``): no PAWS-X and BUCC, XCOPA and LAReQA
added (``evaluate.py`` lists no languages for LAReQA, whose pool is every language at once: XQuAD-R's 11), more
PAN-X, UD-POS, Tatoeba and XQuAD languages, and Mewsli-X (``mewslix``)."""
BENCHMARKS = {"xtreme": XTREME_TASKS, "xtreme-r": XTREME_R_TASKS}


def with_benchmarks(task: Task) -> Task:
    """``task`` with the language sets of the benchmarks it is part of (in its own language order)."""
    sets = {name: tuple(language for language in task.languages if language in tasks[task.name])
            for name, tasks in BENCHMARKS.items() if task.name in tasks}
    return replace(task, language_sets=sets) if sets else task


def build_tasks() -> list[Task]:
    """Every task this plugin registers, in a stable order."""
    return [with_benchmarks(task) for task in _tasks()]


def _tasks() -> list[Task]:
    return [
        classification(
            "xnli", languages=XNLI_LANGUAGES, labels=NLI_LABELS, hub=xnli_hub, convert=convert_nli,
            roles=TARGET, scorer="classification", description="XNLI natural language inference (XTREME; English training data is MultiNLI)",
        ),
        classification(
            "pawsx", languages=PAWSX_LANGUAGES, labels=PAWSX_LABELS, hub=pawsx_hub, convert=convert_pawsx,
            roles=TARGET, scorer="classification", description="PAWS-X adversarial paraphrase identification (XTREME)",
        ),
        Task(
            name="bucc", kind="retrieval", metric="f1", scorer="bucc", languages=BUCC_LANGUAGES, hub=bucc_hub, convert=convert_bucc,
            roles=TARGET, validation_split="validation", split_parts={"test": ("validation", "test")},
            options={"mining": True}, retrieval_presets=RETRIEVAL_PRESETS["bucc"],
            description="BUCC 2018 bitext mining against English, margin-mined from a pooled layer (default: mean, 14/24 "
                        "of the depth); threshold chosen on validation, F1 on test (XTREME; Hub rows are the gold "
                        "pairs only)",
        ),
        Task(
            name="tatoeba", kind="retrieval", metric="accuracy", scorer="tatoeba", languages=tuple(TATOEBA_CODES),
            hub=tatoeba_hub, convert=convert_tatoeba, roles=TARGET, validation_split=None,
            retrieval_presets=RETRIEVAL_PRESETS["tatoeba"],
            description="Tatoeba sentence retrieval against English, a pooled layer (default: mean, 14/24 of the depth); "
                        "accuracy of English queries against the other language as XTREME's script (the other "
                        "direction: secondary)",
        ),
        tagging(
            "udpos", languages=UDPOS_LANGUAGES, labels=UPOS, metric="f1", scorer="xtreme_udpos", hub=udpos_hub,
            convert=convert_udpos, roles=TARGET, local_only=UDPOS_LOCAL_ONLY,
            description="Universal Dependencies part-of-speech tagging, 17 UPOS tags (XTREME: UD v2.5; XTREME-R's "
                        "lt, pl, ro, uk, wo: UD v2.7, local data)",
        ),
        tagging(
            "panx", languages=PANX_LANGUAGES, labels=PANX_TAGS, metric="f1", scorer="seqeval", hub=panx_hub,
            convert=convert_panx, roles=TARGET,
            description="PAN-X / WikiANN named entity recognition, PER/ORG/LOC in IOB2 (XTREME)",
        ),
        classification(
            "mnli", languages=("en",), labels=NLI_LABELS, convert=convert_nli, roles=INTERMEDIATE,
            hub=english_locator(GLUE, "mnli", GLUE_REVISION, GLUE_SPLITS["mnli"]),
            description="MultiNLI English natural language inference (GLUE; validation = matched)",
            overlaps={"xnli": "mnli is " + MNLI_XNLI},
        ),
        classification(
            "qqp", languages=("en",), labels=QQP_LABELS, convert=convert_qqp, roles=INTERMEDIATE,
            hub=english_locator(GLUE, "qqp", GLUE_REVISION, GLUE_SPLITS["qqp"]),
            description="Quora Question Pairs duplicate detection (GLUE)",
        ),
        classification(
            "sst2", languages=("en",), labels=SST2_LABELS, convert=convert_sst2, roles=INTERMEDIATE,
            hub=english_locator(GLUE, "sst2", GLUE_REVISION, GLUE_SPLITS["sst2"]),
            description="Stanford Sentiment Treebank binary sentiment (GLUE)",
        ),
        classification(
            "anli", languages=("en",), labels=NLI_LABELS, convert=convert_nli, roles=INTERMEDIATE,
            hub=english_locator(ANLI, ANLI_CONFIG, ANLI_REVISION, ANLI_SPLITS),
            description="Adversarial NLI, rounds 1-3 concatenated",
        ),
        classification(
            "anli_plus", languages=("en",), labels=NLI_LABELS, convert=convert_nli_gold, roles=INTERMEDIATE,
            hub=anli_plus_hub, split_folders={"validation": "anli", "test": "anli"},
            overlaps={"xnli": "anli_plus contains " + MNLI_XNLI},
            description="ANLI+ = ANLI rounds 1-3 + MultiNLI + SNLI training data, one NLI head (validation: ANLI dev)",
        ),
        qa(
            "xquad", languages=XQUAD_LANGUAGES, hub=xquad_hub, convert=convert_squad, roles=TARGET, scorer="squad",
            split_folders={"train": "squad_v1"}, validation_split=None,
            description="XQuAD extractive QA (XTREME; trains on SQuAD v1.1; no dev data, so zero-shot only)",
        ),
        qa(
            "mlqa", languages=MLQA_LANGUAGES, hub=mlqa_hub, convert=convert_squad, roles=TARGET, scorer="mlqa",
            split_folders={"train": "squad_v1"}, options={"normalization": "mlqa"},
            description="MLQA extractive QA, same-language context/question (XTREME; trains on SQuAD v1.1)",
        ),
        qa(
            "tydiqa", languages=TYDIQA_LANGUAGES, hub=tydiqa_hub, convert=convert_squad, roles=TARGET, scorer="squad",
            validation_split=None, shot_split="train",
            description="TyDiQA gold passage extractive QA (XTREME; English training data by id prefix)",
        ),
        Task(
            name="lareqa", kind="answer_retrieval", metric="map@20", scorer="lareqa", languages=LAREQA_LANGUAGES,
            hub=lareqa_hub,
            convert=convert_xquad_r, roles=TARGET, pooled_splits={"test": LAREQA_LANGUAGES},
            # XQuAD-R is XQuAD with sentence breaks (same questions, ids and paragraphs): the local layout is
            # XQuAD's (<data_dir>/xquad/<lang>/test.json) and SQuAD v1.1 train (<data_dir>/squad_v1/en/train.json).
            local_name="xquad", split_folders={"train": "squad_v1"},
            validation_split=None, shot_split="validation", options={"max_query_length": 64, "scale": 20.0},
            description="LAReQA language-agnostic answer retrieval on XQuAD-R: each language's questions retrieve "
                        "answer sentences from all languages' pool, mAP@20 (XTREME-R; dual encoder trained on "
                        "SQuAD v1.1; no dev data and no few-shot pool, so zero-shot only)",
            overlaps={"squad_v1": SQUAD_LAREQA, "squad_v2": "SQuAD 2.0 contains every SQuAD v1.1 question: " + SQUAD_LAREQA},
        ),
        Task(
            name="mewslix", kind="entity_retrieval", metric="map@20", scorer="mewslix", languages=MEWSLIX_LANGUAGES,
            hub=mewslix_hub, convert=convert_mewslix, roles=TARGET, companions={"test": MEWSLIX_CANDIDATE_SET},
            validation_split=None, options={"max_query_length": 64, "max_candidate_length": 64, "scale": 100.0},
            description="Mewsli-X entity linking: a WikiNews mention retrieves its WikiData entity's description "
                        "from 1M candidates in 50 languages, mAP@20 (= MRR@20; XTREME-R; dual encoder trained on "
                        "English Wikipedia mention/entity pairs, last checkpoint kept; zero-shot only: the WikiNews dev "
                        "documents are read neither for selection nor as a few-shot pool)",
        ),
        multiple_choice(
            "xcopa", languages=XCOPA_LANGUAGES, labels=COPA_LABELS, hub=xcopa_hub, convert=convert_copa,
            roles=TARGET, scorer="accuracy", recipes=XCOPA_RECIPES,
            description="XCOPA causal commonsense reasoning, 2 choices (XTREME-R: trains on SocialIQA, then English "
                        "COPA, in one target stage; [target.per_task.xcopa] train = \"copa\": English COPA alone)",
            overlaps={"siqa": "XTREME-R's XCOPA recipe already trains on SocialIQA before English COPA, so siqa as "
                              "an intermediate task repeats that step instead of adding one"},
        ),
        qa(
            "squad_v1", languages=("en",), convert=convert_squad, roles=INTERMEDIATE,
            hub=english_locator(SQUAD, SQUAD_CONFIG, SQUAD_REVISION, ENGLISH_SPLITS),
            description="SQuAD v1.1 English extractive QA",
            overlaps={"xquad": SQUAD_XQUAD, "mlqa": SQUAD_MLQA},
        ),
        qa(
            "squad_v2", languages=("en",), convert=convert_squad, roles=INTERMEDIATE, options={"no_answer": True},
            hub=english_locator(SQUAD_V2, SQUAD_V2_CONFIG, SQUAD_V2_REVISION, ENGLISH_SPLITS),
            description="SQuAD 2.0 English extractive QA with unanswerable questions",
            overlaps={"xquad": "SQuAD 2.0 contains every SQuAD v1.1 question: " + SQUAD_XQUAD,
                      "mlqa": "SQuAD 2.0 contains every SQuAD v1.1 question: " + SQUAD_MLQA},
        ),
        multiple_choice(
            "hellaswag", languages=("en",), labels=HELLASWAG_LABELS, convert=convert_hellaswag, roles=INTERMEDIATE,
            hub=english_locator(HELLASWAG, None, HELLASWAG_REVISION, ENGLISH_SPLITS),
            description="HellaSwag commonsense sentence completion, 4 endings",
        ),
        multiple_choice(
            "cosmosqa", languages=("en",), labels=COSMOSQA_LABELS, convert=convert_cosmosqa, roles=INTERMEDIATE,
            hub=english_locator(COSMOSQA, None, COSMOSQA_REVISION, ENGLISH_SPLITS),
            description="Cosmos QA commonsense reading comprehension, 4 answers",
        ),
        multiple_choice(
            "commonsenseqa", languages=("en",), labels=COMMONSENSEQA_LABELS, convert=convert_commonsenseqa,
            roles=INTERMEDIATE, hub=english_locator(COMMONSENSEQA, None, COMMONSENSEQA_REVISION, ENGLISH_SPLITS),
            description="CommonsenseQA, 5 answers",
        ),
        multiple_choice(
            "siqa", languages=("en",), labels=SIQA_LABELS, convert=convert_siqa, roles=INTERMEDIATE,
            hub=english_locator(SIQA, None, SIQA_REVISION, ENGLISH_SPLITS),
            description="Social IQa social commonsense reasoning, 3 answers (Hub only)",
        ),
        tagging(
            "ccg", languages=("en",), metric="accuracy", convert=convert_ccg, roles=INTERMEDIATE,
            labels_file="en/labels.txt", unavailable=CCG_UNAVAILABLE,
            description="CCG supertagging on CCGbank (LDC-licensed: local files only; supertags from labels.txt)",
        ),
    ]
