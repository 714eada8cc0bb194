"""Shared fixtures: an isolated runs directory, the shared data samples, and the CLI as a real subprocess."""

from __future__ import annotations

import functools
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

TESTS = Path(__file__).resolve().parent
REPO = TESTS.parent
SHARED_DATA = Path(os.environ.get("XTUI_SHARED_DATA") or REPO.parent / "shared" / "data")
XTUI = [sys.executable, "-m", "xtui.cli"]


def offline_env(home: Path, **extra) -> dict:
    env = dict(os.environ)
    env.update(HF_HUB_OFFLINE="1", HF_DATASETS_OFFLINE="1", TRANSFORMERS_OFFLINE="1", XTUI_HOME=str(home),
               PYTHONUNBUFFERED="1", COLUMNS="160")
    env.pop("XTUI_DATA_DIR", None)
    env.update({k: str(v) for k, v in extra.items()})
    return env


@pytest.fixture
def shared_data() -> Path:
    if not (SHARED_DATA / "xnli").is_dir():
        pytest.skip(f"real data samples not found at {SHARED_DATA} (set XTUI_SHARED_DATA to ../shared/data)")
    return SHARED_DATA


@pytest.fixture
def home(tmp_path) -> Path:
    return tmp_path / "runs"


def run_cli(home: Path, *args, env=None, timeout=600, cwd=None) -> subprocess.CompletedProcess:
    """The real ``xtui`` CLI in a subprocess, offline, with ``home`` as XTUI_HOME and no stdin."""
    return subprocess.run([*XTUI, *map(str, args)], capture_output=True, text=True, timeout=timeout,
                          env=offline_env(home, **(env or {})), cwd=cwd or REPO, stdin=subprocess.DEVNULL)


@pytest.fixture
def xtui(home):
    """Run the real ``xtui`` CLI in a subprocess with an isolated XTUI_HOME (marks the test ``integration``)."""
    return functools.partial(run_cli, home)


@pytest.fixture
def write_spec(tmp_path):
    def write(text: str, name: str = "spec.toml") -> Path:
        path = tmp_path / name
        path.write_text(textwrap.dedent(text))
        return path

    return write


def shrink_data(source: Path, destination: Path, tasks: tuple, rows: int = 40) -> Path:
    """A copy of the real data samples of ``tasks`` with at most ``rows`` examples per file (JSONL
    lines, CoNLL-U sentences, SQuAD questions), so an end-to-end run of a flagship spec stays short.
    The examples are the real ones, in their order; only the tails are cut."""
    import json

    for task in tasks:
        for path in sorted((source / task).rglob("*")):
            if not path.is_file():
                continue
            target = destination / path.relative_to(source)
            target.parent.mkdir(parents=True, exist_ok=True)
            text = path.read_text(encoding="utf-8")
            if path.suffix == ".jsonl":
                text = "".join(line + "\n" for line in text.splitlines()[:rows])
            elif path.suffix == ".conllu":
                text = "\n\n".join(text.strip().split("\n\n")[:rows]) + "\n\n"
            elif path.suffix == ".json":
                squad, left = json.loads(text), rows
                for article in squad["data"]:
                    for paragraph in article["paragraphs"]:
                        paragraph["qas"] = paragraph["qas"][:max(left, 0)]
                        left -= len(paragraph["qas"])
                    article["paragraphs"] = [p for p in article["paragraphs"] if p["qas"]]
                squad["data"] = [a for a in squad["data"] if a["paragraphs"]]
                text = json.dumps(squad, ensure_ascii=False)
            target.write_text(text, encoding="utf-8")
    return destination


INTEGRATION = ("tests/integration/", "tests/tui/")
"""The tiers are folders: ``tests/unit`` (``make test-fast``) holds no training, no CLI run through
the ``xtui`` fixture and no screen; everything in these folders is marked ``integration``."""

SCREEN_TESTS = ("tests/tui/", "tests/integration/test_terminal_cli.py")
"""Tests that read what a screen shows (the app under Textual's pilot, snapshots, real terminals):
under ``pytest -n`` they run one after the other on one worker, so two screens never race for the
CPU against each other; the other worker runs the rest."""


def pytest_collection_modifyitems(config, items):
    for item in items:
        path = Path(str(item.fspath)).resolve().relative_to(REPO).as_posix()
        if path.startswith(SCREEN_TESTS):
            item.add_marker(pytest.mark.xdist_group("screens"))
        # a test that runs the CLI through the fixture is an integration test wherever it sits
        # (tests/unit/test_tiers.py fails on one in tests/unit)
        if path.startswith(INTEGRATION) or "xtui" in getattr(item, "fixturenames", ()):
            item.add_marker(pytest.mark.integration)
