"""Trackers (xtui/trackers.py) are checked at plan time: an unknown one, or one whose library is
not installed, is one line naming the field (the real libraries after a real run:
tests/integration/test_trackers.py)."""

from __future__ import annotations

import pytest

from support.unit_fixtures import registry, spec_data  # noqa: F401  (registry is a fixture)
from xtui.errors import SpecError
from xtui.plan import build_plan
from xtui.spec import parse_spec


def test_unknown_and_missing_trackers_are_one_line_at_plan_time(registry, monkeypatch):
    with pytest.raises(SpecError, match=r"field 'run.trackers': unknown tracker 'neptune' \(valid: tensorboard, wandb, mlflow\)"):
        parse_spec(spec_data(run={"trackers": ["neptune"]}), "t.toml")
    import importlib.util

    real = importlib.util.find_spec
    monkeypatch.setattr(importlib.util, "find_spec", lambda name, *a: None if name == "wandb" else real(name, *a))
    with pytest.raises(SpecError, match=r"t.toml: field 'run.trackers': 'wandb' needs the wandb package \(pip install wandb"):
        build_plan(parse_spec(spec_data(run={"trackers": ["wandb"]}), "t.toml"), registry, "t.toml")
