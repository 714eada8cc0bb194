"""Deterministic generators of the demo tasks, from the word lists in ``lexicon.json``.

Every (task, language, split) has its own ``random.Random`` seeded by a CRC-32 of
``task/language/split``. Splits are generated in the order test, validation, train and
each one skips the examples of the splits before it, so no test sentence is also a
validation or training sentence (and no validation sentence a training one).
"""

from __future__ import annotations

import json
import random
import zlib
from functools import lru_cache
from pathlib import Path

from xtui.errors import DataError

SPLIT_ORDER = ("test", "validation", "train")
ENTITY_LABELS = ("O", "B-PER", "I-PER", "B-LOC", "I-LOC", "B-ORG", "I-ORG")


@lru_cache(maxsize=1)
def lexicon() -> dict:
    with open(Path(__file__).with_name("lexicon.json"), encoding="utf-8") as handle:
        return json.load(handle)


def _cap(text: str) -> str:
    return text[:1].upper() + text[1:]


# --- sentiment -------------------------------------------------------------------------


def _noun(entry):
    """(phrase, gender) of a noun entry: ``"the film"`` or ``["la película", "f"]``."""
    return tuple(entry) if isinstance(entry, list) else (entry, "m")


def _adj(rng, words, polarity, gender):
    adj = rng.choice(words["positive" if polarity else "negative"])
    return adj[gender == "f"] if isinstance(adj, list) else adj


def sentiment_example(rng: random.Random, words: dict, label: int) -> dict:
    """One review sentence whose sentiment (1 positive, 0 negative) is ``label``.

    The label is the polarity of the opinion word, flipped by negation; in a two-clause
    sentence ("X was A, but Y was B") the last clause decides.
    """
    cop, cop_neg = words["copula"]
    form = rng.random()
    if form < 0.2:  # two clauses, the second decides
        (first, first_gender), (second, second_gender) = map(_noun, rng.sample(words["nouns"], 2))
        contrast = rng.random() < 0.6
        first_polarity = 1 - label if contrast else label
        text = (
            f"{_cap(first)} {cop} {_adj(rng, words, first_polarity, first_gender)}"
            f"{words['but' if contrast else 'and']} {second} {cop} {_adj(rng, words, label, second_gender)}"
        )
    else:
        noun, gender = _noun(rng.choice(words["nouns"]))
        negated = rng.random() < 0.25
        polarity = 1 - label if negated else label
        if form < 0.65:
            adverb = rng.choice(words["intensifiers"]) + " " if rng.random() < 0.25 else ""
            text = f"{_cap(noun)} {cop_neg if negated else cop} {adverb}{_adj(rng, words, polarity, gender)}"
        else:
            verb = rng.choice(words["positive_verbs" if polarity else "negative_verbs"])
            text = f"{_cap(noun)} {verb[negated]}"
        if rng.random() < 0.25:
            text += rng.choice(words["suffixes"])
    text += "."
    if rng.random() < 0.2:
        text = rng.choice(words["openers"]) + " " + text
    return {"text": text, "text_pair": None, "label": label}


# --- entities --------------------------------------------------------------------------


def _person(rng, words):
    name = [rng.choice(words["first"])]
    if rng.random() < 0.85:
        name.append(rng.choice(words["last"]))
        if rng.random() < words.get("second_last", 0.0):
            name.append(rng.choice([w for w in words["last"] if w != name[-1]]))
    return " ".join(name)


def _organisation(rng, words):
    if rng.random() < 0.3:
        return _cap(rng.choice(words["org_patterns"]).replace("{LAST}", rng.choice(words["last"])))
    return rng.choice(words["orgs"])


def entity_example(rng: random.Random, words: dict, label=None) -> dict:
    """One sentence of a template with person, city and organisation slots, IOB2-tagged."""
    fill = {"PER": _person, "LOC": lambda r, w: r.choice(w["cities"]), "ORG": _organisation}
    tokens, tags, used = [], [], set()
    for token in rng.choice(words["templates"]).split():
        if token.startswith("{") and token.endswith("}"):
            kind = token[1:-1]
            name = fill[kind](rng, words)
            while name in used:  # "X met X in Y" reads badly
                name = fill[kind](rng, words)
            used.add(name)
            parts = name.split()
            tokens += parts
            tags += [ENTITY_LABELS.index(f"B-{kind}")] + [ENTITY_LABELS.index(f"I-{kind}")] * (len(parts) - 1)
        else:
            tokens.append(token)
            tags.append(0)
    return {"tokens": tokens, "tags": tags}


# --- NLI -------------------------------------------------------------------------------

NLI_LABELS = ("entailment", "neutral", "contradiction")


def nli_example(rng: random.Random, words: dict, label: int) -> dict:
    """A premise about one or two reviewed things and a hypothesis with relation ``label``.

    A strong opinion entails the generic one ("excellent" -> "good") and "not <opposite>";
    an opposite opinion, an antonym or a negation contradicts; a thing or a property the
    premise does not mention is neutral, and so is a strong opinion after a generic one
    ("good" -> "excellent"). Hypotheses are single claims ("was X", "was not X") or
    conjunctions ("was good and long"); each label uses every form about equally often,
    so the hypothesis alone says little about the label.
    """
    nouns, attrs = words["nouns"], words["attributes"]
    generic = (words["negative_generic"], words["positive_generic"])
    strong = (words["negative"], words["positive"])

    def opinion(polarity):  # a generic or a strong adjective, half and half
        return generic[polarity] if rng.random() < 0.5 else rng.choice(strong[polarity])

    first, second = rng.sample(sorted(nouns), 2)
    pol = rng.randrange(2)
    adj = generic[pol] if rng.random() < 0.25 else rng.choice(strong[pol])
    form = rng.choice(("single", "attribute", "two"))
    if form == "attribute":
        attr = rng.choice(nouns[first])
        value, antonym = rng.sample(attrs[attr], 2)
        premise = f"The {first} was {adj} and {value}."
    elif form == "two":
        pol2 = rng.randrange(2)
        adj2 = generic[pol2] if rng.random() < 0.25 else rng.choice(strong[pol2])
        premise = f"The {first} was {adj}{', and' if pol2 == pol else ', but'} the {second} was {adj2}."
        if rng.random() < 0.5:  # the hypothesis may be about either thing
            first, second, pol, adj = second, first, pol2, adj2
    else:
        premise = f"The {first} was {adj}."
    absent = rng.choice(sorted(set(nouns) - {first, second}))
    extra = rng.choice([a for a in nouns[first] if form != "attribute" or a != attr])
    kind = rng.choice(("opinion", "property", "conjunction")) if form == "attribute" else "opinion"
    negate = rng.random() < 0.5
    subject = first
    if kind == "opinion":
        if label == 0:
            same = sorted({generic[pol], adj} if form != "single" else {generic[pol]} - {adj})
            claim = rng.choice(same) if same and not negate else f"not {opinion(1 - pol)}"
        elif label == 2:
            claim = rng.choice([f"not {adj}", f"not {generic[pol]}"]) if negate else opinion(1 - pol)
        elif adj == generic[pol] and rng.random() < 0.5:  # "good" says nothing about "excellent"
            claim = ("not " if negate else "") + rng.choice(strong[pol])
        else:
            subject, claim = absent, ("not " if negate else "") + opinion(rng.randrange(2))
    elif kind == "property":  # neutral: a property the premise does not mention
        claim = {0: rng.choice([value, f"not {antonym}"]), 2: rng.choice([antonym, f"not {value}"]),
                 1: ("not " if negate else "") + rng.choice(attrs[extra])}[label]
    else:  # conjunction: both parts entailed; one unknown (neutral); one contradicted
        parts = {0: (generic[pol], value), 1: (generic[pol], rng.choice(attrs[extra])),
                 2: rng.choice([(generic[1 - pol], value), (generic[pol], antonym)])}[label]
        claim = " and ".join(parts[::-1] if negate else parts)
    hypothesis = f"The {subject} was {claim}."
    if hypothesis == premise:  # "good and long" from "good and long": say it the other way round
        hypothesis = f"The {subject} was {value} and {generic[pol]}."
    return {"text": premise, "text_pair": hypothesis, "label": label}


# --- splits ----------------------------------------------------------------------------


MAKERS = {"sentiment": (2, sentiment_example), "entities": (0, entity_example), "nli": (3, nli_example)}


def _key(example: dict):
    return tuple(example["tokens"]) if "tokens" in example else (example["text"], example["text_pair"])


def generate_split(name: str, section: str, language: str, split: str, sizes: dict) -> list:
    """``sizes[split]`` unique examples of ``language``, disjoint from the earlier splits.

    ``sizes`` maps each split the language has to its size; a split it lacks is a DataError.
    """
    if split not in sizes:
        have = ", ".join(s for s in ("train", "validation", "test") if s in sizes)
        raise DataError(f"{name}: the demo data has no {split!r} split for language {language!r} (it has: {have})")
    words = lexicon()[section][language]
    taken: set = set()
    for earlier in SPLIT_ORDER[: SPLIT_ORDER.index(split)]:
        if earlier in sizes:
            taken.update(_key(e) for e in generate_split(name, section, language, earlier, sizes))
    rng = random.Random(zlib.crc32(f"xtui_demo/{name}/{language}/{split}".encode()))
    n_labels, make = MAKERS[section]
    labels = [i % n_labels if n_labels else None for i in range(sizes[split])]  # balanced classes
    rng.shuffle(labels)
    examples = []
    for label in labels:
        for _ in range(1000):
            example = make(rng, words, label)
            if _key(example) not in taken:
                break
        else:
            raise RuntimeError(f"{name}/{language}/{split}: ran out of distinct examples")
        taken.add(_key(example))
        examples.append(example)
    return examples
