"""What a worker reads, loaded once per process and shared by a group's stages: tasks (through the
plugin registry), tokenizers, examples, and tokenised features through the content-addressed
feature cache in the folder the stage names (``cache_dir``)."""

from __future__ import annotations

import inspect
from pathlib import Path
from typing import Optional


def _source_of(thing) -> Optional[str]:
    try:
        return inspect.getsourcefile(thing) if thing is not None else None
    except TypeError:
        return None


class StageData:
    def __init__(self, device, cache_dir: Optional[Path] = None):
        self.device = device
        self.cache_dir = cache_dir
        self.registry = None
        self.tokenizers: dict = {}
        self.examples_cache: dict = {}
        self.features_cache: dict = {}
        self.feature_cache = None

    def use_stage(self, stage) -> None:
        """Take the stage's cache folder (the executor names it; nothing is inferred here)."""
        if stage.cache_dir and self.cache_dir is None:
            self.cache_dir = Path(stage.cache_dir)

    # -- tasks, tokenizers, examples -----------------------------------------------------------
    def task(self, name: str, data_dir: Optional[str] = None):
        """A registered task; with ``data_dir``, resolved against it (label files)."""
        from ..plugins import load_plugins

        if self.registry is None:
            self.registry = load_plugins()
        task = self.registry.task(name)
        return task.with_data(Path(data_dir)) if data_dir else task

    def tokenizer(self, model: dict):
        from transformers import AutoTokenizer

        source = model["source"]
        if source not in self.tokenizers:
            name, _, revision = source.partition("@")
            self.tokenizers[source] = AutoTokenizer.from_pretrained(name, revision=revision or None)
        return self.tokenizers[source]

    def examples(self, task, language: str, split: str, data_dir: Optional[str] = None,
                 misaligned: Optional[str] = None) -> list:
        """``misaligned``: the stage's ``misaligned_answers`` (None: the default, an error)."""
        from ..data import load_examples

        key = (task.name, language, split, data_dir, misaligned)
        if key not in self.examples_cache:
            self.examples_cache[key] = load_examples(task, language, split, Path(data_dir) if data_dir else None,
                                                     misaligned or "error")
        return self.examples_cache[key]

    # -- features --------------------------------------------------------------------------------
    def features(self, kind, task, language: str, split: str, data_dir: Optional[str] = None, model: dict = None,
                 kind_ref=None, misaligned: Optional[str] = None) -> list:
        """Tokenised features of a split: once per process, and once per runs directory through the
        content-addressed cache (data fingerprint, tokenizer, max length, kind code, options)."""
        key = self.feature_key(kind, task, language, split, data_dir, model, kind_ref, misaligned)
        if key not in self.features_cache:
            from ..featcache import FeatureCache

            if self.feature_cache is None:
                self.feature_cache = FeatureCache(self.cache_dir)
            self.features_cache[key] = self.feature_cache.get(
                key, lambda: kind.features(self.examples(task, language, split, data_dir, misaligned)))
        return self.features_cache[key]

    def feature_key(self, kind, task, language: str, split: str, data_dir: Optional[str], model: dict, kind_ref,
                    misaligned: Optional[str] = None) -> str:
        import tokenizers
        import transformers

        from .. import __version__
        from ..featcache import code_digest, feature_key

        return feature_key(
            data=task.fingerprint(language, split, Path(data_dir) if data_dir else None),
            tokenizer=model.get("fingerprint") or model["source"],
            max_length=kind.max_length, kind=kind_ref.target if kind_ref else type(kind).__name__,
            kind_version=str(kind_ref.version if kind_ref else ""), kind_code=code_digest(_source_of(type(kind))),
            # questions left out by misaligned_answers = "skip" make other features of the same file
            # (only then in the key: the default's keys, and the cache, are unchanged)
            options={**dict(kind.options), **({"misaligned_answers": misaligned} if misaligned else {})},
            labels=list(kind.labels),
            versions={"xtui": __version__, "transformers": transformers.__version__, "tokenizers": tokenizers.__version__,
                      "convert": code_digest(_source_of(task.convert))},
        )


class StageReader:
    """The data of one stage, as a kind's ``training_data`` asks for it (see xtui.kinds.base.Kind)."""

    def __init__(self, data: StageData, stage, evaluate):
        self.data, self.stage, self._evaluate = data, stage, evaluate

    def task(self, name: str):
        return self.data.task(name, self.stage.data_dir)

    def tokenizer(self):
        return self.data.tokenizer(self.stage.model)

    def features(self, kind, task, language: str, split: str, kind_ref=None) -> list:
        return self.data.features(kind, task, language, split, self.stage.data_dir, self.stage.model,
                                  kind_ref or self.stage.kind, self.stage.misaligned_answers)

    def examples(self, task, language: str, split: str) -> list:
        return self.data.examples(task, language, split, self.stage.data_dir, self.stage.misaligned_answers)

    def evaluate(self, model, kind, features: list, examples: list) -> dict:
        return self._evaluate(model, kind, features, examples, self.stage.eval_batch)

    def unwrap(self, model):
        """The model without Accelerate's wrappers (its ``head`` is the kind's)."""
        return self.data.device.accelerator.unwrap_model(model)
