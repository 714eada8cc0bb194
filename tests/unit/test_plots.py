"""Figures: what the heat map draws in each cell."""

from __future__ import annotations

import pytest

from xtui import plots


def _table():
    cells = {"none": {"de": (0.78, 0.02), "es": (0.83, 0.01)},
             "anli": {"de": (0.79, 0.01), "es": (0.829, 0.01)},
             "mnli": {"de": (0.773, 0.01), "es": (0.83, 0.01)}}
    deltas = {"anli": {"de": {"mean": 0.01, "excludes_zero": True}, "es": {"mean": -0.001, "excludes_zero": False}},
              "mnli": {"de": {"mean": -0.007, "excludes_zero": True}, "es": {"mean": 0.0, "excludes_zero": False}}}
    return {"task": "udpos", "metric": "f1", "shots": 8, "columns": ["de", "es"],
            "intermediates": ["none", "anli", "mnli"], "cells": cells, "deltas": deltas}


def test_heat_map_text_is_white_on_the_dark_significant_cells_and_black_elsewhere(tmp_path, monkeypatch):
    pytest.importorskip("matplotlib")
    plt = plots._pyplot()
    drawn = []
    monkeypatch.setattr(plots, "_save", lambda plt, figure, folder, stem: drawn.append(figure) or [])
    plots.heatmap(plt, _table(), tmp_path, "exp")
    texts = {t.get_text(): t.get_color() for t in drawn[0].axes[0].texts}
    # the largest |Δ| of each sign is the colour map's end: navy and dark red, read in white
    assert texts["79.0\n(+1.0*)"] == "white" and texts["77.3\n(-0.7*)"] == "white"
    # grey (no significant Δ, and the baseline row) stays black
    assert texts["82.9\n(-0.1)"] == "black" and texts["78.0"] == "black"
    plt.close("all")


@pytest.mark.parametrize("rgb, expected", [((1, 1, 1), "black"), ((0, 0, 0), "white"), ((0.93, 0.93, 0.93), "black"),
                                            ((0.02, 0.19, 0.38), "white"), ((0.99, 0.86, 0.78), "black")])
def test_text_colour_by_luminance(rgb, expected):
    assert plots.text_colour(rgb) == expected
