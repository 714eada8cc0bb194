"""The test tiers are folders, and `make test-fast` runs tests/unit alone (still with its marker
filter), so the folders must hold what their names say: a test in tests/unit neither trains
(``slow``) nor runs the CLI through the ``xtui`` fixture; a test in tests/integration does one of
them; tests/tui (the app) and the real terminals read screens, one at a time; no test file lives
outside the three. The suite is collected as `pytest --collect-only` collects it, in a subprocess,
with a small plugin that writes down each test's fixtures and markers (after tests/conftest.py set
the folder's markers)."""

from __future__ import annotations

import json
import os
import subprocess
import sys

from conftest import REPO, SCREEN_TESTS, TESTS

TIERS = ("tests/unit/", "tests/integration/", "tests/tui/")

PROBE = """
import json, os

def pytest_collection_finish(session):
    rows = [{"id": item.nodeid, "fixtures": sorted(getattr(item, "fixturenames", ())),
             "markers": [[marker.name, *map(str, marker.args)] for marker in item.iter_markers()]}
            for item in session.items]
    with open(os.environ["XTUI_TIER_PROBE"], "w") as handle:
        json.dump(rows, handle)
"""


def _collect(folder) -> list:
    """Every test of the whole suite (pyproject's testpaths) with its fixtures and markers."""
    (folder / "xtui_tier_probe.py").write_text(PROBE)
    env = {k: v for k, v in os.environ.items() if not k.startswith("PYTEST_XDIST")}
    env.update(PYTHONPATH=os.pathsep.join(filter(None, [str(folder), env.get("PYTHONPATH")])),
               XTUI_TIER_PROBE=str(folder / "tests.json"))
    done = subprocess.run([sys.executable, "-m", "pytest", "--collect-only", "-q", "-p", "no:cacheprovider",
                           "-p", "xtui_tier_probe"], capture_output=True, text=True, cwd=REPO, env=env, timeout=300)
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    return json.loads((folder / "tests.json").read_text())


def test_each_tier_holds_what_its_name_says(tmp_path):
    tests = _collect(tmp_path)
    names = {t["id"]: {m[0] for m in t["markers"]} for t in tests}
    in_unit = [t for t in tests if t["id"].startswith("tests/unit/")]
    assert len(in_unit) > 100 and any(t["id"].startswith("tests/integration/") for t in tests)
    wrong = [t["id"] for t in in_unit if "xtui" in t["fixtures"] or names[t["id"]] & {"slow", "integration"}]
    assert not wrong, f"tests/unit runs the CLI through the xtui fixture or trains: move to tests/integration: {wrong}"
    idle = [t["id"] for t in tests if t["id"].startswith("tests/integration/")
            and "xtui" not in t["fixtures"] and "slow" not in names[t["id"]]]
    assert not idle, f"tests/integration neither runs the CLI through the xtui fixture nor trains: {idle}"
    screens = [t["id"] for t in tests if t["id"].startswith(SCREEN_TESTS)]
    alone = [i for i in screens if "integration" not in names[i]
             or ["xdist_group", "screens"] not in next(t["markers"] for t in tests if t["id"] == i)]
    assert screens and not alone, f"a screen test outside the 'screens' group or the integration tier: {alone}"
    # `make test-fast`'s filter, over the whole suite, selects tests/unit whole and nothing else
    fast = {i for i, marks in names.items() if not marks & {"slow", "integration"}}
    assert fast == {t["id"] for t in in_unit}, sorted(fast ^ {t["id"] for t in in_unit})[:20]
    stray = [p.relative_to(REPO).as_posix() for p in TESTS.rglob("test_*.py")
             if not p.relative_to(REPO).as_posix().startswith(TIERS)]
    assert not stray, f"test files outside tests/unit, tests/integration and tests/tui are never collected: {stray}"
