"""Broken plugins through the CLI (real subprocesses): `xtui plugins` lists the failures and exits
0, strict mode makes `xtui tasks` fail in one line."""

from __future__ import annotations

import json

from support.fake_plugins import DIST, VERSION, fake_site  # noqa: F401  (a fixture)


def test_cli_plugins_lists_failures_and_exits_zero(fake_site, xtui):
    result = xtui("plugins", "--json", env={"PYTHONPATH": str(fake_site), "XTUI_STRICT_PLUGINS": "0"})
    assert result.returncode == 0, result.stderr
    plugins = {p["name"]: p for p in json.loads(result.stdout)}
    assert plugins["broken"]["error"] == "RuntimeError: boom at import"
    assert plugins["broken"]["distribution"] == DIST and plugins["broken"]["version"] == VERSION
    assert "already registered" in plugins["zz_dupe"]["error"]
    assert plugins["good"]["error"] is None and plugins["good"]["tasks"] == ["fake_ok"]
    assert plugins["xtreme"]["error"] is None and "xnli" in plugins["xtreme"]["tasks"]


def test_cli_strict_tasks_fails_in_one_line(fake_site, xtui):
    result = xtui("tasks", env={"PYTHONPATH": str(fake_site), "XTUI_STRICT_PLUGINS": "1"})
    assert result.returncode != 0
    assert "Traceback" not in result.stderr + result.stdout
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    assert lines == [f"xtui: error: plugin broken ({DIST} {VERSION}) failed: RuntimeError: boom at import"]
