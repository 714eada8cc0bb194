"""Plan-time checks of what a run will read, so that ``xtui run --dry-run`` refuses what a worker would fail on.

* Data: every local file a plan needs is read through the worker's own readers and converters
  (UTF-8, well formed, at least one example, QA answers aligned with their context); Hub data must be
  in the local ``datasets`` cache when it is offline.
* Models: a model folder (or the cached snapshot of a Hub id, offline) must have a config that names
  an architecture transformers knows, a tokenizer that loads, and weights.

Nothing here imports torch, transformers or datasets: a plan stays fast, and the app can check a spec
without loading torch. Results are cached per process (a file by its content digest).
"""

from __future__ import annotations

import ast
import json
import os
import re
from functools import lru_cache
from pathlib import Path
from typing import Optional

from .errors import DataError, SpecError
from .tasks import HubRef, Task

TRUE = ("1", "ON", "YES", "TRUE")

# ----------------------------------------------------------------------------------------- data

_SPLITS: dict = {}


def check_split(task: Task, language: str, split: str, data_dir: Optional[Path], misaligned: str = "error",
                count: bool = False) -> tuple:
    """Check the data of (language, split) as a worker would read it; returns (number of examples or None
    when that is not cheap to know, {file: questions left out for misaligned answers}). Raises DataError.

    Local files are read in full (once per process and content); generated data only when ``count``;
    Hub data is only checked to be cached when ``datasets`` is offline."""
    from .data import load_examples

    if task.generate is None and not task.uses_local(data_dir):
        check_hub_cached(task, language, split)
        return None, {}
    if task.generate is not None and not count:
        return None, {}
    key = (task.name, task.fingerprint(language, split, data_dir), misaligned)
    if key not in _SPLITS:
        skipped: dict = {}
        examples = load_examples(task, language, split, data_dir, misaligned, skipped)
        _SPLITS[key] = (len(examples), skipped)
    return _SPLITS[key]


def datasets_offline() -> Optional[str]:
    """The variable that makes ``datasets`` offline (as datasets.config reads it), or None."""
    if os.environ.get("HF_DATASETS_OFFLINE") is not None:
        return "HF_DATASETS_OFFLINE" if os.environ["HF_DATASETS_OFFLINE"].upper() in TRUE else None
    return "HF_HUB_OFFLINE" if os.environ.get("HF_HUB_OFFLINE", "").upper() in TRUE else None


def datasets_cache() -> Path:
    """``datasets``' cache folder, from the environment as datasets.config computes it."""
    if os.environ.get("HF_DATASETS_CACHE"):
        return Path(os.environ["HF_DATASETS_CACHE"]).expanduser()
    return _hf_home() / "datasets"


def hub_cache() -> Path:
    """The Hugging Face Hub cache folder (models), from the environment at call time."""
    for variable in ("HF_HUB_CACHE", "HUGGINGFACE_HUB_CACHE"):
        if os.environ.get(variable):
            return Path(os.environ[variable]).expanduser()
    return _hf_home() / "hub"


def _hf_home() -> Path:
    if os.environ.get("HF_HOME"):
        return Path(os.environ["HF_HOME"]).expanduser()
    return Path(os.environ.get("XDG_CACHE_HOME") or "~/.cache").expanduser() / "huggingface"


def _snake(name: str) -> str:
    """datasets.naming.camelcase_to_snakecase, which names a dataset's cache folder."""
    name = re.sub(r"([A-Z]+)([A-Z][a-z])", r"\1_\2", name)
    return re.sub(r"([a-z\d])([A-Z])", r"\1_\2", name).lower()


def hub_dataset_cached(ref: HubRef, cache: Optional[Path] = None) -> bool:
    """Whether offline ``datasets.load_dataset`` finds ``ref``'s config: it then reads the newest
    ``<cache>/<namespace>___<name>/<config>/<version>/<hash>/`` folder (datasets' cache module)."""
    parts = ref.dataset.split("/")
    parts[-1] = _snake(parts[-1])
    root = (cache or datasets_cache()) / "___".join(parts)
    configs = [root / ref.config] if ref.config else (list(root.iterdir()) if root.is_dir() else [])
    return any(version.is_dir() and any(h.is_dir() for h in version.iterdir())
               for config in configs if config.is_dir() for version in config.iterdir())


def _hub_refs(task: Task, language: str, split: str) -> list:
    refs = []
    for other in task.pool_languages(language, split):
        for part in task.split_parts.get(split, (split,)):
            refs.extend(task.hub_refs(other, part))
    if split in task.companions:
        refs.extend(task.hub_refs(task.companions[split], split))
    return list(dict.fromkeys(refs))


def check_hub_cached(task: Task, language: str, split: str) -> None:
    """Offline, every Hub dataset a split reads must be cached; DataError naming the first that is not."""
    variable = datasets_offline()
    if variable is None:
        return
    cache = datasets_cache()
    for ref in _hub_refs(task, language, split):
        if not hub_dataset_cached(ref, cache):
            config = f"config {ref.config}, " if ref.config else ""
            raise DataError(f"task {task.name!r} reads {ref.dataset} ({config}split {ref.split}) from the Hub, which is "
                            f"not in the local datasets cache ({cache}) and {variable} is set; download it once online, "
                            "or set data_dir (or XTUI_DATA_DIR) to a folder with a local copy")


# ----------------------------------------------------------------------------------------- models

WEIGHTS = ("model.safetensors", "model.safetensors.index.json", "pytorch_model.bin", "pytorch_model.bin.index.json")
VOCABULARIES = ("vocab.txt", "sentencepiece.bpe.model", "spiece.model", "tokenizer.model", "vocab.json")
_MODELS: dict = {}


def check_model_folder(folder: Path, label: str, weights: bool = True) -> None:
    """What ``AutoConfig`` / ``AutoTokenizer`` / ``AutoModel.from_pretrained`` will read from a model
    folder, checked without loading them: config.json (an object naming a model_type transformers
    knows), a tokenizer (tokenizer.json loaded by ``tokenizers``, or a vocabulary file), and weights.
    Raises SpecError on ``field 'model'``; cached per folder content."""
    from .models import _folder_fingerprint

    folder = Path(folder)
    key = (str(folder.resolve()), _folder_fingerprint(folder), weights)
    if key in _MODELS:
        if _MODELS[key]:
            raise SpecError(_MODELS[key])
        return
    problem = _model_problem(folder, label, weights)
    _MODELS[key] = problem and f"field 'model': {problem}"
    if problem:
        raise SpecError(_MODELS[key])


def _model_problem(folder: Path, label: str, weights: bool) -> Optional[str]:
    config, problem = _json_object(folder / "config.json")
    if problem:
        return problem
    model_type = config.get("model_type")
    known = known_model_types()
    if model_type is None:
        # AutoConfig falls back to a known model type named in the path (longest first)
        if known is not None and not any(name in str(folder) for name in known):
            return (f"{folder / 'config.json'} has no 'model_type', which transformers' AutoConfig needs to pick "
                    f"the architecture of {label}")
    elif not isinstance(model_type, str) or (known is not None and model_type not in known):
        return (f"{folder / 'config.json'}: model_type {model_type!r} is not an architecture this transformers knows; "
                "give a model folder saved by transformers (save_pretrained)")
    for name in ("tokenizer_config.json", "special_tokens_map.json"):
        if (folder / name).exists():
            _, problem = _json_object(folder / name)
            if problem:
                return problem
    problem = _tokenizer_problem(folder, label)
    if problem:
        return problem
    if weights and not any((folder / name).is_file() for name in WEIGHTS):
        return f"{label} has no weights (none of {', '.join(WEIGHTS)} in {folder})"
    return None


def _json_object(path: Path) -> tuple:
    try:
        raw = path.read_bytes()
    except FileNotFoundError:
        return None, f"no {path.name} in {path.parent}; give a model folder saved by transformers, a Hub id or a preset"
    except OSError as error:
        return None, f"{path} cannot be read ({error.strerror or type(error).__name__})"
    try:
        data = json.loads(raw.decode("utf-8"))
    except UnicodeDecodeError:
        return None, f"{path} is not UTF-8 text"
    except json.JSONDecodeError as error:
        return None, f"{path} is not valid JSON ({error.msg} at line {error.lineno})"
    if not isinstance(data, dict):
        return None, f"{path} is not a JSON object"
    return data, None


def _tokenizer_problem(folder: Path, label: str) -> Optional[str]:
    fast = folder / "tokenizer.json"
    if fast.is_file():
        try:
            from tokenizers import Tokenizer  # the Rust library AutoTokenizer's fast tokenizers are
        except ImportError:
            return None
        try:
            Tokenizer.from_file(str(fast))
        except Exception as error:  # tokenizers raises its own exception types
            return f"{fast} does not load as a tokenizer ({str(error).splitlines()[0][:160] if str(error) else type(error).__name__})"
        return None
    present = [folder / name for name in VOCABULARIES if (folder / name).is_file()]
    if not present:
        return (f"{label} has no tokenizer: none of tokenizer.json, {', '.join(VOCABULARIES)} in {folder} "
                "(save the tokenizer with the model)")
    for path in present:
        try:
            raw = path.read_bytes()
        except OSError as error:
            return f"{path} cannot be read ({error.strerror or type(error).__name__})"
        if not raw.strip():
            return f"{path} is empty; the tokenizer needs its vocabulary"
        if path.suffix in (".txt", ".json"):
            try:
                text = raw.decode("utf-8")
            except UnicodeDecodeError:
                return f"{path} is not UTF-8 text"
            if path.suffix == ".json":
                try:
                    json.loads(text)
                except json.JSONDecodeError as error:
                    return f"{path} is not valid JSON ({error.msg} at line {error.lineno})"
                if not (folder / "merges.txt").is_file():
                    return f"{label} has a vocab.json but no merges.txt (a BPE tokenizer needs both)"
    return None


@lru_cache(maxsize=1)
def known_model_types() -> Optional[frozenset]:
    """The model types of the installed transformers' ``CONFIG_MAPPING_NAMES``, read from its source
    without importing it (importing transformers imports torch); None when it cannot be read."""
    import importlib.util

    try:
        spec = importlib.util.find_spec("transformers")
    except (ImportError, ValueError):
        return None
    if spec is None or not spec.submodule_search_locations:
        return None
    auto = Path(list(spec.submodule_search_locations)[0]) / "models" / "auto"
    names: set = set()
    for file in ("auto_mappings.py", "configuration_auto.py"):
        try:
            tree = ast.parse((auto / file).read_text(encoding="utf-8"))
        except (OSError, SyntaxError, ValueError):
            continue
        for node in ast.walk(tree):
            if _names_mapping(node):
                names.update(_string_keys(node.value if isinstance(node, (ast.Assign, ast.AnnAssign)) else node))
    return frozenset(names) if len(names) > 50 else None


def _names_mapping(node) -> bool:
    """``CONFIG_MAPPING_NAMES = ...`` or ``CONFIG_MAPPING_NAMES.update(...)``."""
    if isinstance(node, ast.Assign):
        return any(isinstance(t, ast.Name) and t.id == "CONFIG_MAPPING_NAMES" for t in node.targets)
    if isinstance(node, ast.AnnAssign):
        return isinstance(node.target, ast.Name) and node.target.id == "CONFIG_MAPPING_NAMES"
    return (isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) and node.func.attr == "update"
            and isinstance(node.func.value, ast.Name) and node.func.value.id == "CONFIG_MAPPING_NAMES")


def _string_keys(node) -> set:
    keys = set()
    for child in ast.walk(node):
        if isinstance(child, ast.Dict):
            keys.update(k.value for k in child.keys if isinstance(k, ast.Constant) and isinstance(k.value, str))
        elif isinstance(child, ast.Tuple) and len(child.elts) == 2 and all(
                isinstance(e, ast.Constant) and isinstance(e.value, str) for e in child.elts):
            keys.add(child.elts[0].value)
    return keys


def check_hub_model_cached(name: str, label: str, presets: list) -> None:
    """Offline, a Hub model (``org/name`` or ``org/name@revision``) must be in the local cache with what
    the worker loads; SpecError otherwise."""
    from huggingface_hub import try_to_load_from_cache

    repo, _, revision = name.partition("@")
    try:
        cached = try_to_load_from_cache(repo, "config.json", cache_dir=str(hub_cache()), revision=revision or None)
    except Exception:  # an invalid repo id is the same mistake for the user
        cached = None
    if not isinstance(cached, str):
        raise SpecError(f"field 'model': {label} is not in the local Hugging Face cache ({hub_cache()}) and "
                        f"HF_HUB_OFFLINE is set; download it once online, or give a local folder or a preset ({', '.join(presets)})")
    check_model_folder(Path(cached).parent, f"{label} (cached in {Path(cached).parent})")
