"""Building a stage's model: the encoder from its parent's checkpoint (or the base model), the
head from the parent when it was trained on the same task, fresh otherwise. Within a group of
small stages sharing a parent, the parent is loaded once and its weights are restored in place
between stages (no rebuild); checkpoints are written as safetensors, renamed into place whole."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

from ..files import read_json
from .faults import fault


class ModelBuilder:
    def __init__(self, device, data):
        self.device, self.data = device, data
        self.parent_state: dict = {}
        """parent folder -> (encoder config, {"encoder": state, "head": state}) of a group's parent."""
        self.parent_models: dict = {}
        """parent folder -> (reuse key, model) the group's stages share."""

    def build(self, stage, kind):
        from ..kinds.base import TaskModel

        torch = self.device.torch
        parent_dir = stage.parent_dir
        parent = read_json(Path(parent_dir) / "stage.json") if parent_dir else None
        same_task = parent is not None and parent["task"] == stage.task
        grouped = bool(parent_dir) and stage.type.grouped
        reuse_key = (type(kind), tuple(kind.labels), stage.task, kind.pooling, kind.encoder_layer())
        reusable = self.parent_models.get(parent_dir) if grouped else None
        if reusable is not None and reusable[0] == reuse_key and parent_dir in self.parent_state and same_task:
            # Another stage of this group: restore the parent's weights in place (no model build).
            model, state = reusable[1], self.parent_state[parent_dir][1]
            model.encoder.load_state_dict(state["encoder"])
            model.head.load_state_dict(state["head"])
            torch.manual_seed(stage.seed)
            return model
        encoder = self._encoder(stage, parent_dir)
        torch.manual_seed(stage.seed)
        head = kind.build_head(encoder.config.hidden_size, getattr(encoder.config, "hidden_dropout_prob", 0.1))
        if same_task:
            head.load_state_dict(self._parent_head(parent_dir))
        if parent_dir and parent_dir not in self.parent_state and grouped:
            self.parent_state[parent_dir] = (
                encoder.config, {"encoder": {k: v.clone() for k, v in encoder.state_dict().items()},
                                 "head": {k: v.clone() for k, v in head.state_dict().items()}})
        model = TaskModel(encoder, head, kind.encoder_layer())
        if grouped:
            self.parent_models[parent_dir] = (reuse_key, model)
        return model

    def _encoder(self, stage, parent_dir):
        from transformers import AutoModel

        if parent_dir and parent_dir in self.parent_state:
            encoder_config, state = self.parent_state[parent_dir]
            encoder = AutoModel.from_config(encoder_config)
            encoder.load_state_dict(state["encoder"])
            return encoder
        if parent_dir:
            return AutoModel.from_pretrained(Path(parent_dir) / "checkpoint")
        if stage.model["tiny"]:
            from transformers import XLMRobertaConfig

            from ..models import TINY_CONFIG

            tokenizer = self.data.tokenizer(stage.model)
            config = {k: v for k, v in TINY_CONFIG.items() if k != "model_type"}
            self.device.torch.manual_seed(stage.seed)
            return AutoModel.from_config(XLMRobertaConfig(vocab_size=len(tokenizer), pad_token_id=tokenizer.pad_token_id,
                                                          **config))
        name, _, revision = stage.model["source"].partition("@")
        return AutoModel.from_pretrained(name, revision=revision or None)

    def _parent_head(self, parent_dir) -> dict:
        if parent_dir in self.parent_state:
            return self.parent_state[parent_dir][1]["head"]
        from safetensors.torch import load_file

        return load_file(Path(parent_dir) / "checkpoint" / "head.safetensors")

    def save_checkpoint(self, model, stage_dir: Path) -> None:
        """The encoder (``save_pretrained``) and ``head.safetensors``, written to ``checkpoint.partial/``
        and renamed to ``checkpoint/`` only when complete."""
        from safetensors.torch import save_file

        if not self.device.main:
            return
        final, partial = stage_dir / "checkpoint", stage_dir / "checkpoint.partial"
        if partial.exists():
            shutil.rmtree(partial)
        model.encoder.save_pretrained(partial)
        fault("checkpoint")
        save_file({k: v.contiguous() for k, v in model.head.state_dict().items()}, partial / "head.safetensors")
        if final.exists():
            shutil.rmtree(final)
        os.replace(partial, final)
