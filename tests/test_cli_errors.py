"""Bad input gets one clear line and a non-zero exit, never a traceback."""

from __future__ import annotations

import pytest

GOOD = """
name = "errs"
model = "tiny"
[target]
task = "demo_sentiment"
languages = ["de"]
"""


def _one_line_error(result, *needles):
    assert result.returncode != 0
    assert "Traceback" not in result.stderr + result.stdout
    lines = [l for l in result.stderr.splitlines() if l.strip()]
    assert len(lines) == 1, result.stderr
    for needle in needles:
        assert needle in lines[0], lines[0]
    return lines[0]


@pytest.mark.parametrize("text,needles", [
    ("name = 'x'\n[target\n", ["invalid TOML"]),
    (GOOD + "bogus = 1\n", []),
    (GOOD.replace('task = "demo_sentiment"', 'task = "xnlii"'), ["target.task", "xnlii", "known"]),
    (GOOD.replace('["de"]', '["xx"]'), ["target.languages", "'xx'", "valid"]),
    (GOOD.replace('name = "errs"', 'name = "../escape"'), ["name"]),
    (GOOD + "[fewshot]\nshots = [0, -3]\n", ["fewshot.shots"]),
    (GOOD + "[intermediate]\ntasks = ['none', 'nope']\n", ["intermediate.tasks[1]", "nope"]),
    (GOOD.replace('model = "tiny"', 'model = "./no/such/folder"'), ["model", "no such folder"]),
    (GOOD + "[fewshot]\nshots = [500]\nshot_sets = 1\n", ["K=500", "pool"]),
])
def test_bad_spec(xtui, write_spec, text, needles):
    spec = write_spec(text)
    line = _one_line_error(xtui("run", spec), *needles)
    assert str(spec) in line or "K=500" in line


def test_unknown_field_names_valid_ones(xtui, write_spec):
    line = _one_line_error(xtui("run", write_spec(GOOD.replace("[target]", "[target]\nlr = 1"))), "target.lr", "learning_rate")
    assert line.startswith("xtui: error:")


def test_missing_spec_file(xtui, tmp_path):
    _one_line_error(xtui("run", tmp_path / "nope.toml"), "nope.toml", "no such spec file")


def test_bad_override(xtui, write_spec):
    _one_line_error(xtui("run", write_spec(GOOD), "--set", "target.batch_size=0"), "target.batch_size")
    _one_line_error(xtui("run", write_spec(GOOD), "--set", "nonsense"), "FIELD=VALUE")


def test_missing_data_file(xtui, write_spec, tmp_path, shared_data):
    data = tmp_path / "data"
    (data / "xnli" / "en").mkdir(parents=True)
    (data / "xnli" / "en" / "train.jsonl").write_text((shared_data / "xnli" / "en" / "train.jsonl").read_text())
    spec = write_spec(f'name = "m"\nmodel = "tiny"\ndata_dir = "{data}"\n[target]\ntask = "xnli"\nlanguages = ["de"]\n')
    _one_line_error(xtui("run", spec), "xnli", "de", "test")


def test_malformed_data_file_fails_the_stage_with_file_and_line(xtui, write_spec, tmp_path, shared_data, home):
    data = tmp_path / "data"
    for lang in ("en", "de"):
        (data / "xnli" / lang).mkdir(parents=True)
    lines = (shared_data / "xnli" / "en" / "train.jsonl").read_text().splitlines()[:40]
    lines[6] = '{"premise": "broken'
    (data / "xnli" / "en" / "train.jsonl").write_text("\n".join(lines) + "\n")
    (data / "xnli" / "de" / "test.jsonl").write_text((shared_data / "xnli" / "de" / "test.jsonl").read_text())
    spec = write_spec(f'name = "m"\nmodel = "tiny"\ndata_dir = "{data}"\n[target]\ntask = "xnli"\nlanguages = ["de"]\nmax_steps = 2\n')
    result = xtui("run", spec)
    assert result.returncode == 1
    assert "Traceback" not in result.stdout + result.stderr
    assert f"{data / 'xnli' / 'en' / 'train.jsonl'}:7" in result.stderr


def test_runs_show_unknown(xtui):
    _one_line_error(xtui("runs", "show", "nothing-here"), "no experiments")


def test_export_bad_format(xtui, write_spec):
    _one_line_error(xtui("runs", "export", "latest", "--format", "xls"), "--format", "json, csv, md")
