"""Content-addressed cache of tokenised features, shared by every stage of a runs directory.

A dataset split is tokenised once per (data fingerprint, tokenizer, maximum length, kind
code and options): the key is a SHA-256 of all of them, the value a pickle of the kind's
feature list under ``$XTUI_HOME/cache/features/<key>.pkl``, written atomically. Reading
never executes code: the unpickler refuses every class, so a cache file can only hold
dicts, lists, tuples, strings, numbers, booleans and None (what kinds produce). A damaged
or unreadable entry is recomputed; a cache that cannot be written is skipped.
"""

from __future__ import annotations

import hashlib
import json
import os
import pickle
import tempfile
from pathlib import Path
from typing import Any, Callable, Optional

FORMAT = "1"
PLAIN_TYPES = (dict, list, tuple, str, int, float, bool, type(None))


def code_digest(path: Optional[str]) -> str:
    """SHA-256 (16 hex digits) of a source file, so editing a kind invalidates its features."""
    if not path:
        return ""
    try:
        return hashlib.sha256(Path(path).read_bytes()).hexdigest()[:16]
    except OSError:
        return ""


def feature_key(data: str, tokenizer: str, max_length: int, kind: str, kind_version: str = "",
                kind_code: str = "", options: Optional[dict] = None, labels: Optional[list] = None,
                versions: Optional[dict] = None) -> str:
    """The cache key of one tokenised split."""
    payload = {"format": FORMAT, "data": data, "tokenizer": tokenizer, "max_length": max_length, "kind": kind,
               "kind_version": kind_version, "kind_code": kind_code, "options": options or {},
               "labels": list(labels or []), "versions": versions or {}}
    encoded = json.dumps(payload, sort_keys=True, separators=(",", ":"), default=str)
    return hashlib.sha256(encoded.encode()).hexdigest()


class _PlainUnpickler(pickle.Unpickler):
    def find_class(self, module, name):
        raise pickle.UnpicklingError(f"feature cache entries hold plain data only, not {module}.{name}")


def _plain(value: Any, depth: int = 0) -> bool:
    if not isinstance(value, PLAIN_TYPES):
        return False
    if depth > 3:
        return True
    if isinstance(value, dict):
        return all(isinstance(k, str) and _plain(v, depth + 1) for k, v in value.items())
    if isinstance(value, (list, tuple)):
        return all(_plain(v, depth + 1) for v in value[:4])
    return True


class FeatureCache:
    def __init__(self, folder: Optional[Path]):
        self.folder = Path(folder) if folder else None
        self.hits = 0
        self.misses = 0

    def path(self, key: str) -> Optional[Path]:
        return self.folder / f"{key}.pkl" if self.folder else None

    def load(self, key: str) -> Optional[list]:
        path = self.path(key)
        if path is None or not path.is_file():
            return None
        try:
            with open(path, "rb") as handle:
                value = _PlainUnpickler(handle).load()
        except Exception:  # damaged, truncated, or not plain data: recompute
            return None
        return value if isinstance(value, list) else None

    def save(self, key: str, features: list) -> bool:
        path = self.path(key)
        if path is None or not features or not _plain(features[0]):
            return False
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            handle, temporary = tempfile.mkstemp(dir=path.parent, prefix=".tmp-", suffix=".pkl")
            try:
                with os.fdopen(handle, "wb") as out:
                    pickle.dump(features, out, protocol=pickle.HIGHEST_PROTOCOL)
                os.replace(temporary, path)
            except BaseException:
                Path(temporary).unlink(missing_ok=True)
                raise
        except OSError:
            return False
        return True

    def get(self, key: str, compute: Callable[[], list]) -> list:
        """The cached features of ``key``, computing (and storing) them on a miss."""
        features = self.load(key)
        if features is not None:
            self.hits += 1
            return features
        self.misses += 1
        features = compute()
        self.save(key, features)
        return features
