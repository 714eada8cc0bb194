"""The spec: validation, one-line errors naming the file and the field, and --set overrides."""

from __future__ import annotations

import pytest

from support.unit_fixtures import spec_data
from xtui.errors import SpecError
from xtui.spec import Spec, apply_overrides, intermediate_key, load_spec, parse_override, parse_spec

VALID = """\
name = "grid"
model = "tiny"

[target]
task = "demo_sentiment"
languages = ["de", "fr"]
"""


def spec_error(data: dict, source: str = "my.toml") -> str:
    with pytest.raises(SpecError) as caught:
        parse_spec(data, source)
    message = str(caught.value)
    assert "\n" not in message, message
    assert message.startswith(f"{source}: "), message
    return message


def test_valid_spec_gets_defaults(tmp_path):
    path = tmp_path / "grid.toml"
    path.write_text(VALID)
    spec, text = load_spec(path)
    assert text == VALID
    assert isinstance(spec, Spec)
    assert spec.name == "grid" and spec.model == "tiny"
    assert spec.seeds == [1]
    assert spec.data_dir is None
    assert spec.intermediate.tasks == ["none"]
    assert spec.intermediate.learning_rate == 1e-5
    assert spec.target.learning_rate == 2e-5
    assert spec.target.languages == ["de", "fr"]
    assert spec.fewshot.shots == [0]
    assert spec.fewshot.shot_sets == 5
    assert spec.fewshot.steps == 10
    assert spec.fewshot.stratified is True


def test_training_config_defaults_to_one_epoch():
    spec = parse_spec(spec_data())
    config = spec.target.training_config()
    assert config["epochs"] == 1.0 and config["max_steps"] is None
    spec = parse_spec(spec_data(target={"task": "demo_sentiment", "languages": ["de"], "max_steps": 7}))
    assert spec.target.training_config()["epochs"] is None
    assert spec.target.training_config()["max_steps"] == 7


def test_shots_are_sorted():
    spec = parse_spec(spec_data(fewshot={"shots": [10, 0, 5]}))
    assert spec.fewshot.shots == [0, 5, 10]


def test_unknown_top_level_field_names_file_field_and_valid_ones():
    message = spec_error(spec_data(bogus=1))
    assert "'bogus'" in message
    for field in ("name", "model", "seeds", "intermediate", "target", "fewshot"):
        assert field in message.split("valid:", 1)[1]


@pytest.mark.parametrize("section, field, expected_valid", [
    ("target", "lr", ("learning_rate", "languages", "task")),
    ("fewshot", "shotz", ("shots", "shot_sets", "steps")),
    ("intermediate", "task", ("tasks", "learning_rate")),
])
def test_unknown_nested_field_names_dotted_path_and_valid_ones(section, field, expected_valid):
    data = spec_data()
    data.setdefault(section, {})
    data[section] = {**data[section], field: 1}
    message = spec_error(data)
    assert f"'{section}.{field}'" in message
    valid = message.split("valid:", 1)[1]
    for name in expected_valid:
        assert name in valid


@pytest.mark.parametrize("data, field", [
    (spec_data(seeds="a"), "seeds"),
    (spec_data(seeds=[1, "a"]), "seeds[1]"),
    (spec_data(name=5), "name"),
    (spec_data(target={"task": "demo_sentiment", "languages": ["de"], "learning_rate": "fast"}), "target.learning_rate"),
    (spec_data(target=5), "target"),
    (spec_data(fewshot={"shots": "5"}), "fewshot.shots"),
    (spec_data(fewshot={"steps": 0}), "fewshot.steps"),
    (spec_data(target={"task": "demo_sentiment", "languages": []}), "target.languages"),
])
def test_wrong_types_and_ranges_name_the_field(data, field):
    message = spec_error(data)
    assert f"field '{field}'" in message


def test_boolean_is_not_an_integer():
    spec_error(spec_data(target={"task": "demo_sentiment", "languages": ["de"], "batch_size": True}))


def test_missing_target_is_required():
    message = spec_error({"name": "x"})
    assert "field 'target' is required" in message


def test_several_problems_are_joined_on_one_line():
    message = spec_error(spec_data(seeds=[1, 1], fewshot={"steps": 0}))
    assert "'seeds'" in message and "'fewshot.steps'" in message


@pytest.mark.parametrize("shots, words", [
    ([-1], "0 or more"),
    ([0, 5, 5], "listed twice"),
])
def test_bad_shots(shots, words):
    message = spec_error(spec_data(fewshot={"shots": shots}))
    assert "field 'fewshot.shots'" in message and words in message


def test_duplicate_languages_and_seeds():
    message = spec_error(spec_data(target={"task": "demo_sentiment", "languages": ["de", "fr", "de"]}))
    assert "field 'target.languages'" in message and "twice" in message
    message = spec_error(spec_data(seeds=[3, 3]))
    assert "field 'seeds'" in message and "twice" in message


@pytest.mark.parametrize("name", ["../x", "a/b", "a\x01b", "line\nbreak", "", ".hidden", "-x", "x" * 65, "a b"])
def test_bad_names_rejected(name):
    message = spec_error(spec_data(name=name))
    assert "field 'name'" in message


@pytest.mark.parametrize("name", ["a", "grid-1", "few_shot.v2", "X" * 64])
def test_good_names_accepted(name):
    assert parse_spec(spec_data(name=name)).name == name


@pytest.mark.parametrize("tasks", [[["mnli"]], ["none", []], ["none", ["anli"]]])
def test_mixture_of_fewer_than_two_tasks_rejected(tasks):
    message = spec_error(spec_data(intermediate={"tasks": tasks}))
    assert "field 'intermediate.tasks" in message and "at least two" in message


def test_mixture_duplicates_are_caught_by_their_key():
    message = spec_error(spec_data(intermediate={"tasks": ["none", ["a", "b"], "a+b"]}))
    assert "'a+b' is listed twice" in message
    message = spec_error(spec_data(intermediate={"tasks": ["none", "none"]}))
    assert "'none' is listed twice" in message


def test_mixture_of_two_is_valid_and_keyed():
    spec = parse_spec(spec_data(intermediate={"tasks": ["none", ["mnli", "anli"]]}))
    assert [intermediate_key(t) for t in spec.intermediate.tasks] == ["none", "mnli+anli"]


# --------------------------------------------------------------------------- --set overrides

def test_override_number_becomes_float():
    path, value = parse_override("target.learning_rate=1e-5")
    assert path == ["target", "learning_rate"]
    assert isinstance(value, float) and value == 1e-5


@pytest.mark.parametrize("text, path, value", [
    ("fewshot.shots=[0,5]", ["fewshot", "shots"], [0, 5]),
    ("seeds = [1, 2]", ["seeds"], [1, 2]),
    ("fewshot.stratified=false", ["fewshot", "stratified"], False),
    ("fewshot.shot_sets=3", ["fewshot", "shot_sets"], 3),
    ('target.languages=["de","fr"]', ["target", "languages"], ["de", "fr"]),
    ("model=xlm-roberta-large", ["model"], "xlm-roberta-large"),
    ("name = my run", ["name"], "my run"),
    ('description="a=b"', ["description"], "a=b"),
])
def test_override_values(text, path, value):
    assert parse_override(text) == (path, value)
    assert type(parse_override(text)[1]) is type(value)


@pytest.mark.parametrize("text", ["target.learning_rate", "", "x"])
def test_override_without_equals(text):
    with pytest.raises(SpecError, match="expected FIELD=VALUE") as caught:
        parse_override(text)
    assert "\n" not in str(caught.value)


@pytest.mark.parametrize("text", ["=1", "a..b=1", "target.=1"])
def test_override_with_empty_field(text):
    with pytest.raises(SpecError, match="field name is empty"):
        parse_override(text)


def test_override_into_a_non_section():
    with pytest.raises(SpecError, match="'name' is not a section"):
        apply_overrides({"name": "x"}, ["name.first=1"])


def test_overrides_apply_through_load_spec(tmp_path):
    path = tmp_path / "grid.toml"
    path.write_text(VALID)
    spec, text = load_spec(path, ["target.learning_rate=3e-5", "fewshot.shots=[5,0]", "intermediate.tasks=['none','demo_nli']"])
    assert spec.target.learning_rate == 3e-5
    assert spec.fewshot.shots == [0, 5]
    assert spec.intermediate.tasks == ["none", "demo_nli"]
    assert text == VALID  # the file's text, not the overridden one


def test_override_to_unknown_field_is_reported_with_the_file(tmp_path):
    path = tmp_path / "grid.toml"
    path.write_text(VALID)
    with pytest.raises(SpecError) as caught:
        load_spec(path, ["target.foo=1"])
    message = str(caught.value)
    assert message.startswith(f"{path}: ") and "'target.foo'" in message and "learning_rate" in message
    assert "\n" not in message


# --------------------------------------------------------------------------- files

def test_invalid_toml_names_the_file(tmp_path):
    path = tmp_path / "broken.toml"
    path.write_text('name = "x"\n[target\ntask = "demo_sentiment"\n')
    with pytest.raises(SpecError) as caught:
        load_spec(path)
    message = str(caught.value)
    assert message.startswith(f"{path}: invalid TOML")
    assert "line 2" in message
    assert "\n" not in message


def test_unknown_field_in_file_names_the_file(tmp_path):
    path = tmp_path / "typo.toml"
    path.write_text(VALID + "\n[fewshot]\nshot = [5]\n")
    with pytest.raises(SpecError) as caught:
        load_spec(path)
    message = str(caught.value)
    assert message.startswith(f"{path}: unknown field 'fewshot.shot'")
    assert "shots" in message and "\n" not in message


def test_missing_file(tmp_path):
    path = tmp_path / "nope.toml"
    with pytest.raises(SpecError) as caught:
        load_spec(path)
    assert str(caught.value) == f"{path}: no such spec file"


def test_undecodable_file(tmp_path):
    path = tmp_path / "latin1.toml"
    path.write_bytes(b'name = "caf\xe9"\n')
    with pytest.raises(SpecError) as caught:
        load_spec(path)
    assert str(caught.value).startswith(f"{path}: cannot read spec")
    assert "\n" not in str(caught.value)
