"""The bad-input corpus: every case gives one line naming the culprit and what is valid,
a non-zero exit, no traceback, and leaves what was already finished intact."""

from __future__ import annotations

import json
import shutil
import subprocess
import textwrap
from pathlib import Path

import pytest

from conftest import XTUI, offline_env

BASE = {
    "head": 'name = "bad"\nmodel = "tiny"\n',
    "target": '[target]\ntask = "demo_sentiment"\nlanguages = ["de"]\nmax_steps = 2\n',
    "fewshot": "[fewshot]\nshots = [0]\n",
}


def spec(head=None, target=None, fewshot=None, extra=""):
    return (head if head is not None else BASE["head"]) + (target if target is not None else BASE["target"]) + \
        (fewshot if fewshot is not None else BASE["fewshot"]) + extra


T = BASE["target"]
CASES = {
    # TOML syntax
    "toml-unclosed-table": ("name = 'x'\n[target\n", ["invalid TOML"]),
    "toml-duplicate-key": (spec(head='name = "a"\nname = "b"\n'), ["invalid TOML"]),
    "toml-bad-value": (spec(head='name = bad\n'), ["invalid TOML"]),
    # unknown fields and sections
    "unknown-top-field": (spec(extra="bogus = 1\n"), ["fewshot.bogus"]),
    "unknown-top-field-before-tables": (spec(head=BASE["head"] + "colour = 'red'\n"), ["'colour'", "valid: name"]),
    "unknown-target-field": (spec(target=T + "lr = 1\n"), ["'target.lr'", "learning_rate"]),
    "unknown-section": (spec(extra="[trainer]\nx = 1\n"), ["'trainer'"]),
    "unknown-fewshot-field": (spec(fewshot="[fewshot]\nshot = [0]\n"), ["'fewshot.shot'", "shots"]),
    # missing fields
    "missing-name": (spec(head='model = "tiny"\n'), ["'name' is required"]),
    "missing-target": (BASE["head"], ["'target' is required"]),
    "missing-target-task": (spec(target='[target]\nlanguages = ["de"]\n'), ["field 'target'", "give either 'task' (one target) or 'tasks' (several)"]),
    "missing-languages": (spec(target='[target]\ntask = "demo_sentiment"\n'), ["'target.languages' is required"]),
    # wrong types and values
    "languages-empty": (spec(target='[target]\ntask = "demo_sentiment"\nlanguages = []\n'), ["target.languages"]),
    "languages-string": (spec(target='[target]\ntask = "demo_sentiment"\nlanguages = "de"\n'), ["target.languages"]),
    "batch-size-zero": (spec(target=T + "batch_size = 0\n"), ["target.batch_size", "greater than or equal to 1"]),
    "batch-size-string": (spec(target=T + 'batch_size = "16"\n'), ["target.batch_size", "integer"]),
    "batch-size-bool": (spec(target=T + "batch_size = true\n"), ["target.batch_size"]),
    "learning-rate-negative": (spec(target=T + "learning_rate = -1e-5\n"), ["target.learning_rate"]),
    "learning-rate-huge": (spec(target=T + "learning_rate = 2.0\n"), ["target.learning_rate", "less than 1"]),
    "epochs-zero": (spec(target=T + "epochs = 0\n"), ["target.epochs"]),
    "max-steps-negative": (spec(target=T.replace("max_steps = 2", "max_steps = -5")), ["target.max_steps"]),
    "warmup-too-big": (spec(target=T + "warmup_ratio = 1.5\n"), ["target.warmup_ratio"]),
    "seeds-empty": (spec(head=BASE["head"] + "seeds = []\n"), ["'seeds'"]),
    "seeds-duplicate": (spec(head=BASE["head"] + "seeds = [1, 1]\n"), ["'seeds'", "twice"]),
    "shots-negative": (spec(fewshot="[fewshot]\nshots = [0, -3]\n"), ["fewshot.shots", "0 or more"]),
    "shots-duplicate": (spec(fewshot="[fewshot]\nshots = [4, 4]\n"), ["fewshot.shots", "twice"]),
    "shot-sets-zero": (spec(fewshot="[fewshot]\nshots = [4]\nshot_sets = 0\n"), ["fewshot.shot_sets"]),
    "languages-duplicate": (spec(target=T.replace('["de"]', '["de", "de"]')), ["target.languages", "twice"]),
    # names that would escape the runs directory
    "name-dotdot": (spec(head='name = "../escape"\nmodel = "tiny"\n'), ["'name'", "letters, digits"]),
    "name-absolute": (spec(head='name = "/etc/passwd"\nmodel = "tiny"\n'), ["'name'"]),
    "name-control-char": (spec(head='name = "a\\u0007b"\nmodel = "tiny"\n'), ["'name'"]),
    "name-empty": (spec(head='name = ""\nmodel = "tiny"\n'), ["'name'"]),
    # tasks, languages, mixtures, shots
    "unknown-task": (spec(target=T.replace("demo_sentiment", "xnlii")), ["target.task", "'xnlii'", "known"]),
    "language-task-lacks": (spec(target=T.replace('["de"]', '["xx"]')), ["target.languages", "'xx'", "valid: en"]),
    "intermediate-only-as-target": (spec(target=T.replace("demo_sentiment", "demo_nli")), ["target.task", "cannot be a target"]),
    "target-only-as-intermediate": (spec(extra="[intermediate]\ntasks = ['xnli']\n"), ["intermediate.tasks[0]", "cannot be an intermediate"]),
    "unknown-intermediate": (spec(extra="[intermediate]\ntasks = ['none', 'nope']\n"), ["intermediate.tasks[1]", "'nope'"]),
    "mixture-unknown-task": (spec(extra="[intermediate]\ntasks = [['demo_nli', 'nope']]\n"), ["intermediate.tasks[0][1]", "'nope'"]),
    "mixture-of-one": (spec(extra="[intermediate]\ntasks = [['demo_nli']]\n"), ["intermediate.tasks", "at least two"]),
    "intermediate-duplicate": (spec(extra="[intermediate]\ntasks = ['none', 'none']\n"), ["intermediate.tasks", "twice"]),
    "none-as-target": (spec(target=T.replace("demo_sentiment", "none")), ["target.task", "'none'"]),
    "k-larger-than-pool": (spec(fewshot="[fewshot]\nshots = [500]\nshot_sets = 1\n"), ["fewshot.shots", "K=500", "100 examples"]),
    # models
    "model-folder-missing": (spec(head='name = "bad"\nmodel = "./no/such/folder"\n'), ["'model'", "no such folder", "minilm"]),
    "model-empty": (spec(head='name = "bad"\nmodel = " "\n'), ["'model'", "must not be empty"]),
    "model-not-cached-offline": (spec(head='name = "bad"\nmodel = "no-such-org/no-such-model"\n'), ["'model'", "not in the local Hugging Face cache"]),
    # data folders
    "data-dir-missing": (spec(head=BASE["head"] + 'data_dir = "/no/such/data"\n'), ["/no/such/data", "does not exist"]),
}


@pytest.fixture(scope="module")
def finished(tmp_path_factory):
    """A real finished experiment that no bad input may harm."""
    home = tmp_path_factory.mktemp("finished") / "runs"
    path = home.parent / "good.toml"
    path.write_text(spec())
    result = subprocess.run([*XTUI, "run", str(path)], capture_output=True, text=True, env=offline_env(home), timeout=300)
    assert result.returncode == 0, result.stderr
    snapshot = {p: p.read_bytes() for p in (home / "stages").glob("*/result.json")}
    assert len(snapshot) == 3
    return home, snapshot


def one_line_error(result, needles):
    assert result.returncode not in (0, None), result.stdout
    assert "Traceback" not in result.stdout + result.stderr
    lines = [l for l in result.stderr.splitlines() if l.strip()]
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith("xtui: error: ")
    for needle in needles:
        assert needle in lines[0], (needle, lines[0])
    return lines[0]


def run_in(home, *args, env=None, cwd=None):
    return subprocess.run([*XTUI, *map(str, args)], capture_output=True, text=True, env=offline_env(home, **(env or {})),
                          timeout=300, cwd=cwd, stdin=subprocess.DEVNULL)


def assert_intact(finished):
    home, snapshot = finished
    assert {p: p.read_bytes() for p in (home / "stages").glob("*/result.json")} == snapshot
    listing = run_in(home, "runs", "list", "--json")
    assert [r["status"] for r in json.loads(listing.stdout)] == ["done"]


@pytest.mark.parametrize("case", sorted(CASES))
def test_bad_spec(case, finished, tmp_path):
    text, needles = CASES[case]
    path = tmp_path / f"{case}.toml"
    path.write_text(text)
    line = one_line_error(run_in(finished[0], "run", path), needles)
    assert str(path) in line
    assert_intact(finished)


OTHER = {
    "spec-file-missing": (["run", "{tmp}/nope.toml"], ["nope.toml", "no such spec file"]),
    "spec-is-a-folder": (["run", "{tmp}"], ["cannot read spec"]),
    "spec-not-utf8": (["run", "{tmp}/latin1.toml"], ["cannot read spec"]),
    "override-without-equals": (["run", "{tmp}/good.toml", "--set", "nonsense"], ["FIELD=VALUE"]),
    "override-bad-value": (["run", "{tmp}/good.toml", "--set", "target.batch_size=0"], ["target.batch_size"]),
    "override-unknown-field": (["run", "{tmp}/good.toml", "--set", "target.bogus=1"], ["target.bogus"]),
    "override-into-value": (["run", "{tmp}/good.toml", "--set", "name.x=1"], ["'name' is not a section"]),
    "resume-and-spec": (["run", "{tmp}/good.toml", "--resume", "latest"], ["either SPEC or --resume"]),
    "resume-unknown": (["run", "--resume", "no-such-experiment"], ["no experiment 'no-such-experiment'"]),
    "run-without-spec": (["run"], ["missing SPEC"]),
    "unknown-option": (["run", "{tmp}/good.toml", "--bogus"], ["No such option: --bogus"]),
    "unknown-command": (["frobnicate"], ["No such command"]),
    "show-unknown": (["runs", "show", "nothing-here"], ["no experiment 'nothing-here'"]),
    "export-bad-format": (["runs", "export", "latest", "--format", "xls"], ["--format", "json, csv, md"]),
    "stop-unknown-stage": (["stop", "latest", "--stage", "ffffffff"], ["--stage", "ffffffff"]),
}


@pytest.mark.parametrize("case", sorted(OTHER))
def test_bad_command_line(case, finished, tmp_path):
    (tmp_path / "good.toml").write_text(spec())
    (tmp_path / "latin1.toml").write_bytes('name = "caf\xe9"\n'.encode("latin-1"))
    args, needles = OTHER[case]
    one_line_error(run_in(finished[0], *[a.format(tmp=tmp_path) for a in args]), needles)
    assert_intact(finished)


def test_unwritable_runs_directory(tmp_path):
    blocker = tmp_path / "a-file"
    blocker.write_text("")
    path = tmp_path / "good.toml"
    path.write_text(spec())
    one_line_error(run_in(blocker / "runs", "run", path), ["runs directory", "not writable", "XTUI_HOME"])


def test_corrupted_index_says_reindex_and_reindex_rebuilds(finished, tmp_path):
    home = tmp_path / "runs"
    shutil.copytree(finished[0], home)
    (home / "index.json").write_text('{"experiments": {"1": ')
    one_line_error(run_in(home, "runs", "list"), ["not valid JSON", "xtui runs reindex"])
    rebuilt = run_in(home, "runs", "reindex")
    assert rebuilt.returncode == 0 and "reindexed 1 experiments and 3 stages" in rebuilt.stdout
    assert json.loads(run_in(home, "runs", "list", "--json").stdout)[0]["status"] == "done"


def _copy_task(data: Path, task: str, files: dict) -> None:
    for relative, text in files.items():
        target = data / task / relative
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(text)


@pytest.fixture
def small_data(tmp_path, shared_data):
    data = tmp_path / "data"
    read = lambda rel: (shared_data / rel).read_text()  # noqa: E731
    _copy_task(data, "xnli", {"en/train.jsonl": "".join(read("xnli/en/train.jsonl").splitlines(True)[:50]),
                              "de/test.jsonl": read("xnli/de/test.jsonl"), "sw/test.jsonl": read("xnli/sw/test.jsonl"),
                              "de/validation.jsonl": read("xnli/de/validation.jsonl")})
    _copy_task(data, "udpos", {"en/train.conllu": read("udpos/en/train.conllu")[:20000],
                               "de/test.conllu": read("udpos/de/test.conllu")[:20000],
                               "de/validation.conllu": read("udpos/de/validation.conllu")})
    return data


def _data_spec(data, task="xnli", languages='["de"]', shots="[0, 4]"):
    return textwrap.dedent(f"""
        name = "data"
        model = "tiny"
        data_dir = "{data}"
        [target]
        task = "{task}"
        languages = {languages}
        max_steps = 2
        [fewshot]
        shots = {shots}
        shot_sets = 1
        steps = 1
        """)


def test_missing_data_file(small_data, tmp_path, finished):
    (small_data / "xnli" / "de" / "test.jsonl").unlink()
    path = tmp_path / "s.toml"
    path.write_text(_data_spec(small_data))
    one_line_error(run_in(finished[0], "run", path), ["target.languages", "no de test split", str(small_data)])


def test_no_shot_pool_for_a_language(small_data, tmp_path, finished):
    path = tmp_path / "s.toml"
    path.write_text(_data_spec(small_data, languages='["sw"]'))
    one_line_error(run_in(finished[0], "run", path), ["fewshot.shots", "no sw validation split"])


def test_malformed_jsonl_shot_pool_names_file_and_line(small_data, tmp_path, finished):
    pool = small_data / "xnli" / "de" / "validation.jsonl"
    lines = pool.read_text().splitlines()
    lines[11] = '{"premise": "kaputt", '
    pool.write_text("\n".join(lines) + "\n")
    path = tmp_path / "s.toml"
    path.write_text(_data_spec(small_data))
    one_line_error(run_in(finished[0], "run", path), [f"{pool}:12", "invalid JSON"])


def test_wrong_label_in_jsonl_names_file_and_line(small_data, tmp_path, finished):
    pool = small_data / "xnli" / "de" / "validation.jsonl"
    lines = pool.read_text().splitlines()
    lines[3] = json.dumps({"premise": "a", "hypothesis": "b", "label": 7})
    pool.write_text("\n".join(lines) + "\n")
    path = tmp_path / "s.toml"
    path.write_text(_data_spec(small_data))
    one_line_error(run_in(finished[0], "run", path), [f"{pool}:4", "label"])


def test_malformed_conllu_names_file_and_line(small_data, tmp_path, finished):
    pool = small_data / "udpos" / "de" / "validation.conllu"
    lines = pool.read_text().splitlines()
    index = next(i for i, l in enumerate(lines) if l and not l.startswith("#"))
    lines[index] = lines[index].replace("\t", " ", 3)
    pool.write_text("\n".join(lines) + "\n")
    path = tmp_path / "s.toml"
    path.write_text(_data_spec(small_data, task="udpos"))
    one_line_error(run_in(finished[0], "run", path), [f"{pool}:{index + 1}", "CoNLL-U"])


def test_disk_full_while_writing_a_checkpoint(finished, tmp_path):
    home = tmp_path / "runs"
    shutil.copytree(finished[0], home)
    before = {p: p.read_bytes() for p in (home / "stages").glob("*/result.json")}
    path = tmp_path / "s.toml"
    path.write_text(spec(target=T.replace("max_steps = 2", "max_steps = 3")))
    result = run_in(home, "run", path, env={"XTUI_FAULT": "checkpoint"})
    assert result.returncode == 1 and "Traceback" not in result.stdout + result.stderr
    assert "disk full" in result.stderr and "No space left on device" in result.stderr
    assert {p: p.read_bytes() for p in before} == before  # finished results untouched
    listing = json.loads(run_in(home, "runs", "list", "--json").stdout)
    assert [r["status"] for r in listing] == ["done", "failed"]


def test_out_of_memory_gives_a_hint_and_auto_batch_size_recovers(finished, tmp_path):
    home = tmp_path / "runs"
    path = tmp_path / "s.toml"
    path.write_text(spec(target=T + "batch_size = 16\n"))
    failed = run_in(home, "run", path, env={"XTUI_FAULT_OOM_ABOVE": "4"})
    assert failed.returncode == 1
    assert "out of memory" in failed.stderr and "lower batch_size" in failed.stderr
    recovered = run_in(home, "run", path, "--auto-batch-size", env={"XTUI_FAULT_OOM_ABOVE": "4"})
    assert recovered.returncode == 0, recovered.stderr
    target = next(json.loads(p.read_text()) for p in (home / "stages").glob("*/result.json")
                  if json.loads(p.read_text())["type"] == "target")
    assert target["train"]["batch_size"] == 4 and target["train"]["gradient_accumulation"] == 4


def test_strict_plugins_turn_a_broken_plugin_into_an_error(tmp_path, finished):
    dist = tmp_path / "site"
    (dist / "broken_plugin-0.1.dist-info").mkdir(parents=True)
    (dist / "broken_plugin-0.1.dist-info" / "METADATA").write_text("Metadata-Version: 2.1\nName: broken-plugin\nVersion: 0.1\n")
    (dist / "broken_plugin-0.1.dist-info" / "entry_points.txt").write_text("[xtui]\nbroken = broken_plugin\n")
    (dist / "broken_plugin.py").write_text("raise RuntimeError('boom at import')\n")
    env = {"PYTHONPATH": str(dist), "XTUI_STRICT_PLUGINS": "1"}
    one_line_error(run_in(finished[0], "tasks", env=env), ["broken", "boom at import"])
    relaxed = run_in(finished[0], "tasks", "--json", env={"PYTHONPATH": str(dist)})
    assert relaxed.returncode == 0 and "xnli" in relaxed.stdout
    assert "boom at import" in relaxed.stderr


def test_corpus_has_at_least_forty_cases():
    assert len(CASES) + len(OTHER) >= 40
