"""Shell completion as a shell asks for it: the installed `xtui` script with the completion variables
set (the other CLI habits, through the CLI: tests/integration/test_cli_habits.py)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from conftest import offline_env


def test_shell_completion_offers_commands(home):
    # the installed `xtui` script, as a shell calls it (the completion variable is named after it)
    binary = str(Path(sys.executable).with_name("xtui"))
    env = offline_env(home, _XTUI_COMPLETE="complete_bash", COMP_WORDS="xtui runs ", COMP_CWORD="2")
    done = subprocess.run([binary], capture_output=True, text=True, env=env, timeout=60)
    assert done.returncode == 0, done.stderr
    assert {"list", "show", "export", "compare", "reindex"} <= set(done.stdout.split())
    # what `xtui --install-completion` writes for bash (asked for directly: --show-completion detects the
    # calling shell, which is sh under make)
    script = subprocess.run([binary], capture_output=True, text=True, timeout=60,
                            env=offline_env(home, _XTUI_COMPLETE="source_bash"))
    assert script.returncode == 0 and "_xtui_completion" in script.stdout
