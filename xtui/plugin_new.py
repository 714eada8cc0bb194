"""``xtui plugin new NAME``: a task plugin package to start from, copied from ``plugin_template/``
(also at ``examples/plugin-template``) and renamed: ``xtui-NAME`` with the module ``xtui_NAME``, the
entry point ``NAME`` and the task ``NAME_sentiment``."""

from __future__ import annotations

import re
import shutil
from pathlib import Path

from .errors import XtuiError

TEMPLATE = Path(__file__).resolve().parent / "plugin_template"
TEXT_SUFFIXES = {".py", ".toml", ".md", ".jsonl"}


def names(name: str) -> dict:
    """The names a plugin called ``name`` gets; XtuiError for one that cannot be a Python module."""
    if not re.fullmatch(r"[a-z][a-z0-9]*([_-][a-z0-9]+)*", name or ""):
        raise XtuiError(f"plugin name {name!r}: use lower-case letters, digits and single - or _ "
                        "(starting with a letter), e.g. 'acme' or 'my-tasks'")
    snake = name.replace("-", "_")
    return {"dist": "xtui-" + snake.replace("_", "-"), "module": "xtui_" + snake, "entry": snake,
            "task": snake + "_sentiment"}


def new_plugin(name: str, destination: Path) -> Path:
    """Copy the template into ``destination/xtui-NAME`` with its names replaced; the new folder."""
    new = names(name)
    target = Path(destination) / new["dist"]
    if target.exists():
        raise XtuiError(f"{target} already exists; choose another name or --dest")
    if not Path(destination).is_dir():
        raise XtuiError(f"--dest {destination}: no such folder")
    shutil.copytree(TEMPLATE, target, ignore=shutil.ignore_patterns("__pycache__", "*.pyc", "*.egg-info", "build"))
    (target / "xtui_plugin_template").rename(target / new["module"])
    (target / "data" / "template_sentiment").rename(target / "data" / new["task"])
    replacements = (("xtui_plugin_template", new["module"]), ("xtui-plugin-template", new["dist"]),
                    ("template_sentiment", new["task"]), ("plugin_template = ", f"{new['entry']} = "))
    for path in target.rglob("*"):
        if path.is_file() and path.suffix in TEXT_SUFFIXES and path.suffix != ".jsonl":
            text = path.read_text()
            for old, replacement in replacements:
                text = text.replace(old, replacement)
            path.write_text(text)
    return target
