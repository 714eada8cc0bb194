"""The shipped flagship grids run end to end, scaled down with --set as a user would try them
first: `examples/paper.toml` (zero-shot, several targets) and `examples/fewshot.toml` (K > 0),
on the tiny model and shortened copies of the real data samples. One table per target with its
own headline metric, languages and avg, the overall table, and the exported rows behind them."""

from __future__ import annotations

import json
import re
import statistics

import pytest

from conftest import REPO, shrink_data

pytestmark = pytest.mark.slow

SCALE = ["--set", "model=tiny", "--set", "intermediate.max_steps=2", "--set", "intermediate.batch_size=8",
         "--set", "intermediate.gradient_accumulation=1", "--set", "intermediate.max_length=64",
         "--set", "target.max_steps=2", "--set", "target.batch_size=8", "--set", "target.gradient_accumulation=1",
         "--set", "target.max_length=64", "--set", "target.per_task={}", "--set", 'intermediate.tasks=["none","anli"]']


def _run(xtui, spec: str, data, *sets):
    done = xtui("run", REPO / "examples" / spec, "--set", f"data_dir={data}", *SCALE, *sets, timeout=900)
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    assert "Traceback" not in done.stdout + done.stderr
    return done


def _titles(text: str) -> list:
    return re.findall(r"^(\S+ · .+ \(%\) · K=\d+.*)$", text, flags=re.M)


def _table(text: str, title: str) -> list:
    """The rows (lists of cells) of the Rich table printed under ``title``."""
    block = text.split(title, 1)[1].split("\n\n", 1)[0]
    rows = [[c.strip() for c in line.strip("│┃").split("│" if "│" in line else "┃")]
            for line in block.splitlines() if line.startswith(("│", "┃"))]
    return rows


def _export(xtui, fmt: str):
    done = xtui("runs", "export", "latest", "--format", fmt)
    assert done.returncode == 0, done.stderr
    return done.stdout


def _check_cell_against_rows(rows, task, metric, intermediate, language, shots, shown: str):
    values = [r["value"] for r in rows if r["task"] == task and r["metric"] == metric and r["shots"] == shots
              and r["intermediate"] == intermediate and r["language"] == language and r["split"] == "test"]
    assert values, (task, metric, intermediate, language, shots)
    assert shown.startswith(f"{100 * statistics.fmean(values):.1f}") or f" {100 * statistics.fmean(values):.1f}" in shown


def test_paper_grid_scaled_down_prints_one_table_per_target_and_the_overall_line(xtui, shared_data, tmp_path):
    data = shrink_data(shared_data, tmp_path / "data", ("anli", "xnli", "panx", "squad_v1", "xquad", "tatoeba"))
    done = _run(xtui, "paper.toml", data, "--set", 'target.tasks=["xnli","panx","xquad","tatoeba"]',
                "--set", 'target.languages=["de","es"]')
    text = done.stdout
    assert _titles(text) == ["xnli · accuracy (%) · K=0 (zero-shot)", "panx · f1 (%) · K=0 (zero-shot)",
                             "xquad · EM / F1 (%) · K=0 (zero-shot)", "tatoeba · accuracy (%) · K=0 (zero-shot)",
                             "overall · mean of the targets' avg (%) · K=0 (zero-shot)"]
    assert "note: xnli es: no test split" in done.stderr, "a language a target lacks is left out, and said so"
    headers = {title: _table(text, title)[0] for title in _titles(text)}
    assert headers["xnli · accuracy (%) · K=0 (zero-shot)"] == ["intermediate", "en", "de", "avg", "avg+en"]
    assert headers["panx · f1 (%) · K=0 (zero-shot)"] == ["intermediate", "de", "es", "avg"]
    assert headers["xquad · EM / F1 (%) · K=0 (zero-shot)"] == ["intermediate", "en", "de", "es", "avg", "avg+en"]
    assert headers["overall · mean of the targets' avg (%) · K=0 (zero-shot)"][1:] == [
        "xnli", "panx", "xquad", "tatoeba", "avg"]
    overall = _table(text, "overall · mean of the targets' avg (%) · K=0 (zero-shot)")
    assert [row[0] for row in overall[1:] if row[0]] == ["none", "anli"]
    assert re.search(r"\([+-]\d+\.\d\)", " ".join(" ".join(r) for r in overall[1:])), "Δ vs none on the overall line"

    rows = json.loads(_export(xtui, "json"))
    panx = _table(text, "panx · f1 (%) · K=0 (zero-shot)")
    _check_cell_against_rows(rows, "panx", "f1", "none", "de", 0, panx[1][1])
    xquad = _table(text, "xquad · EM / F1 (%) · K=0 (zero-shot)")
    em, f1 = xquad[1][2].split(" / ")
    _check_cell_against_rows(rows, "xquad", "exact_match", "none", "de", 0, em)
    _check_cell_against_rows(rows, "xquad", "f1", "none", "de", 0, f1)
    markdown = _export(xtui, "md")
    assert "### panx · f1 (%) · K=0 (zero-shot)" in markdown and "### overall · mean of the targets' avg" in markdown
    show = xtui("runs", "show", "latest")
    assert _titles(show.stdout) == _titles(text), "runs show prints the same tables"


def test_fewshot_grid_scaled_down_has_per_target_k_tables_and_overall_per_k(xtui, shared_data, tmp_path):
    data = shrink_data(shared_data, tmp_path / "data", ("anli", "xnli", "xcopa", "udpos", "tatoeba"))
    (data / "siqa").symlink_to(REPO / "tests" / "data" / "siqa")  # XCOPA's recipe trains on SocialIQA first
    done = _run(xtui, "fewshot.toml", data, "--set", 'target.tasks=["xnli","xcopa","udpos","tatoeba"]',
                "--set", 'target.languages=["de","sw"]', "--set", "fewshot.shots=[0,4]", "--set", "fewshot.shot_sets=2",
                "--set", "fewshot.steps=2")
    text = done.stdout
    titles = _titles(text)
    assert titles == ["xnli · accuracy (%) · K=0 (zero-shot)", "xnli · accuracy (%) · K=4",
                      "xcopa · accuracy (%) · K=0 (zero-shot)", "xcopa · accuracy (%) · K=4",
                      "udpos · f1 (%) · K=0 (zero-shot)", "udpos · f1 (%) · K=4",
                      "tatoeba · accuracy (%) · K=0 (zero-shot)",
                      "overall · mean of the targets' avg (%) · K=0 (zero-shot)", "overall · mean of the targets' avg (%) · K=4"]
    assert "note: tatoeba is a retrieval task without training: only K=0 applies to it" in done.stderr
    assert _table(text, "xcopa · accuracy (%) · K=4")[0] == ["intermediate", "sw", "avg"]
    assert _table(text, "udpos · f1 (%) · K=4")[0] == ["intermediate", "de", "avg"]
    k4 = text.split("overall · mean of the targets' avg (%) · K=4", 1)[1]
    assert "not at this K: tatoeba" in k4
    assert _table(text, "overall · mean of the targets' avg (%) · K=4")[0][1:] == ["xnli", "xcopa", "udpos", "avg"]
    rows = json.loads(_export(xtui, "json"))
    few = [r for r in rows if r["stage_type"] == "fewshot" and r["task"] == "udpos" and r["metric"] == "f1"]
    assert sorted((r["intermediate"], r["shot_set"]) for r in few) == [("anli", 0), ("anli", 1), ("none", 0), ("none", 1)]
    udpos = _table(text, "udpos · f1 (%) · K=4")
    _check_cell_against_rows(rows, "udpos", "f1", "none", "de", 4, udpos[1][1])
