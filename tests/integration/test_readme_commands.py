"""Every `xtui` command the README prints, run as printed on a fresh runs folder.

The commands are read from the README's ```bash blocks, so a command added there is tested
without touching this file. Placeholders are filled the way a reader would: SPEC is a small
spec, EXP / ID the experiment it made, HASH one of its stages; `a|b|c` runs each choice and
`[--opt]` runs with and without it. Commands that would run a shipped example for minutes
(every `xtui run examples/...` without --dry-run) are dry-run: that still loads the spec, the
plugins, the data and plans every stage. `make` lines are the two commands, run by CI itself.
"""

from __future__ import annotations

import itertools
import re
import shlex

import pytest

from conftest import REPO, SHARED_DATA

pytestmark = pytest.mark.slow

SPEC = """
name = "readme"
model = "tiny"
seeds = [1]
[intermediate]
tasks = ["none"]
[target]
task = "demo_sentiment"
languages = ["de"]
max_steps = 3
batch_size = 8
[fewshot]
shots = [0, 4]
shot_sets = 2
steps = 2
batch_size = 4
"""


HUB_BLOCKS = set()
"""Line numbers of commands in a block the README introduces as run "with the Hub": they run online
here too (this machine reaches no Hub; planning downloads nothing, the dry run only plans)."""


def readme_commands() -> list:
    """(line number, command) of every xtui command in the README's bash blocks, comments removed."""
    lines = (REPO / "README.md").read_text(encoding="utf-8").splitlines()
    commands, inside, online, before = [], False, False, ""
    for number, line in enumerate(lines, 1):
        if line.startswith("```"):
            inside = line.strip() == "```bash" if not inside else False
            online = inside and "with the Hub" in before
            continue
        if not inside and line.strip():  # the last paragraph before a block introduces it
            before = f"{before} {line}" if lines[number - 2].strip() else line
        if not inside:
            continue
        command = re.sub(r"\s+#.*$", "", line).strip()
        if command and not command.startswith("#") and "xtui" in command.split("#")[0] and not command.startswith("make"):
            commands.append((number, command))
            if online:
                HUB_BLOCKS.add(number)
    return commands


def expand(command: str) -> list:
    """``a|b|c`` -> each choice; ``[--opt X]`` -> with and without."""
    optional = re.findall(r"\[([^\]]+)\]", command)
    variants = []
    for keep in itertools.product((False, True), repeat=len(optional)):
        text = command
        for option, kept in zip(optional, keep):
            text = text.replace(f"[{option}]", option if kept else "", 1)
        choices = re.search(r"(\S+\|\S+)", text)
        if choices:
            variants += [text.replace(choices.group(1), c, 1) for c in choices.group(1).split("|")]
        else:
            variants.append(text)
    return [" ".join(v.split()) for v in dict.fromkeys(variants)]


def test_the_readme_lists_the_commands_a_reader_needs():
    printed = " ".join(command for _, command in readme_commands())
    for needed in ("run SPEC --dry-run", "run --resume EXP", "stop EXP", "runs list", "runs show", "runs export",
                   "attach", "--detach", "tasks", "plugins"):
        assert needed in printed, f"the README no longer shows `xtui {needed}`"


def test_every_readme_command_runs_as_printed(xtui, write_spec, home, tmp_path):
    spec = write_spec(SPEC)
    # a working folder like the repository's root (examples/ is there) that commands may write into
    cwd = tmp_path / "checkout"
    cwd.mkdir()
    (cwd / "examples").symlink_to(REPO / "examples")
    first = xtui("run", spec)
    assert first.returncode == 0, first.stderr
    experiment = re.search(r"experiment (\S+) done", first.stdout).group(1)
    stage = next((home / "stages").iterdir()).name[:12]
    ran = []
    for number, printed in readme_commands():
        for command in expand(printed):
            words = shlex.split(command)
            env = {}
            while "=" in words[0]:
                name, value = words.pop(0).split("=", 1)
                env[name] = str((REPO / value).resolve()) if value.startswith(".") else value
            if env.get("XTUI_DATA_DIR") and not (SHARED_DATA / "xnli").is_dir():
                continue  # the real data samples are not next to this clone
            assert words[0] in (".venv/bin/xtui", "xtui"), f"README line {number}: {printed}"
            args = [{"SPEC": str(spec), "EXP": experiment, "ID": experiment, "HASH": stage}.get(w, w) for w in words[1:]]
            if args[0] == "run" and any(a.startswith("examples/") for a in args) and "--dry-run" not in args:
                args.append("--dry-run")
            if number in HUB_BLOCKS:
                env.update(HF_HUB_OFFLINE="0", HF_DATASETS_OFFLINE="0", TRANSFORMERS_OFFLINE="0")
            done = xtui(*args, env=env, timeout=600, cwd=cwd)
            ran.append(" ".join(args))
            assert done.returncode == 0, f"README line {number}: `xtui {' '.join(args)}` exited {done.returncode}:\n" \
                                         f"{done.stdout[-2000:]}\n{done.stderr[-2000:]}"
            assert "Traceback" not in done.stdout + done.stderr, f"README line {number}: {command}"
    assert any(a.startswith("stop ") for a in ran) and any(a.startswith("attach ") for a in ran)
    assert len(ran) >= 20, ran
