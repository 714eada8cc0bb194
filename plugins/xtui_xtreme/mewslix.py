"""Mewsli-X rows as entity-retrieval examples, with the text XTREME-R's baseline embeds.

The dataset's JSON-lines records (google-research ``dense_representations_for_entity_retrieval/mel/
mewsli-x.md``; the same on the Hub, where ``datasets`` reads the nested objects as dicts):

* an entity of ``candidate_set_entities.jsonl``: ``entity_id``, ``title``, ``description``,
  ``description_url``, ``description_language``, ``sentence_spans`` (``[{"start", "end"}]`` into
  ``description``);
* a document of ``wikinews_mentions-{dev,test}.jsonl``: ``context`` (``document_id``, ``language``,
  ``text``, ``sentence_spans`` ...) and ``mentions`` (``[{"example_id", "mention_span": {"start",
  "end", "text"}, "entity_id"}]``);
* a training pair of ``wikipedia_pairs-{train,dev}.jsonl``: ``contextual_mention`` (``context`` and
  one ``mention``) and its ``entity``.

The texts are those of xtreme ``third_party/utils_mewslix.py``: a mention becomes
``preprocess_mention``'s string (the sentence holding it, the mention marked with ``{ }`` and also put
first, ``"Helsinki: In Helsinki, ..."``), an entity ``preprocess_entity_description``'s (its
sentences joined by spaces); ``mention_query`` and ``entity_text`` reproduce them. Spans are checked
as that module's ``schema`` checks them: a mention whose text is not the context's at its offsets, or
that no single sentence holds, is a ValueError naming it.
"""

from __future__ import annotations

import re
from typing import Any, Mapping, Sequence

MARKED = re.compile(r"\{(.*?)\}")
"""Text already between the markers ``{`` ``}``; it is rewritten as ``(...)`` so only the mention is marked."""


def normalised(text: str) -> str:
    """utils_mewslix's last step: lines joined by spaces, each double space made one (one pass), stripped."""
    return " ".join(text.splitlines()).replace("  ", " ").strip()


def spans(raw: Sequence[Mapping[str, Any]], text: str, what: str) -> list:
    """``(start, end)`` of each ``{"start", "end"}`` of ``raw``, each a non-empty span inside ``text``."""
    found = []
    for span in raw:
        start, end = span["start"], span["end"]
        if not (isinstance(start, int) and isinstance(end, int) and 0 <= start < end <= len(text)):
            raise ValueError(f"{what}: sentence span {start}-{end} is not a non-empty span of its "
                             f"{len(text)}-character text")
        found.append((start, end))
    return found


def entity_text(entity: Mapping[str, Any]) -> str:
    """The description an entity is embedded as: its sentences, joined by spaces, normalised."""
    description = entity["description"]
    if not isinstance(description, str):
        raise ValueError(f"entity {entity.get('entity_id')!r}: description must be a string")
    sentences = spans(entity["sentence_spans"], description, f"entity {entity.get('entity_id')!r}")
    return normalised(" ".join(description[start:end] for start, end in sentences))


def mention_query(context: Mapping[str, Any], mention: Mapping[str, Any]) -> str:
    """The query a mention is embedded as: ``"<mention>: <left> { <mention> } <right>"`` over the one
    sentence of the context that holds it, earlier ``{...}`` in that sentence written ``(...)``."""
    text, span = context["text"], mention["mention_span"]
    start, end, surface = span["start"], span["end"], span["text"]
    where = f"mention {mention.get('example_id')!r}"
    if not text:
        raise ValueError(f"{where}: its context has no text (the released wikinews_mentions_no_text files leave it "
                         "out: run get-mewsli-x.sh, which restores it)")
    if not (isinstance(start, int) and isinstance(end, int) and 0 <= start < end <= len(text)) \
            or text[start:end] != surface:
        raise ValueError(f"{where}: {surface!r} is not the context's text at {start}-{end}")
    sentence = next(((s, e) for s, e in spans(context["sentence_spans"], text, where) if s <= start and end <= e), None)
    if sentence is None:
        raise ValueError(f"{where}: no sentence span holds {surface!r} at {start}-{end} (it crosses a sentence "
                         "boundary, or the context has no sentence spans)")
    left = MARKED.sub(r"(\1)", text[sentence[0]:start])
    right = MARKED.sub(r"(\1)", text[end:sentence[1]])
    return normalised(f"{surface}: {left} {{ {surface} }} {right}")


def convert_mewslix(row: Mapping[str, Any]) -> dict:
    """A training pair, a document of mentions or a candidate entity (see the module), by its fields."""
    if "contextual_mention" in row:
        contextual, entity = row["contextual_mention"], row["entity"]
        return {"query": mention_query(contextual["context"], contextual["mention"]), "candidate": entity_text(entity),
                "entity_id": str(entity["entity_id"])}
    if "mentions" in row:
        context = row["context"]
        return {"context_language": str(context["language"]),
                "mentions": [{"id": str(m["example_id"]), "query": mention_query(context, m),
                              "entity_id": str(m["entity_id"])} for m in row["mentions"]]}
    if "entity_id" in row and "description" in row:
        return {"entity_id": str(row["entity_id"]), "candidate": entity_text(row)}
    raise KeyError("none of contextual_mention (a training pair), mentions (a document), entity_id and description "
                   "(a candidate entity)")
