"""Bad input met after the fact: a damaged index is told with the command that rebuilds it, and
`xtui runs reindex` leaves a damaged record out and says so (on a finished experiment kept in
``tests/bad_inputs/_homes``; a failing run is in ``tests/integration/test_bad_input.py``)."""

from __future__ import annotations

import json
import shutil

from conftest import TESTS, run_cli

FINISHED = TESTS / "bad_inputs" / "_homes" / "finished"


def test_corrupted_index_says_reindex_and_reindex_rebuilds(home):
    shutil.copytree(FINISHED, home)
    (home / "index.json").write_text('{"experiments": {"1": ')
    listing = run_cli(home, "runs", "list")
    assert listing.returncode == 1 and "damaged" in listing.stderr and "xtui runs reindex" in listing.stderr
    rebuilt = run_cli(home, "runs", "reindex")
    assert rebuilt.returncode == 0 and "reindexed 1 experiments and 4 stages" in rebuilt.stdout, rebuilt.stderr
    assert json.loads(run_cli(home, "runs", "list", "--json").stdout)[0]["status"] == "done"


def test_reindex_leaves_a_damaged_record_out_and_says_so(home):
    shutil.copytree(FINISHED, home)
    shutil.copytree(home / "experiments" / "20261201-235542-good-e6ec", home / "experiments" / "20261202-000000-copy-0000")
    (home / "experiments" / "20261202-000000-copy-0000" / "experiment.json").write_text("{")
    rebuilt = run_cli(home, "runs", "reindex")
    assert rebuilt.returncode == 0 and "reindexed 1 experiments" in rebuilt.stdout
    assert "warning: left out of the index:" in rebuilt.stderr and "20261202-000000-copy-0000" in rebuilt.stderr
    assert "damaged" in rebuilt.stderr and "Traceback" not in rebuilt.stderr
