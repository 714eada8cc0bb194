"""Sentence retrieval: no training of its own. The encoder of the parent stage (an
intermediate stage, or the pretrained model for ``none``) embeds both sides with mean
pooling of a middle layer.

* Tatoeba (default): row i's two sides are translations; cosine nearest neighbours are
  scored in both directions.
* Bitext mining (task option ``mining``, BUCC): each side is a set of monolingual sentences,
  rows with both sides are the gold pairs. Pairs are mined with the ratio margin (XTREME's
  ``max`` mining); the threshold is chosen on the examples whose ``part`` is ``validation``
  and F1 is measured on the other part (a task's ``split_parts`` gives both to one
  evaluation). With a single part, the threshold is chosen on the scored data itself, an
  optimistic (oracle) F1.
"""

from __future__ import annotations

import numpy as np
import torch
from torch import nn

from ..retrieval import best_threshold, bucc_scores, mine_candidates, tatoeba_accuracy
from .base import Kind

DEFAULT_LAYER = 14 / 24
"""The X-STILTs setting: layer 14 of XLM-R Large's 24 (as a fraction, for any depth)."""
SIDES = (("source", "source_id"), ("target", "target_id"))


class MeanPoolHead(nn.Module):
    """Mean of one hidden layer over the real tokens. ``hidden_layer`` tells TaskModel which."""

    def __init__(self, hidden_layer):
        super().__init__()
        self.hidden_layer = hidden_layer

    def forward(self, hidden, attention_mask):
        mask = attention_mask.unsqueeze(-1).to(hidden.dtype)
        return (hidden * mask).sum(1) / mask.sum(1).clamp(min=1e-9)


class RetrievalKind(Kind):
    name = "retrieval"
    label_keys = ()
    trains = False

    @property
    def mining(self) -> bool:
        return bool(self.options.get("mining"))

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
        return MeanPoolHead(self.options.get("layer", DEFAULT_LAYER))

    def decode(self, logits, features):
        return list(logits.float().numpy())

    def metrics(self, predictions, examples, features):
        if self.mining:
            return mining_metrics(predictions, examples, features, k=int(self.options.get("neighbourhood", 4)),
                                  threshold_part=self.options.get("threshold_part", "validation"))
        dim = len(predictions[0])
        sides = np.zeros((2, len(examples), dim))
        for vector, feature in zip(predictions, features):
            sides[feature["side"], feature["example_index"]] = vector
        return tatoeba_accuracy(sides[0], sides[1])

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
    """Per ``part`` (``""`` when examples have none): the distinct sentence texts of each side
    (``texts``), the first example of each (``first``), the sentence keys behind each text
    (``keys``: one text may stand for several sentences) and the gold pairs of keys (``gold``).

    A sentence's key is its id (``source_id`` / ``target_id``) when the row has one, else its
    row; a key seen again (the same sentence in two gold pairs) is one sentence. Identical texts
    are embedded and mined once and stand for all their keys, as in XTREME.
    """
    layout: dict = {}
    for index, example in enumerate(examples):
        part = layout.setdefault(example.get("part", ""), {
            "texts": ([], []), "first": ([], []), "keys": ([], []), "gold": set(),
            "_position": ({}, {}), "_seen": (set(), set())})
        pair = [None, None]
        for side, (field, id_field) in enumerate(SIDES):
            text = example.get(field)
            if not text:
                continue
            key = ("id", str(example[id_field])) if example.get(id_field) else ("row", index)
            pair[side] = key
            if key in part["_seen"][side]:
                continue
            part["_seen"][side].add(key)
            position = part["_position"][side].get(text)
            if position is None:
                position = part["_position"][side][text] = len(part["texts"][side])
                part["texts"][side].append(text)
                part["first"][side].append(index)
                part["keys"][side].append([])
            part["keys"][side][position].append(key)
        if pair[0] is not None and pair[1] is not None:
            part["gold"].add((pair[0], pair[1]))
    for part in layout.values():
        del part["_position"], part["_seen"]
    return layout


def mining_metrics(predictions, examples, features, k: int = 4, threshold_part: str = "validation") -> dict:
    """F1 of margin-mined pairs with the threshold chosen on ``threshold_part`` (see the module)."""
    layout = mining_layout(examples)
    dim = len(predictions[0]) if predictions else 1
    embeddings = {part: tuple(np.zeros((len(data["texts"][side]), dim)) for side in (0, 1))
                  for part, data in layout.items()}
    for vector, feature in zip(predictions, features):
        embeddings[feature["part"]][feature["side"]][feature["sentence"]] = vector

    def candidates(part: str) -> list:
        keys = layout[part]["keys"]
        return [(score, source, target)
                for score, i, j in mine_candidates(*embeddings[part], k=k)
                for source in keys[0][i] for target in keys[1][j]]

    parts = list(layout)
    if len(parts) == 1:
        chosen = scored = parts[0]
    else:
        others = [part for part in parts if part != threshold_part]
        if threshold_part not in layout or len(others) != 1:
            raise ValueError(f"bitext mining needs one {threshold_part!r} part and one part to score, got {parts}")
        chosen, scored = threshold_part, others[0]
    chosen_candidates = candidates(chosen)
    threshold = best_threshold(chosen_candidates, layout[chosen]["gold"])
    validation = bucc_scores(chosen_candidates, layout[chosen]["gold"], threshold)
    scores = validation if scored == chosen else bucc_scores(candidates(scored), layout[scored]["gold"], threshold)
    return {"f1": scores["f1"], "precision": scores["precision"], "recall": scores["recall"],
            "threshold": float(threshold), "validation_f1": validation["f1"]}


def layer_index(hidden_layer, num_layers: int) -> int:
    """An int is a layer number (0 = embeddings); a float is a fraction of the depth."""
    if isinstance(hidden_layer, float):
        return max(1, min(num_layers, round(num_layers * hidden_layer)))
    return int(hidden_layer)


__all__ = ["RetrievalKind", "MeanPoolHead", "layer_index", "mining_layout", "mining_metrics", "torch"]
