"""Shared fixtures: an isolated runs directory, the shared data samples, and the CLI as a real subprocess."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
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


@pytest.fixture
def xtui(home):
    """Run the real ``xtui`` CLI in a subprocess with an isolated XTUI_HOME."""

    def run(*args, env=None, timeout=600, cwd=None):
        return subprocess.run([*XTUI, *map(str, args)], capture_output=True, text=True, timeout=timeout,
                              env=offline_env(home, **(env or {})), cwd=cwd or REPO, stdin=subprocess.DEVNULL)

    return run


@pytest.fixture
def write_spec(tmp_path):
    def write(text: str, name: str = "spec.toml") -> Path:
        path = tmp_path / name
        path.write_text(textwrap.dedent(text))
        return path

    return write
