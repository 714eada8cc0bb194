"""CLI habits: `runs list` filters, `runs compare`, `runs show --json` / `--holm`, the deltas export
and the other exports and plots, on run directories written by hand (tests/tui/fake_runs.py);
shell completion is in tests/unit/test_cli_habits.py."""

from __future__ import annotations

import json
import time

import pytest

from tui.fake_runs import T0, write_experiment
from xtui.store import RunStore


@pytest.fixture
def two(home):
    store = RunStore(home)
    write_experiment(store, "20231114-221320-baseline-aaaa", name="baseline", created=T0)
    write_experiment(store, "20231115-080000-higher-lr-bbbb", name="higher-lr", created=time.time() - 3600,
                     learning_rate=3e-4, offset=0.02, intermediates=("none",), status="failed")
    return store


def _ids(done) -> list:
    assert done.returncode == 0, done.stderr
    return [r["id"] for r in json.loads(done.stdout)]


def test_runs_list_filters(xtui, two):
    everything = _ids(xtui("runs", "list", "--json"))
    assert len(everything) == 2
    assert _ids(xtui("runs", "list", "--json", "--status", "failed")) == ["20231115-080000-higher-lr-bbbb"]
    assert _ids(xtui("runs", "list", "--json", "--task", "demo_nli")) == ["20231114-221320-baseline-aaaa"]
    assert _ids(xtui("runs", "list", "--json", "--since", "1d")) == ["20231115-080000-higher-lr-bbbb"]
    assert _ids(xtui("runs", "list", "--json", "--since", "2023-11-01")) == everything
    assert _ids(xtui("runs", "list", "--json", "BASE")) == ["20231114-221320-baseline-aaaa"], "text, any case"
    bad = xtui("runs", "list", "--since", "last tuesday")
    assert bad.returncode == 2 and bad.stderr.startswith("xtui: error: --since 'last tuesday': give a date")


def test_runs_compare_prints_spec_differences_and_shared_cells(xtui, two):
    done = xtui("runs", "compare", "baseline", "higher-lr")
    assert done.returncode == 0, done.stderr
    assert "spec differences" in done.stdout
    assert "learning_rate" in done.stdout and "0.0003" in done.stdout
    assert "shared results" in done.stdout and "cells in all of them" in done.stdout
    # none de K=0: 62.0 in the first, 64.0 in the second (offset 0.02)
    assert any("62.0" in line and "64.0" in line and "+2.0" in line for line in done.stdout.splitlines())
    one = xtui("runs", "compare", "baseline")
    assert one.returncode == 2 and "give two or more experiments" in one.stderr


def test_runs_show_json_and_the_deltas_export(xtui, two):
    done = xtui("runs", "show", "baseline", "--json", "--holm")
    assert done.returncode == 0, done.stderr
    shown = json.loads(done.stdout)
    assert shown["id"] == "20231114-221320-baseline-aaaa" and shown["stages"]["done"] > 0
    k4 = next(t for t in shown["tables"] if t["shots"] == 4)
    de = k4["deltas"]["demo_nli"]["de"]
    assert de["n"] == 2 and "p_holm" in de and de["mean"] == pytest.approx((0.71 + 0.69 - 0.64 - 0.68) / 2)
    deltas = xtui("runs", "export", "baseline", "--format", "csv", "--table", "deltas")
    assert deltas.returncode == 0, deltas.stderr
    header, *lines = deltas.stdout.splitlines()
    assert header.split(",")[:6] == ["experiment", "task", "shots", "intermediate", "column", "metric"]
    assert any(line.startswith("20231114-221320-baseline-aaaa,demo_sentiment,4,demo_nli,de,accuracy,") for line in lines)
    bad = xtui("runs", "export", "baseline", "--table", "cells")
    assert bad.returncode == 2 and "valid tables are rows, deltas" in bad.stderr


def test_latex_and_parquet_exports(xtui, two, tmp_path):
    pyarrow_parquet = pytest.importorskip("pyarrow.parquet")
    done = xtui("runs", "export", "baseline", "--format", "latex")
    assert done.returncode == 0, done.stderr
    text = done.stdout
    assert text.count(r"\begin{table}") == text.count(r"\end{table}") == 2  # K=0 and K=4
    assert text.count(r"\toprule") == 2 and r"\usepackage{booktabs}" in text
    assert r"demo\_sentiment: accuracy (\%), K=4" in text, "metric and K in the caption, _ escaped"
    k4 = text[text.rindex(r"\begin{table}"):]  # the K=4 table comes last
    assert r"demo\_nli & \textbf{70.0}" in k4, "the best mean of each column in bold (de: 0.71, 0.69)"
    assert r"{\scriptsize(+4.0" in k4
    out = tmp_path / "rows.parquet"
    done = xtui("runs", "export", "baseline", "--format", "parquet", "-o", out)
    assert done.returncode == 0, done.stderr
    table = pyarrow_parquet.read_table(out).to_pylist()
    csv_rows = xtui("runs", "export", "baseline", "--format", "json")
    assert [(r["stage"], r["metric"], r["value"]) for r in table] == [
        (r["stage"], r["metric"], r["value"]) for r in json.loads(csv_rows.stdout)]
    bad = xtui("runs", "export", "baseline", "--format", "parquet")
    assert bad.returncode == 2 and "give it with -o FILE.parquet" in bad.stderr


@pytest.mark.parametrize("where, message", [("folder", "is a folder"), ("missing/x.csv", "does not exist"),
                                            ("", "give a file name")])
def test_export_destinations_are_told_in_one_line(xtui, two, tmp_path, where, message):
    (tmp_path / "folder").mkdir()
    target = str(tmp_path / where) if where else ""
    done = xtui("runs", "export", "baseline", "-o", target)
    assert done.returncode == 2 and message in done.stderr and "Traceback" not in done.stderr
    assert len(done.stderr.strip().splitlines()) == 1


def test_runs_plot_writes_valid_png_svg_and_pdf(xtui, two, tmp_path):
    pytest.importorskip("matplotlib")
    import xml.etree.ElementTree as ElementTree

    import matplotlib.image

    out = tmp_path / "figures"
    done = xtui("runs", "plot", "baseline", "--out", out)
    assert done.returncode == 0, done.stderr
    names = sorted(p.name for p in out.iterdir())
    stems = {"20231114-221320-baseline-aaaa-demo_sentiment-heatmap-K0", "20231114-221320-baseline-aaaa-demo_sentiment-heatmap-K4",
             "20231114-221320-baseline-aaaa-demo_sentiment-fewshot", "20231114-221320-baseline-aaaa-loss"}
    assert names == sorted(f"{stem}.{ext}" for stem in stems for ext in ("pdf", "png", "svg"))
    for path in out.iterdir():
        assert path.stat().st_size > 2000, path
        if path.suffix == ".png":
            pixels = matplotlib.image.imread(path)
            assert pixels.shape[0] > 200 and pixels.shape[1] > 400 and pixels.std() > 0.01, "a real picture"
        elif path.suffix == ".svg":
            assert ElementTree.parse(path).getroot().tag.endswith("svg")
        else:
            data = path.read_bytes()
            assert data.startswith(b"%PDF-") and data.rstrip().endswith(b"%%EOF")
    curves = (out / "20231114-221320-baseline-aaaa-demo_sentiment-fewshot.svg").read_text()
    assert "demo_nli" in curves and "avg" in curves
    assert "avg+en" not in curves, "no panel for a column with one K (avg+en is K=0 only)"
    bad = xtui("runs", "plot", "baseline", "--kind", "violin")
    assert bad.returncode == 2 and "valid kinds are heatmap, fewshot, loss" in bad.stderr
