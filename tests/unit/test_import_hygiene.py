"""Headless commands never import Textual or torch; `xtui --help` stays fast."""

from __future__ import annotations

import subprocess
import sys

import pytest

from conftest import REPO

HEAVY = ("torch", "transformers", "datasets", "accelerate", "seqeval", "textual")

PROBE = """
import sys
sys.argv = ["xtui", *{args!r}]
from xtui.cli import main
try:
    main()
except SystemExit:
    pass
print("LOADED=" + ",".join(m for m in {heavy!r} if m in sys.modules))
"""


@pytest.mark.parametrize("args", [["--help"], ["runs", "list"], ["tasks"], ["plugins"], ["runs", "list", "--json"]])
def test_headless_commands_import_nothing_heavy(args, tmp_path):
    result = subprocess.run([sys.executable, "-c", PROBE.format(args=args, heavy=HEAVY)], capture_output=True, text=True,
                            env={"XTUI_HOME": str(tmp_path), "PATH": "/usr/bin:/bin", "HF_HUB_OFFLINE": "1"}, timeout=120)
    assert result.returncode == 0, result.stderr
    loaded = result.stdout.strip().rsplit("LOADED=", 1)[1]
    assert loaded == "", f"xtui {' '.join(args)} imported {loaded}"


def test_dry_run_imports_no_torch(tmp_path):
    spec = tmp_path / "s.toml"
    spec.write_text('name = "d"\nmodel = "tiny"\n[target]\ntask = "demo_sentiment"\nlanguages = ["de"]\n')
    result = subprocess.run([sys.executable, "-c", PROBE.format(args=["run", str(spec), "--dry-run"], heavy=HEAVY)],
                            capture_output=True, text=True, env={"XTUI_HOME": str(tmp_path), "PATH": "/usr/bin:/bin"}, timeout=120)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip().rsplit("LOADED=", 1)[1] == ""


def test_import_contracts_hold():
    """The static view of the same rules (.importlinter): no headless module imports Textual, no module
    of the app imports torch, transformers, datasets or accelerate, directly or through another."""
    from pathlib import Path

    lint = Path(sys.executable).with_name("lint-imports")
    if not lint.exists():
        pytest.skip("import-linter is not installed (pip install -e .[dev])")
    result = subprocess.run([str(lint), "--config", str(REPO / ".importlinter")], capture_output=True, text=True,
                            cwd=REPO, timeout=300)
    assert result.returncode == 0, result.stdout[-3000:]
    assert "2 kept, 0 broken" in result.stdout
