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
"""

from __future__ import annotations

from typing import Any, Callable, Mapping, Optional, Sequence

from xtui.tasks import HubRef, Task

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

# --------------------------------------------------------------------------- labels

NLI_LABELS = ("entailment", "neutral", "contradiction")
PAWSX_LABELS = ("not_paraphrase", "paraphrase")
QQP_LABELS = ("not_duplicate", "duplicate")
SST2_LABELS = ("negative", "positive")

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
PANX_LANGUAGES = (
    "en", "af", "ar", "bg", "bn", "de", "el", "es", "et", "eu", "fa", "fi", "fr", "he",
    "hi", "hu", "id", "it", "ja", "jv", "ka", "kk", "ko", "ml", "mr", "ms", "my", "nl",
    "pt", "ru", "sw", "ta", "te", "th", "tl", "tr", "ur", "vi", "yo", "zh",
)

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

UDPOS_LANGUAGES = ("en",) + tuple(sorted(code for code in UDPOS_CONFIGS if code != "en"))

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
convert_pawsx = pair_converter(PAWSX_LABELS, text=("sentence1",), pair=("sentence2",))
convert_qqp = pair_converter(QQP_LABELS, text=("question1",), pair=("question2",))
convert_sst2 = pair_converter(SST2_LABELS, text=("sentence",))
# Hub udpos rows carry pos_tags (ints); local CoNLL-U sentences (xtui.data.read_conllu) carry upos names.
convert_udpos = tag_converter(UPOS, ("pos_tags", "upos"))
# Hub PAN-X and local jsonl carry ner_tags (ints); a 3-column CoNLL file gives names under upos.
convert_panx = tag_converter(PANX_TAGS, ("ner_tags", "upos"))

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
udpos_hub = xtreme_locator(
    UDPOS_LANGUAGES,
    UDPOS_CONFIGS.__getitem__,
    lambda language: UDPOS_SPLITS.get(language, ALL_SPLITS),
)
panx_hub = xtreme_locator(PANX_LANGUAGES, lambda language: f"PAN-X.{language}")

# --------------------------------------------------------------------------- tasks

INTERMEDIATE = frozenset({"intermediate"})
TARGET = frozenset({"target"})


def classification(name: str, **fields: Any) -> Task:
    return Task(name=name, kind="classification", metric="accuracy", **fields)


def tagging(name: str, **fields: Any) -> Task:
    return Task(name=name, kind="tagging", **fields)


def build_tasks() -> list[Task]:
    """Every task this plugin registers, in a stable order."""
    return [
        classification(
            "xnli", languages=XNLI_LANGUAGES, labels=NLI_LABELS, hub=xnli_hub, convert=convert_nli,
            roles=TARGET, description="XNLI natural language inference (XTREME; English training data is MultiNLI)",
        ),
        classification(
            "pawsx", languages=PAWSX_LANGUAGES, labels=PAWSX_LABELS, hub=pawsx_hub, convert=convert_pawsx,
            roles=TARGET, description="PAWS-X adversarial paraphrase identification (XTREME)",
        ),
        tagging(
            "udpos", languages=UDPOS_LANGUAGES, labels=UPOS, metric="accuracy", hub=udpos_hub,
            convert=convert_udpos, roles=TARGET,
            description="Universal Dependencies v2.5 part-of-speech tagging, 17 UPOS tags (XTREME)",
        ),
        tagging(
            "panx", languages=PANX_LANGUAGES, labels=PANX_TAGS, metric="f1", hub=panx_hub,
            convert=convert_panx, roles=TARGET,
            description="PAN-X / WikiANN named entity recognition, PER/ORG/LOC in IOB2 (XTREME)",
        ),
        classification(
            "mnli", languages=("en",), labels=NLI_LABELS, convert=convert_nli, roles=INTERMEDIATE,
            hub=english_locator(GLUE, "mnli", GLUE_REVISION, GLUE_SPLITS["mnli"]),
            description="MultiNLI English natural language inference (GLUE; validation = matched)",
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
    ]
