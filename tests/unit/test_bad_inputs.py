"""The bad-input corpus, kept as data: every folder of ``tests/bad_inputs/`` is one case.

A case folder holds ``case.toml`` and the files it needs (``spec.toml``, ``data/``, ``home/``, ``site/``):

* ``args``: the command line after ``xtui``; ``{spec}``, ``{case}``, ``{data}``, ``{home}`` name the case's
  copy (the same names may be used inside ``spec.toml`` and in ``expect``).
* ``expect``: fragments of the one line the command prints on stderr; ``exit``: its exit code.
* ``class``: what kind of mistake it is (the corpus must keep cases of every class).
* ``home``: the runs directory it starts from: ``finished`` (a real finished experiment, copied from
  ``_homes/finished``; default) or ``empty``; a ``home/`` folder in the case is laid over it and ``remove``
  lists paths under it to delete first (a damaged or missing file).
* ``env``: extra environment; ``subprocess = true`` runs a real ``python -m xtui.cli`` (plugins on
  ``PYTHONPATH``); otherwise the CLI runs in this process, which keeps the corpus fast.
* ``both``: a ``run SPEC`` case is run both as given and with ``--dry-run`` (default for ``run {spec}``):
  the dry run must refuse it with the same line and code, and the real run must refuse it before any
  worker starts.
* ``stdout``: for a case that must succeed despite the bad input (a quarantined plugin), fragments of stdout.

No case may print a traceback, and a finished experiment in its home must come out intact.
"""

from __future__ import annotations

import io
import json
import os
import shutil
import subprocess
import sys
import tomllib
from contextlib import redirect_stderr, redirect_stdout
from pathlib import Path

import pytest

from conftest import REPO, TESTS, XTUI

CORPUS = TESTS / "bad_inputs"
HOMES = CORPUS / "_homes"
CASES = sorted(p.name for p in CORPUS.iterdir() if (p / "case.toml").is_file())
CLASSES = ("toml", "spec-field", "numeric-range", "name", "task", "mixture", "model", "data-file", "data-alignment",
           "hub-offline", "command-line", "flag-conflict", "index", "home", "stage-files", "export", "plugin")
KEYS = {"class", "why", "args", "expect", "exit", "home", "remove", "env", "subprocess", "both", "stdout", "names_spec"}


class WorkerWouldStart(Exception):
    """Raised in place of launching workers: every case must be refused before that."""


def load_case(name: str) -> dict:
    case = tomllib.loads((CORPUS / name / "case.toml").read_text(encoding="utf-8"))
    unknown = set(case) - KEYS
    assert not unknown, f"{name}/case.toml: unknown keys {sorted(unknown)}"
    assert case.get("class") in CLASSES, f"{name}/case.toml: class {case.get('class')!r} is not one of {CLASSES}"
    assert case.get("args") and case.get("expect") is not None and "exit" in case, f"{name}: args, expect, exit"
    return case


def _fill(text: str, places: dict) -> str:
    for key, value in places.items():
        text = text.replace("{" + key + "}", str(value))
    return text


def _prepare(name: str, case: dict, tmp_path: Path) -> dict:
    work = tmp_path / "case"
    shutil.copytree(CORPUS / name, work, ignore=shutil.ignore_patterns("case.toml", "home"))
    home = tmp_path / "runs"
    if case.get("home", "finished") == "finished":
        shutil.copytree(HOMES / "finished", home)
    places = {"case": work, "data": work / "data", "home": home, "spec": work / "spec.toml", "repo": REPO}
    for relative in case.get("remove", []):
        target = home / _fill(relative, places)
        shutil.rmtree(target) if target.is_dir() else target.unlink()
    overlay = CORPUS / name / "home"
    if overlay.is_dir():
        shutil.copytree(overlay, home, dirs_exist_ok=True)
    spec = work / "spec.toml"
    if spec.is_file():
        raw = spec.read_bytes()
        bom = raw.startswith(b"\xef\xbb\xbf")
        text = _fill(raw.decode("utf-8", errors="surrogateescape").removeprefix("\ufeff"), places)
        spec.write_bytes((b"\xef\xbb\xbf" if bom else b"") + text.encode("utf-8", errors="surrogateescape"))
    return places


def _environment(case: dict, places: dict) -> dict:
    env = {"XTUI_HOME": str(places["home"]), "HF_HUB_OFFLINE": "1", "HF_DATASETS_OFFLINE": "1",
           "TRANSFORMERS_OFFLINE": "1", "HF_HOME": str(places["case"] / ".hf-empty"), "COLUMNS": "160"}
    env.update({k: _fill(str(v), places) for k, v in case.get("env", {}).items()})
    return env


def run_in_process(args: list, env: dict, monkeypatch, cwd: Path) -> tuple:
    """(exit code, stdout, stderr) of ``xtui ARGS`` run by ``xtui.cli.main`` in this process, in ``cwd``
    (what a command writes beside it, e.g. ``figures/``, stays in the case's copy)."""
    from xtui import cli, launch
    from xtui.executor import LocalExecutor

    def refuse(self):
        raise WorkerWouldStart("the spec was accepted: a worker would start")

    with monkeypatch.context() as patch:
        patch.delenv("XTUI_DATA_DIR", raising=False)
        patch.delenv("XTUI_EXPERIMENT_ID", raising=False)
        for key, value in env.items():
            patch.setenv(key, value)
        patch.setattr(LocalExecutor, "run", refuse)
        patch.setattr(launch, "launch_detached", lambda *a, **k: refuse(None))
        patch.setattr(sys, "argv", ["xtui", *args])
        patch.chdir(cwd)
        out, err = io.StringIO(), io.StringIO()
        code = None
        with redirect_stdout(out), redirect_stderr(err):
            try:
                cli.main()
            except SystemExit as exit_:
                code = exit_.code if isinstance(exit_.code, int) else (0 if exit_.code is None else 1)
    return code, out.getvalue(), err.getvalue()


def run_subprocess(args: list, env: dict, cwd: Path) -> tuple:
    full = dict(os.environ)
    full.pop("XTUI_DATA_DIR", None)
    full.update(env)
    done = subprocess.run([*XTUI, *args], capture_output=True, text=True, env=full, timeout=120, cwd=cwd,
                          stdin=subprocess.DEVNULL)
    return done.returncode, done.stdout, done.stderr


def _check(name: str, case: dict, places: dict, result: tuple, how: str) -> str:
    code, out, err = result
    assert "Traceback" not in out + err, f"{name} ({how}) printed a traceback:\n{err[-3000:]}"
    lines = [line for line in err.splitlines() if line.strip()]
    assert code == case["exit"], f"{name} ({how}): exit {code}, expected {case['exit']}; stderr: {err[-1500:]}"
    assert lines or not case["expect"], f"{name} ({how}): nothing on stderr; stdout: {out[-800:]}"
    first = lines[0] if lines else ""
    if case["exit"] != 0:
        assert len(lines) == 1, f"{name} ({how}): more than one line on stderr:\n{err[-1500:]}"
        assert first.startswith("xtui: error: "), f"{name} ({how}): {first}"
    for fragment in case["expect"]:
        assert _fill(fragment, places) in first, f"{name} ({how}): {_fill(fragment, places)!r} not in: {first}"
    if case.get("names_spec", "{spec}" in case["args"]) and (places["case"] / "spec.toml").is_file():
        assert str(places["spec"]) in first, f"{name} ({how}): the line does not name the spec: {first}"
    for fragment in case.get("stdout", []):
        assert _fill(fragment, places) in out, f"{name} ({how}): {fragment!r} not on stdout: {out[-1500:]}"
    return first


def _finished_results(home: Path) -> dict:
    return {p.relative_to(home): p.read_bytes() for p in sorted((home / "stages").glob("*/result.json"))}


@pytest.mark.parametrize("name", CASES)
def test_bad_input(name, tmp_path, monkeypatch):
    case = load_case(name)
    places = _prepare(name, case, tmp_path)
    env = _environment(case, places)
    intact = case.get("home", "finished") == "finished" and not case.get("remove") and not (CORPUS / name / "home").is_dir()
    before = _finished_results(places["home"]) if intact else None
    args = [_fill(a, places) for a in case["args"]]
    runs = [("as given", args)]
    if case.get("both", args[:1] == ["run"] and "{spec}" in case["args"] and "--dry-run" not in args):
        runs.append(("--dry-run", args + ["--dry-run"]))
    lines = []
    for how, command in runs:
        if case.get("subprocess"):
            result = run_subprocess(command, env, places["case"])
        else:
            try:
                result = run_in_process(command, env, monkeypatch, places["case"])
            except WorkerWouldStart:
                pytest.fail(f"{name} ({how}): `xtui {' '.join(command)}` accepted the input and would start a worker")
        lines.append(_check(name, case, places, result, how))
    assert len(set(lines)) == 1, f"{name}: run and --dry-run say different things: {lines}"
    if intact:
        assert _finished_results(places["home"]) == before, f"{name}: a finished result changed"
        code, out, _ = run_in_process(["runs", "list", "--json"], env, monkeypatch, places["case"])
        assert code == 0 and [r["status"] for r in json.loads(out)] == ["done"], f"{name}: the finished experiment changed"


def test_corpus_covers_every_class():
    counts = {kind: 0 for kind in CLASSES}
    for name in CASES:
        counts[load_case(name)["class"]] += 1
    assert len(CASES) >= 150, f"{len(CASES)} cases"
    assert all(counts.values()), {k: v for k, v in counts.items() if not v}
