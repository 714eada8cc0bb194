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
        text = read_index_text(self.path)
        if text is None:
            return None
        try:
            data = json.loads(text)
        except json.JSONDecodeError:
            raise _damaged(self.path) from None
        return check_index_shape(data, self.path)

    def write(self, data: dict) -> None:
        atomic_write_text(self.path, json.dumps(data, ensure_ascii=False, separators=(",", ":")))

    def close(self) -> None:
        pass


class RunStore:
    def __init__(self, home: Optional[Path] = None):
        self.home = Path(home) if home else xtui_home()
        self.index_path = self.home / "index.json"
        self.reindex_skipped: list = []
        """The damaged experiment records the last ``reindex`` left out, one line each."""

    # -- directories ------------------------------------------------------------------------
    def check_home(self, writing: bool = False) -> None:
        """One line when the runs directory cannot be one: it, or a folder above it, is a file."""
        blocker = next((p for p in (self.home, *self.home.parents) if p.exists() and not p.is_dir()), None)
        if blocker is not None:
            verb = "is not writable" if writing else "cannot be read"
            raise StoreError(f"runs directory {self.home} {verb}: {blocker} is a file, not a folder; "
                             f"set XTUI_HOME to a {'writable ' if writing else ''}folder")

    def check_usable(self) -> None:
        """What a run needs of the runs directory, checked without writing anything (so that a dry run
        refuses what the run would): a folder that can be created and written, and an index in shape."""
        self.check_home(writing=True)
        existing = next(p for p in (self.home, *self.home.parents) if p.exists())
        if not os.access(existing, os.W_OK):
            raise StoreError(f"runs directory {self.home} is not writable (permissions of {existing}); "
                             "set XTUI_HOME to a writable folder")
        text = read_index_text(self.index_path)
        if text is not None:
            try:
                check_index_shape(json.loads(text), self.index_path)
            except json.JSONDecodeError:
                raise _damaged(self.index_path) from None

    def ensure(self) -> None:
        self.check_home(writing=True)
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
        if isinstance(result, dict) and result.get("status") == "done" and result.get("hash") == digest:
            return result
        return None

    def damaged_files(self, digests: list) -> list:
        """(path, why) of the stage files of ``digests`` that exist but cannot be what they claim:
        result.json and stage.json that do not parse (or belong to another stage), a stage.json the
        stage contract cannot read (xtui.stage: schema, fields, hash), and the events of unfinished
        stages with lines that are not JSON events."""
        from .files import EventTail
        from .stage import StageConfig, StageError

        damaged = []
        for digest in dict.fromkeys(digests):
            folder = self.stage_dir(digest)
            for name in ("result.json", "stage.json"):
                why = json_file_damage(folder / name, digest)
                if why is None and name == "stage.json" and (folder / name).is_file():
                    try:  # it parses: views read it strictly, and would show a stage of no type
                        StageConfig.from_json(read_json(folder / name))
                    except StageError as error:
                        why = str(error)
                if why:
                    damaged.append((folder / name, why))
            if self.stage_result(digest) is None:
                tail = EventTail(folder / "events.jsonl")
                tail.read()
                if tail.bad_lines:
                    damaged.append((folder / "events.jsonl", f"line {tail.first_bad} is not a JSON event"
                                    + (f", and {tail.bad_lines - 1} more" if tail.bad_lines > 1 else "")))
        return damaged

    def experiment_ids_on_disk(self) -> list:
        folder = self.home / "experiments"
        if not folder.is_dir():
            return []
        return sorted(p.name for p in folder.iterdir() if (p / "experiment.json").is_file())

    def read_experiment(self, experiment_id: str) -> Optional[dict]:
        """The experiment's record, or None when it is missing or damaged (views skip it)."""
        record = read_json(self.experiment_dir(experiment_id) / "experiment.json")
        return record if isinstance(record, dict) else None

    def experiment_record(self, experiment_id: str) -> Optional[dict]:
        """The experiment's record; None when its folder has none; StoreError naming the file when it
        is damaged (commands that act on one experiment say so instead of calling it gone)."""
        path = self.experiment_dir(experiment_id) / "experiment.json"
        if not path.exists():
            return None
        why = json_file_damage(path, None)
        if why:
            raise StoreError(f"{path} is damaged ({why}); restore it, or move its folder out of {self.home / 'experiments'} "
                             "and run `xtui runs reindex`")
        return read_json(path)

    # -- the index ------------------------------------------------------------------------------
    @contextmanager
    def index(self, write: bool = False) -> Iterator[TinyDB]:
        from filelock import FileLock

        if write:
            self.ensure()
        else:
            self.check_home()
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

    def experiments(self) -> list:
        """Experiment summaries, oldest first (plain dicts). Only the experiments table is parsed:
        listing stays fast with hundreds of thousands of stage summaries in the index."""
        return sorted(self._read_table("experiments"), key=lambda r: r.get("created", 0))

    def _read_table(self, name: str) -> list:
        from filelock import FileLock

        self.check_home()
        if not self.home.is_dir():
            return []
        with FileLock(str(self.home / "index.lock"), timeout=60):
            text = read_index_text(self.index_path)
        if text is None:
            return []
        table = leading_table(text, name, self.index_path)
        if table is None:
            try:
                data = json.loads(text)
            except json.JSONDecodeError:
                raise _damaged(self.index_path) from None
            table = check_index_shape(data, self.index_path).get(name, {})
        return list(_check_table(name, table, self.index_path).values())

    def unindexed(self) -> Optional[str]:
        """The line to say when the index lists no experiment but their folders exist, else None."""
        on_disk = self.experiment_ids_on_disk()
        if not on_disk:
            return None
        what = f"{len(on_disk)} experiment is" if len(on_disk) == 1 else f"{len(on_disk)} experiments are"
        state = "is empty" if self.index_path.exists() else "does not exist"
        return f"the index at {self.index_path} {state} but {what} on disk; run `xtui runs reindex`"

    def resolve_experiment(self, name: str) -> dict:
        """An experiment by id, unique id prefix, name (its latest run) or ``latest``."""
        records = self.experiments()
        if not records:
            unindexed = self.unindexed()
            if unindexed:
                raise StoreError(unindexed)
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
        """Rebuild the index from the run directories; returns (experiments, stages they name)."""
        experiments, stages = [], set()
        self.check_home(writing=True)
        self.reindex_skipped = []
        for experiment_id in self.experiment_ids_on_disk():
            try:
                record = self.experiment_record(experiment_id)
            except StoreError as error:  # one damaged record must not keep the others out of the index
                self.reindex_skipped.append(str(error))
                continue
            if not record:
                continue
            experiments.append(index_record(record))
            stages.update(record.get("stages", []))
        self.ensure()
        with self.index(write=True) as db:
            db.drop_tables()
            db.table("experiments").insert_multiple(experiments)
        return len(experiments), len(stages)


def _damaged(path: Path, why: str = "not valid JSON") -> StoreError:
    return StoreError(f"index {path} is damaged ({why}); rebuild it from the run directories with `xtui runs reindex`")


def read_index_text(path: Path) -> Optional[str]:
    """The index's text; None when there is none yet. xtui never writes an empty or partial index
    (every write is an atomic replace), so an empty one is damaged."""
    try:
        raw = path.read_bytes()
    except FileNotFoundError:
        return None
    except IsADirectoryError:
        raise _damaged(path, "a folder, not a file") from None
    except OSError as error:
        raise StoreError(f"index {path} cannot be read ({error.strerror}); check its permissions") from None
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError:
        raise _damaged(path, "not UTF-8 text") from None
    if not text.strip():
        raise _damaged(path, "the file is empty")
    return text


TABLE_KEYS = {"experiments": "id", "stages": "hash"}


def check_index_shape(data, path: Path) -> dict:
    """The index as TinyDB keeps it: an object of tables, each an object of records (objects), with an
    ``id`` per experiment and a ``hash`` per stage summary; StoreError (damaged) otherwise."""
    if not isinstance(data, dict):
        raise _damaged(path, f"expected a JSON object of tables, got {_kind(data)}")
    for name, table in data.items():
        _check_table(name, table, path)
    return data


def _check_table(name: str, table, path: Path) -> dict:
    if not isinstance(table, dict):
        raise _damaged(path, f"table {name!r} is {_kind(table)}, not an object of records")
    key = TABLE_KEYS.get(name)
    for doc_id, record in table.items():
        if not isinstance(record, dict):
            raise _damaged(path, f"{name} record {doc_id} is {_kind(record)}, not an object")
        if key and not isinstance(record.get(key), str):
            raise _damaged(path, f"{name} record {doc_id} has no {key!r}")
    return table


def _kind(value) -> str:
    return {dict: "an object", list: "a list", str: "a string", bool: "a boolean", type(None): "null"}.get(
        type(value), "a number")


def json_file_damage(path: Path, digest: Optional[str]) -> Optional[str]:
    """Why a run-directory JSON file that exists is damaged (not UTF-8, not JSON, not an object, the
    result of another stage), or None when it is sound or absent."""
    try:
        raw = Path(path).read_bytes()
    except (FileNotFoundError, NotADirectoryError):
        return None
    except IsADirectoryError:
        return "a folder, not a file"
    except OSError as error:
        return f"cannot be read: {error.strerror}"
    try:
        data = json.loads(raw.decode("utf-8"))
    except UnicodeDecodeError:
        return "not UTF-8 text"
    except json.JSONDecodeError as error:
        return "empty" if not raw.strip() else f"not valid JSON: {error.msg} at line {error.lineno}"
    if not isinstance(data, dict):
        return f"{_kind(data)}, not a JSON object"
    if digest is not None and data.get("hash") not in (None, digest):
        return f"it is the result of another stage, {str(data.get('hash'))[:12]}"
    return None


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
        raise _damaged(path, f"table {name!r} is {_kind(table)}, not an object of records")
    return table


class _EmptyStorage(Storage):
    def __init__(self, *_, **__):
        pass

    def read(self):
        return None

    def write(self, data):
        pass


INDEX_FIELDS = ("id", "name", "status", "model", "intermediate", "target", "languages", "shots", "shot_sets",
                "seeds", "created", "finished", "stage_count", "reused", "failed_stages", "headline", "spec_path", "host", "pid",
                "superseded_by")


def index_record(experiment: dict) -> dict:
    """The index keeps experiments' summaries only, never curves or whole results."""
    return {key: experiment.get(key) for key in INDEX_FIELDS}
