"""Sentence retrieval: no training of its own. The encoder of the parent stage (an
intermediate stage, or the pretrained model for ``none``) embeds both sides, pooling one
layer's hidden states: by default the mean over real tokens (special tokens included, as
XTREME's ``evaluate_retrieval.py`` and jiant do) of the layer at 14/24 of the depth; the
stage's ``layer`` and ``pooling`` (``mean`` or ``cls``, the first token) when the spec chose them.

* Tatoeba (default): row i's two sides are translations; each side's cosine nearest neighbour
  on the other side is found. The ``tatoeba`` scorer's headline is the official direction:
  target (English) rows query the source (non-English) side.
* Bitext mining (task option ``mining``, BUCC): each side is a set of monolingual sentences,
  rows with both sides are the gold pairs. Candidates are mined with the ratio margin (XTREME's
  ``max`` mining) on each part's distinct texts; the ``bucc`` scorer reads them back to sentence
  ids as the official reader does, chooses the threshold on the examples whose ``part`` is
  ``validation`` and measures F1 on the other part (a task's ``split_parts`` gives both to one
  evaluation). With a single part, the threshold is chosen on the scored data itself, an
  optimistic (oracle) F1.
"""

from __future__ import annotations

import numpy as np
import torch
from torch import nn

from ..retrieval import mine_candidates, nearest_indices
from .base import Kind

DEFAULT_LAYER = 14 / 24
"""The X-STILTs setting: layer 14 of XLM-R Large's 24 (as a fraction, for any depth)."""
SIDES = (("source", "source_id"), ("target", "target_id"))


class MeanPoolHead(nn.Module):
    """Mean over the real tokens of the layer the kind's ``encoder_layer`` names."""

    def forward(self, hidden, attention_mask=None):
        mask = attention_mask.unsqueeze(-1).to(hidden.dtype)
        return (hidden * mask).sum(1) / mask.sum(1).clamp(min=1e-9)


class FirstTokenHead(nn.Module):
    """The first token's hidden state (``cls``: XTREME's BUCC script, ``--pool_type cls``)."""

    def forward(self, hidden, attention_mask=None):
        return hidden[:, 0]


POOL_HEADS = {"mean": MeanPoolHead, "cls": FirstTokenHead}


class RetrievalKind(Kind):
    name = "retrieval"
    label_keys = ()

    @property
    def mining(self) -> bool:
        return bool(self.options.get("mining"))

    def default_scorer(self):
        return "bucc" if self.mining else "tatoeba"

    def features(self, examples):
        if self.mining:
            return self._mining_features(examples)
        texts = [e["source"] for e in examples] + [e["target"] for e in examples]
        encoded = self.tokenizer(texts, truncation=True, max_length=self.max_length)
        keys = [k for k in ("input_ids", "attention_mask") if k in encoded]
        count = len(examples)
        return [{**{k: encoded[k][i] for k in keys}, "example_index": i % count, "side": i // count}
                for i in range(len(texts))]

    def build_head(self, hidden_size, dropout):
        return POOL_HEADS[self.pooling or "mean"]()

    def encoder_layer(self):
        """The stage's layer, else the task option ``layer``, else 14/24 of the depth."""
        return self.layer if self.layer is not None else self.options.get("layer", DEFAULT_LAYER)

    def decode(self, logits, features):
        return list(logits.float().numpy())

    def outputs(self, predictions, examples, features):
        """Tatoeba: each row's nearest row on the other side, both directions. Mining: per part,
        the mined candidates ``[score, source text, target text]``, best first, those scoring
        above 0 (what LASER's ``mine_bitext`` writes)."""
        if self.mining:
            return mined_candidates(predictions, examples, features, k=int(self.options.get("neighbourhood", 4)))
        dim = len(predictions[0]) if predictions else 1
        sides = np.zeros((2, len(examples), dim))
        for vector, feature in zip(predictions, features):
            sides[feature["side"], feature["example_index"]] = vector
        return {"target_to_source": nearest_indices(sides[1], sides[0]).tolist(),
                "source_to_target": nearest_indices(sides[0], sides[1]).tolist()}

    def references(self, examples):
        if self.mining:
            return {"threshold_part": self.options.get("threshold_part", "validation"),
                    "parts": {part: {"source": data["sentences"][0], "target": data["sentences"][1],
                                     "gold": sorted(data["gold"])}
                              for part, data in mining_layout(examples).items()}}
        return list(range(len(examples)))

    def loss(self, logits, batch):
        raise RuntimeError("retrieval tasks are evaluated only; they have no training")

    # -- bitext mining ------------------------------------------------------------------------
    def _mining_features(self, examples):
        """One feature per distinct sentence of each (part, side): ``part``, ``side`` and
        ``sentence`` (its index in ``mining_layout``) say which."""
        layout = mining_layout(examples)
        texts, places = [], []
        for part, data in layout.items():
            for side in (0, 1):
                for position, text in enumerate(data["texts"][side]):
                    texts.append(text)
                    places.append((part, side, position, data["first"][side][position]))
        if not texts:
            return []
        encoded = self.tokenizer(texts, truncation=True, max_length=self.max_length)
        keys = [k for k in ("input_ids", "attention_mask") if k in encoded]
        return [{**{k: encoded[k][row] for k in keys}, "example_index": first, "side": side, "part": part,
                 "sentence": position}
                for row, (part, side, position, first) in enumerate(places)]


def mining_layout(examples) -> dict:
    """Per ``part`` (``""`` when examples have none): the distinct texts of each side (``texts``,
    what is embedded and mined), the first example of each (``first``), the sentences of each side
    as ``[id, text]`` (``sentences``, one per id) and the gold pairs of ids (``gold``).

    A sentence's id is its ``source_id`` / ``target_id`` when the row has one, else ``row-<index>``;
    an id seen again (the same sentence in two gold pairs) is one sentence. Identical texts are
    embedded and mined once, as in XTREME; a text that stands for several sentences is left out
    when the candidates are read back (``xtui.scorers.sentence_ids``).
    """
    layout: dict = {}
    for index, example in enumerate(examples):
        part = layout.setdefault(example.get("part", ""), {
            "texts": ([], []), "first": ([], []), "sentences": ([], []), "gold": set(),
            "_position": ({}, {}), "_seen": (set(), set())})
        pair = [None, None]
        for side, (field, id_field) in enumerate(SIDES):
            text = example.get(field)
            if not text:
                continue
            key = str(example[id_field]) if example.get(id_field) else f"row-{index}"
            pair[side] = key
            if key in part["_seen"][side]:
                continue
            part["_seen"][side].add(key)
            part["sentences"][side].append([key, text])
            if text not in part["_position"][side]:
                part["_position"][side][text] = len(part["texts"][side])
                part["texts"][side].append(text)
                part["first"][side].append(index)
        if pair[0] is not None and pair[1] is not None:
            part["gold"].add((pair[0], pair[1]))
    for part in layout.values():
        del part["_position"], part["_seen"]
    return layout


def mined_candidates(predictions, examples, features, k: int = 4) -> dict:
    """Per part, the margin-mined candidates ``[score, source text, target text]`` of the
    embeddings (one per feature, see ``RetrievalKind._mining_features``), best first, keeping
    those above 0 as ``mine_bitext`` (threshold 0) writes them."""
    layout = mining_layout(examples)
    dim = len(predictions[0]) if predictions else 1
    embeddings = {part: tuple(np.zeros((len(data["texts"][side]), dim)) for side in (0, 1))
                  for part, data in layout.items()}
    for vector, feature in zip(predictions, features):
        embeddings[feature["part"]][feature["side"]][feature["sentence"]] = vector
    return {part: [[float(score), data["texts"][0][i], data["texts"][1][j]]
                   for score, i, j in mine_candidates(*embeddings[part], k=k) if score > 0]
            for part, data in layout.items()}


def mining_metrics(predictions, examples, features, k: int = 4, threshold_part: str = "validation") -> dict:
    """The ``bucc`` scorer's metrics of the embeddings (see the module)."""
    from ..scorers import get_scorer

    kind = RetrievalKind((), None, 0, {"mining": True, "neighbourhood": k, "threshold_part": threshold_part})
    return get_scorer("bucc").score(kind.outputs(predictions, examples, features), kind.references(examples))


__all__ = ["RetrievalKind", "MeanPoolHead", "FirstTokenHead", "mined_candidates", "mining_layout", "mining_metrics",
           "torch"]
