"""Run directories (the truth on disk) and the TinyDB index (a rebuildable view of them).

Layout under ``$XTUI_HOME`` (default ``./runs``)::

    index.json  index.lock
    experiments/<id>/experiment.json  spec.toml
    stages/<hash[:16]>/stage.json  events.jsonl  result.json  checkpoint/  worker.log

Only the supervisor writes the index, under a file lock, with an atomic replace. Each
transaction opens the file afresh, so no process works from a stale cache or id counter.
"""

from __future__ import annotations

import json
import os
import re
import threading
from contextlib import contextmanager
from pathlib import Path
from typing import Iterator, Optional

from tinydb import Query, TinyDB
from tinydb.storages import Storage

from .errors import StoreError
from .files import atomic_write_text, read_json

ID_PATTERN = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$")


def xtui_home(value: Optional[str] = None) -> Path:
    return Path(value or os.environ.get("XTUI_HOME") or "runs").expanduser().resolve()


class AtomicJSONStorage(Storage):
    """TinyDB storage that replaces the file atomically on every write."""

    def __init__(self, path: str, **_):
        self.path = Path(path)

    def read(self) -> Optional[dict]:
        try:
            text = self.path.read_text(encoding="utf-8")
        except FileNotFoundError:
            return None
        if not text.strip():
            return None
        try:
            return json.loads(text)
        except json.JSONDecodeError:
            raise _damaged(self.path) from None

    def write(self, data: dict) -> None:
        atomic_write_text(self.path, json.dumps(data, ensure_ascii=False, separators=(",", ":")))

    def close(self) -> None:
        pass


class RunStore:
    def __init__(self, home: Optional[Path] = None):
        self.home = Path(home) if home else xtui_home()
        self.index_path = self.home / "index.json"

    # -- directories ------------------------------------------------------------------------
    def ensure(self) -> None:
        try:
            (self.home / "stages").mkdir(parents=True, exist_ok=True)
            (self.home / "experiments").mkdir(parents=True, exist_ok=True)
            # one probe per process and thread: two writers ensuring at once must not unlink each other's
            probe = self.home / f".write-test-{os.getpid()}-{threading.get_ident()}"
            probe.write_text("")
            probe.unlink(missing_ok=True)
        except OSError as error:
            raise StoreError(f"runs directory {self.home} is not writable ({error.strerror}); set XTUI_HOME to a writable folder") from None

    def stage_dir(self, digest: str) -> Path:
        if not re.fullmatch(r"[0-9a-f]{16,64}", digest):
            raise StoreError(f"invalid stage hash {digest!r}")
        return self.home / "stages" / digest[:16]

    def experiment_dir(self, experiment_id: str) -> Path:
        if not ID_PATTERN.match(experiment_id) or ".." in experiment_id:
            raise StoreError(f"invalid experiment id {experiment_id!r}")
        return self.home / "experiments" / experiment_id

    def stage_result(self, digest: str) -> Optional[dict]:
        result = read_json(self.stage_dir(digest) / "result.json")
        if result and result.get("status") == "done" and result.get("hash") == digest:
            return result
        return None

    def experiment_ids_on_disk(self) -> list:
        folder = self.home / "experiments"
        if not folder.is_dir():
            return []
        return sorted(p.name for p in folder.iterdir() if (p / "experiment.json").is_file())

    def read_experiment(self, experiment_id: str) -> Optional[dict]:
        return read_json(self.experiment_dir(experiment_id) / "experiment.json")

    # -- the index ------------------------------------------------------------------------------
    @contextmanager
    def index(self, write: bool = False) -> Iterator[TinyDB]:
        from filelock import FileLock

        if write:
            self.ensure()
        lock = FileLock(str(self.home / "index.lock"), timeout=60) if self.home.is_dir() else None
        if lock is None:
            db = TinyDB(storage=_EmptyStorage)
            yield db
            return
        with lock:
            db = TinyDB(str(self.index_path), storage=AtomicJSONStorage)
            try:
                yield db
            finally:
                db.close()

    def upsert_experiment(self, record: dict) -> None:
        with self.index(write=True) as db:
            db.table("experiments").upsert(record, Query().id == record["id"])

    def upsert_stages(self, summaries: list) -> None:
        if not summaries:
            return
        with self.index(write=True) as db:
            table = db.table("stages")
            for summary in summaries:
                table.upsert(summary, Query().hash == summary["hash"])

    def experiments(self) -> list:
        """Experiment summaries, oldest first (plain dicts). Only the experiments table is parsed:
        listing stays fast with hundreds of thousands of stage summaries in the index."""
        return sorted(self._read_table("experiments"), key=lambda r: r.get("created", 0))

    def _read_table(self, name: str) -> list:
        from filelock import FileLock

        if not self.home.is_dir():
            return []
        with FileLock(str(self.home / "index.lock"), timeout=60):
            try:
                text = self.index_path.read_text(encoding="utf-8")
            except FileNotFoundError:
                return []
        if not text.strip():
            return []
        table = leading_table(text, name, self.index_path)
        if table is None:
            try:
                data = json.loads(text)
            except json.JSONDecodeError:
                raise _damaged(self.index_path) from None
            table = data.get(name) if isinstance(data, dict) else None
        return list(table.values()) if isinstance(table, dict) else []

    def stage_summaries(self) -> list:
        with self.index() as db:
            return db.table("stages").all()

    def resolve_experiment(self, name: str) -> dict:
        """An experiment by id, unique id prefix, name (its latest run) or ``latest``."""
        records = self.experiments()
        if not records:
            on_disk = self.experiment_ids_on_disk()
            if on_disk:
                raise StoreError(f"the index at {self.index_path} is empty but {len(on_disk)} experiments are on disk; run `xtui runs reindex`")
            raise StoreError(f"no experiments in {self.home} yet; start one with `xtui run SPEC`")
        if name == "latest":
            return records[-1]
        exact = [r for r in records if r["id"] == name]
        if exact:
            return exact[0]
        prefixed = [r for r in records if r["id"].startswith(name)]
        if len(prefixed) == 1:
            return prefixed[0]
        named = [r for r in records if r.get("name") == name]
        if named:
            return named[-1]
        if len(prefixed) > 1:
            raise StoreError(f"experiment {name!r} is ambiguous: {', '.join(r['id'] for r in prefixed[:5])}")
        raise StoreError(f"no experiment {name!r} in {self.home} (try `xtui runs list`, or 'latest')")

    def reindex(self) -> tuple:
        """Rebuild the index from the run directories; returns (experiments, stages)."""
        from .results import stage_summary

        experiments, stages = [], {}
        for experiment_id in self.experiment_ids_on_disk():
            record = self.read_experiment(experiment_id)
            if not record:
                continue
            experiments.append(index_record(record))
            for digest in record.get("stages", []):
                if digest not in stages:
                    stages[digest] = stage_summary(self, digest)
        self.ensure()
        with self.index(write=True) as db:
            db.drop_tables()
            db.table("experiments").insert_multiple(experiments)
            db.table("stages").insert_multiple(list(stages.values()))
        return len(experiments), len(stages)


def _damaged(path: Path) -> StoreError:
    return StoreError(f"index {path} is not valid JSON; rebuild it from the run directories with `xtui runs reindex`")


def leading_table(text: str, name: str, path: Path) -> Optional[dict]:
    """The table ``name`` of an index's text when it is the file's first table (as xtui writes it),
    parsed without parsing the tables after it (at scale the stages table is most of the file);
    None when the table is not first. A file cut short is reported as damaged."""
    match = re.match(r'\s*\{\s*"' + re.escape(name) + r'"\s*:\s*', text)
    if match is None:
        return None
    if not text.rstrip().endswith("}"):
        raise _damaged(path)
    try:
        table, _ = json.JSONDecoder().raw_decode(text, match.end())
    except json.JSONDecodeError:
        raise _damaged(path) from None
    if not isinstance(table, dict):
        raise _damaged(path)
    return table


class _EmptyStorage(Storage):
    def __init__(self, *_, **__):
        pass

    def read(self):
        return None

    def write(self, data):
        pass


INDEX_FIELDS = ("id", "name", "status", "model", "intermediate", "target", "languages", "shots", "shot_sets",
                "seeds", "created", "finished", "stage_count", "reused", "failed_stages", "headline", "spec_path", "host", "pid")


def index_record(experiment: dict) -> dict:
    """The index keeps experiments' summaries only, never curves or whole results."""
    return {key: experiment.get(key) for key in INDEX_FIELDS}
