"""Entity-linking retrieval (Mewsli-X, XTREME-R): a mention in its context retrieves the entity it
names from a fixed candidate set of entity descriptions in many languages; one shared encoder embeds
both sides (a dual encoder).

Examples come from the task's converter as text (see ``xtui.tasks``): training pairs ``{"query",
"candidate", "entity_id"}``; for evaluation, documents ``{"mentions": [{"id", "query", "entity_id"}],
"context_language"}`` and candidate entities ``{"entity_id", "candidate"}`` (the task's ``companions``
adds the candidate set to every language's test split).

* Training: one feature per pair, [query ids, candidate ids], embedded and scored as
  ``answer_retrieval`` does: the in-batch softmax over scaled cosine similarities, each mention against
  every description of the batch (another mention's identical description is not a negative), as
  XTREME-R's baseline trains (``third_party/run_retrieval_el.py``, ``BertForRetrieval``).
* Evaluation: one feature per mention of the stage's language (side 0) and per candidate (side 1).
  Each mention's candidates are ranked by cosine similarity (``xtui.retrieval.top_k``) and its top k
  entity ids are its prediction, what the ``mewslix`` scorer reads: ``{mention id: [entity ids]}``,
  gold ``{mention id: [entity id]}``, the official files' formats. Documents of other languages are
  left out: the published file holds every language (XTREME's preprocessing shards it per language).

Where this differs from XTREME-R's baseline, which embeds the first token through BERT's pooler and
learns the softmax scale (starting at 100): here both sides are pooled as ``answer_retrieval`` pools
(the mean of ``layer``) and ``scale`` is fixed (the task sets 100, the baseline's starting value).

Options: ``scale``, ``max_query_length`` and ``max_candidate_length`` (XTREME-R: 64 each; the stage's
max length caps both), ``k`` (20), ``layer`` (-1: the last).
"""

from __future__ import annotations

from typing import Optional

import numpy as np

from ..retrieval import top_k
from .answer_retrieval import DEFAULTS as ANSWER_DEFAULTS
from .answer_retrieval import AnswerRetrievalKind

DEFAULTS = {**ANSWER_DEFAULTS, "max_candidate_length": 64}


def entity_layout(examples, language: Optional[str] = None) -> dict:
    """The retrieval problem of a test split: ``mentions`` (those of ``language``'s documents, every
    document's when None, in file order) and ``candidates`` (the entity rows, in file order). No
    mention of ``language`` is a ValueError naming the documents' languages."""
    documents = [e for e in examples if "mentions" in e]
    mentions = [m for e in documents if language is None or e.get("context_language") == language
                for m in e["mentions"]]
    if documents and not mentions:
        found = ", ".join(sorted({str(e.get("context_language")) for e in documents}))
        raise ValueError(f"no mentions in language {language!r}: the documents are in {found}")
    return {"mentions": mentions, "candidates": [e for e in examples if "mentions" not in e]}


class EntityRetrievalKind(AnswerRetrievalKind):
    name = "entity_retrieval"
    defaults = DEFAULTS

    def _limit(self, option: str) -> int:
        return min(self.max_length, int(self.settings[option]))

    def features(self, examples):
        examples = list(examples)
        if any("mentions" in e for e in examples):
            return self._pool_features(examples)
        queries = self._encode([e["query"] for e in examples], self._limit("max_query_length"))
        candidates = self._encode([e["candidate"] for e in examples], self._limit("max_candidate_length"))
        return [{**{k: [query[k], candidate[k]] for k in query}, "example_index": index}
                for index, (query, candidate) in enumerate(zip(queries, candidates))]

    def _pool_features(self, examples):
        layout = entity_layout(examples, self.options.get("language") or None)
        queries = self._encode([m["query"] for m in layout["mentions"]], self._limit("max_query_length"))
        candidates = self._encode([c["candidate"] for c in layout["candidates"]], self._limit("max_candidate_length"))
        return ([{**q, "side": 0, "index": i} for i, q in enumerate(queries)]
                + [{**c, "side": 1, "index": i} for i, c in enumerate(candidates)])

    def outputs(self, predictions, examples, features):
        """Per mention of the stage's language: its top-k candidates' entity ids, best first."""
        layout = entity_layout(examples, self.options.get("language") or None)
        dim = len(predictions[0]) if predictions else 1
        sides = (np.zeros((len(layout["mentions"]), dim)), np.zeros((len(layout["candidates"]), dim)))
        for vector, feature in zip(predictions, features):
            sides[feature["side"]][feature["index"]] = vector
        ids = [str(c["entity_id"]) for c in layout["candidates"]]
        ranked = top_k(sides[0], sides[1], int(self.settings["k"]))
        return {str(m["id"]): [ids[i] for i in row] for m, row in zip(layout["mentions"], ranked)}

    def references(self, examples):
        layout = entity_layout(examples, self.options.get("language") or None)
        return {str(m["id"]): [str(m["entity_id"])] for m in layout["mentions"]}


__all__ = ["EntityRetrievalKind", "entity_layout"]
