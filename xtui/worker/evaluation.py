"""Evaluating a model on a split: length-ordered batches, the kind's decoding and scorer, and the
decoded predictions kept next to the result (``xtui.predictions``).

With several processes, the length-ordered batches are dealt out round-robin (each process gets whole
batches, the same ones a one-process run makes, so the same numbers) and the decoded predictions gathered:
every example is decoded exactly once, nothing is padded or duplicated, and every process scores the whole
split (a selection decision must be the same on all of them)."""

from __future__ import annotations

from pathlib import Path
from typing import Optional


def evaluate(device, model, kind, features: list, examples: list, batch_size: int, keep: Optional[Path] = None,
             meta: Optional[dict] = None) -> dict:
    """The kind's metrics on ``features``; with ``keep``, the decoded predictions are saved there."""
    torch = device.torch
    accelerator = device.accelerator
    processes, rank = accelerator.num_processes, accelerator.process_index
    # the module itself: a DDP wrapper's forward would synchronise buffers with processes that run other batches
    model = accelerator.unwrap_model(model)
    model.eval()
    order = sorted(range(len(features)), key=lambda i: kind.length(features[i]))
    batches = [order[start:start + batch_size] for start in range(0, len(order), batch_size)]
    decoded: list = []
    inputs = [k for k in kind.model_inputs if k in ("input_ids", "attention_mask", "token_type_ids")]
    with torch.no_grad(), device.autocast():
        for indices in batches[rank::processes]:
            batch_features = [features[i] for i in indices]
            batch = kind.collate(batch_features)
            logits = model(**{k: batch[k].to(accelerator.device) for k in inputs if k in batch})
            decoded.extend(zip(indices, kind.decode(logits.float().cpu(), batch_features)))
    model.train()
    if processes > 1:
        from accelerate.utils import gather_object

        decoded = gather_object(decoded)
    predictions: list = [None] * len(features)
    for index, prediction in decoded:
        predictions[index] = prediction
    if len(decoded) != len(features):
        raise RuntimeError(f"evaluation decoded {len(decoded)} predictions for {len(features)} features")
    from ..predictions import score_and_keep

    return score_and_keep(kind, predictions, examples, features, keep, meta)
