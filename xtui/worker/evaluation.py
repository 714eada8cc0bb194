"""Evaluating a model on a split: length-ordered batches, the kind's decoding and scorer, and the
decoded predictions kept next to the result (``xtui.predictions``)."""

from __future__ import annotations

from pathlib import Path
from typing import Optional


def evaluate(device, model, kind, features: list, examples: list, batch_size: int, keep: Optional[Path] = None,
             meta: Optional[dict] = None) -> dict:
    """The kind's metrics on ``features``; with ``keep``, the decoded predictions are saved there."""
    torch = device.torch
    model.eval()
    order = sorted(range(len(features)), key=lambda i: kind.length(features[i]))
    predictions: list = [None] * len(features)
    inputs = [k for k in kind.model_inputs if k in ("input_ids", "attention_mask", "token_type_ids")]
    with torch.no_grad(), device.autocast():
        for start in range(0, len(order), batch_size):
            indices = order[start:start + batch_size]
            batch_features = [features[i] for i in indices]
            batch = kind.collate(batch_features)
            logits = model(**{k: batch[k].to(device.accelerator.device) for k in inputs if k in batch})
            for index, prediction in zip(indices, kind.decode(logits.float().cpu(), batch_features)):
                predictions[index] = prediction
    model.train()
    from ..predictions import score_and_keep

    return score_and_keep(kind, predictions, examples, features, keep, meta)
