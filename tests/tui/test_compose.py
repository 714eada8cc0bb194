"""The compose screen: choices from the registry, the plan before launch, inline errors, save and load."""

from __future__ import annotations

import tomllib
from pathlib import Path

from textual.widgets import Input, Select, SelectionList, Static

from xtui.plan import build_plan
from xtui.plugins import load_plugins
from xtui.spec import load_spec, parse_spec
from xtui.tui.compose import ComposeScreen

from .conftest import make_app, wait_for

REPO = Path(__file__).resolve().parents[2]


def summary(screen) -> str:
    return str(screen.query_one("#plan-summary", Static).render())


def error(screen) -> str:
    return str(screen.query_one("#plan-error", Static).render())


async def settle(pilot, screen) -> None:
    await pilot.pause()
    await wait_for(pilot, lambda: screen.checked == screen.generation)


async def fill(pilot, screen, widget_id: str, text: str) -> None:
    field = screen.query_one(f"#{widget_id}", Input)
    field.value = text
    await pilot.pause()


async def test_choices_come_from_the_registry_and_the_plan_is_shown(store):
    registry = load_plugins()
    app = make_app(store, start="compose")
    async with app.run_test(size=(160, 48)) as pilot:
        screen = app.screen
        assert isinstance(screen, ComposeScreen)
        intermediate = screen.query_one("#f-intermediate-tasks", SelectionList)
        offered = [intermediate.get_option_at_index(i).value for i in range(intermediate.option_count)]
        assert offered == ["none"] + sorted(t.name for t in registry.tasks.values() if "intermediate" in t.roles)
        assert intermediate.selected == ["none"]
        target = screen.query_one("#f-target-task", Select)
        assert target.value == "demo_sentiment"
        languages = screen.query_one("#f-target-languages", SelectionList)
        expected = [l for l in registry.tasks["demo_sentiment"].languages if l != "en"]
        assert [languages.get_option_at_index(i).value for i in range(languages.option_count)] == expected
        await settle(pilot, screen)
        # 1 target, evaluations in en + de, K=4 x 5 shot sets (default) in de
        assert screen.plan_summary["stages"] == 8 and screen.plan_summary["done"] == 0
        assert "8 stages" in summary(screen) and "8 to run" in summary(screen)
        # select-all follows the chosen task's languages
        await pilot.press("ctrl+l")
        await settle(pilot, screen)
        assert languages.selected == expected
        assert screen.plan_summary["stages"] == 2 + len(expected) + 5 * len(expected)
        target.value = "xnli"
        await pilot.pause()
        assert [languages.get_option_at_index(i).value for i in range(languages.option_count)] == \
            [l for l in registry.tasks["xnli"].languages if l != "en"]


async def test_errors_are_shown_inline(store):
    app = make_app(store, start="compose")
    async with app.run_test(size=(160, 48)) as pilot:
        screen = app.screen
        await settle(pilot, screen)
        await fill(pilot, screen, "f-fewshot-shots", "0, 4x")
        await settle(pilot, screen)
        assert screen.plan_summary is None and "'fewshot.shots': '4x' is not an integer" in error(screen)
        assert screen.query_one("#f-fewshot-shots").has_class("-invalid-field")
        await fill(pilot, screen, "f-fewshot-shots", "0, 4")
        screen.query_one("#f-target-languages", SelectionList).deselect_all()
        await settle(pilot, screen)
        assert "field 'target.languages'" in error(screen)
        assert screen.query_one("#f-target-languages").has_class("-invalid-field")
        assert not screen.query_one("#f-fewshot-shots").has_class("-invalid-field")
        screen.query_one("#f-target-languages", SelectionList).select("de")
        await fill(pilot, screen, "f-target-learning_rate", "2")
        await settle(pilot, screen)
        assert "target.learning_rate" in error(screen)
        await fill(pilot, screen, "f-target-learning_rate", "")
        await fill(pilot, screen, "f-intermediate-mixtures", "anli+nosuchtask")
        await settle(pilot, screen)
        assert screen.plan_error and "intermediate.tasks" in screen.plan_error
        await pilot.press("ctrl+r")  # launching an invalid spec is refused
        assert isinstance(app.screen, ComposeScreen) and not app.launched


async def test_save_load_round_trip_and_reuse_count(store, tmp_path, monkeypatch):
    monkeypatch.chdir(REPO)  # the quickstart's data_dir is relative to the repository root, where users run it
    registry = load_plugins()
    app = make_app(store, start="compose")
    async with app.run_test(size=(160, 48)) as pilot:
        screen = app.screen
        # loading the quickstart gives the same spec as reading the file
        assert screen.load_from(REPO / "examples" / "quickstart.toml")
        await settle(pilot, screen)
        spec, _ = load_spec(REPO / "examples" / "quickstart.toml")
        assert parse_spec(screen.spec_data()).model_dump() == spec.model_dump()
        assert screen.query_one("#f-target-languages", SelectionList).selected == ["de", "es", "fr", "ru"]
        assert screen.plan_error is None, screen.plan_error
        assert screen.plan_summary["stages"] == len(build_plan(spec, registry).stages)
        # a stage with a result is counted as reused
        plan = build_plan(spec, registry)
        target = next(s for s in plan.order() if s.type == "target")
        from xtui.files import atomic_write_json

        atomic_write_json(store.stage_dir(target.hash) / "result.json", {"hash": target.hash, "status": "done"})
        await fill(pilot, screen, "f-seeds", "1 ")  # any edit re-checks the plan
        await settle(pilot, screen)
        assert screen.plan_summary["done"] == 1 and "1 already done" in summary(screen)
        # edit and save through the dialog; the file is a spec `xtui run` accepts
        await fill(pilot, screen, "f-name", "my-grid")
        await fill(pilot, screen, "f-model", "tiny")
        await fill(pilot, screen, "f-fewshot-shot_sets", "2")
        await fill(pilot, screen, "f-intermediate-max_steps", "7")
        await settle(pilot, screen)
        await pilot.press("ctrl+s")
        await pilot.pause(0.2)
        app.screen.query_one("#path-input", Input).value = str(tmp_path / "saved.toml")
        await pilot.press("enter")
        await pilot.pause(0.2)
        saved = tmp_path / "saved.toml"
        data = tomllib.loads(saved.read_text())
        assert data["name"] == "my-grid" and data["model"] == "tiny" and data["fewshot"]["shot_sets"] == 2
        assert data["intermediate"] == {"tasks": ["none", "anli"], "max_steps": 7, "epochs": 1.0, "batch_size": 16,
                                        "learning_rate": 1e-4, "max_length": 64, "freeze_embeddings": True,
                                        "pooling": "mean"}
        assert data["target"]["freeze_embeddings"] is True and data["fewshot"]["freeze_embeddings"] is True
        saved_spec, _ = load_spec(saved)
        assert saved_spec.target.languages == ["de", "es", "fr", "ru"] and saved_spec.fewshot.steps == 4
        # load it back through the dialog into a fresh form
        screen.load_data({"name": "x", "target": {"task": "demo_entities", "languages": ["nl"]}})
        await settle(pilot, screen)
        assert screen.query_one("#f-target-task", Select).value == "demo_entities"
        await pilot.press("ctrl+o")
        await pilot.pause(0.2)
        app.screen.query_one("#path-input", Input).value = str(saved)
        await pilot.press("enter")
        await settle(pilot, screen)
        assert parse_spec(screen.spec_data()).model_dump() == saved_spec.model_dump()


async def test_mixtures_plan_and_several_targets_are_kept_as_written(store, monkeypatch, tmp_path):
    from support.unit_fixtures import datasets_cache_with

    datasets_cache_with(monkeypatch, tmp_path / "datasets", ("nyu-mll/glue", "mnli"))  # offline, mnli must be cached
    registry = load_plugins()
    app = make_app(store, start="compose")
    async with app.run_test(size=(160, 48)) as pilot:
        screen = app.screen
        await settle(pilot, screen)
        await fill(pilot, screen, "f-intermediate-mixtures", "demo_nli+mnli")
        await fill(pilot, screen, "f-intermediate-sampling", "temperature")
        await settle(pilot, screen)
        assert not screen.plan_error, screen.plan_error
        data = screen.spec_data()
        assert ["demo_nli", "mnli"] in data["intermediate"]["tasks"] and data["intermediate"]["sampling"] == "temperature"
        plan = build_plan(parse_spec(data), registry)
        assert any(s.config.get("mixture") for s in plan.stages.values())
        assert screen.plan_summary["stages"] == len(plan.stages)
        # a spec with several targets: the form keeps them (and "all" languages) as the file writes them
        several = {"name": "grid", "model": "tiny", "intermediate": {"tasks": ["none", ["demo_nli", "mnli"]]},
                   "target": {"tasks": ["demo_sentiment", "demo_entities"], "languages": "all",
                              "per_task": {"demo_entities": {"learning_rate": 3e-4}}}}
        screen.load_data(several)
        await settle(pilot, screen)
        assert not screen.plan_error, screen.plan_error
        kept = screen.spec_data()
        assert parse_spec(kept).target.model_dump() == parse_spec(several).target.model_dump()
        assert screen.plan_summary["stages"] == len(build_plan(parse_spec(several), registry).stages)


async def test_saving_after_loading_asks_before_overwriting_and_proposes_the_experiment_name(store, tmp_path):
    import shutil

    from xtui.tui.choice_dialog import ChoiceDialog
    from xtui.tui.path_dialog import PathDialog

    loaded = tmp_path / "specs" / "grid.toml"
    loaded.parent.mkdir()
    shutil.copy(REPO / "examples" / "quickstart.toml", loaded)
    original = loaded.read_text()
    app = make_app(store, start="compose")
    async with app.run_test(size=(160, 48)) as pilot:
        screen = app.screen
        assert screen.load_from(loaded)
        await settle(pilot, screen)
        await fill(pilot, screen, "f-fewshot-shot_sets", "2")
        await settle(pilot, screen)
        # the proposal is named after the experiment, beside the loaded file
        await pilot.press("ctrl+s")
        await wait_for(pilot, lambda: isinstance(app.screen, PathDialog))
        assert app.screen.query_one("#path-input", Input).value == str(loaded.parent / "quickstart.toml")
        # saving over the loaded file asks first; declining leaves it as it was and asks for another name
        app.screen.query_one("#path-input", Input).value = str(loaded)
        await pilot.press("enter")
        await wait_for(pilot, lambda: isinstance(app.screen, ChoiceDialog), what="the overwrite question")
        assert str(loaded) in str(app.screen.query_one("#dialog-body", Static).render())
        await pilot.press("n")
        await wait_for(pilot, lambda: isinstance(app.screen, PathDialog), what="the path dialog again")
        assert loaded.read_text() == original
        await pilot.press("escape")
        await wait_for(pilot, lambda: app.screen is screen)
        assert loaded.read_text() == original
        # a new name is written without a question
        await pilot.press("ctrl+s")
        await wait_for(pilot, lambda: isinstance(app.screen, PathDialog))
        await pilot.press("enter")
        await wait_for(pilot, lambda: app.screen is screen and (loaded.parent / "quickstart.toml").exists(),
                       what="saved under the proposed name")
        assert tomllib.loads((loaded.parent / "quickstart.toml").read_text())["fewshot"]["shot_sets"] == 2
        # ... and saving again to the file this form wrote does not ask either
        await fill(pilot, screen, "f-fewshot-shot_sets", "3")
        await pilot.press("ctrl+s")
        await wait_for(pilot, lambda: isinstance(app.screen, PathDialog))
        assert app.screen.query_one("#path-input", Input).value == str(loaded.parent / "quickstart.toml")
        await pilot.press("enter")
        await wait_for(pilot, lambda: app.screen is screen and tomllib.loads(
            (loaded.parent / "quickstart.toml").read_text())["fewshot"]["shot_sets"] == 3, what="saved again")
        # overwriting the loaded file, once confirmed
        await pilot.press("ctrl+s")
        await wait_for(pilot, lambda: isinstance(app.screen, PathDialog))
        app.screen.query_one("#path-input", Input).value = str(loaded)
        await pilot.press("enter")
        await wait_for(pilot, lambda: isinstance(app.screen, ChoiceDialog))
        await pilot.press("y")
        await wait_for(pilot, lambda: app.screen is screen and loaded.read_text() != original, what="overwritten")
        assert tomllib.loads(loaded.read_text())["fewshot"]["shot_sets"] == 3


async def test_every_hyper_parameter_shows_whole_when_focused_at_120x36(store):
    """Tabbing to a field scrolls it into view: all of it, not clipped by its section (temperature was)."""
    from textual.widgets import Collapsible

    from xtui.tui.compose import HyperParameters

    from textual.errors import NoWidget

    def whole(field) -> bool:
        """What the compositor draws of the field (its region within every ancestor's clip) is all of it;
        False while the field is not laid out yet (just uncollapsed or scrolled to, on a loaded machine)."""
        try:
            geometry = app.screen.find_widget(field)
        except (NoWidget, KeyError):
            return False
        return geometry.region.height > 0 and geometry.region.intersection(geometry.clip) == geometry.region

    app = make_app(store, start="compose")
    async with app.run_test(size=(120, 36)) as pilot:
        app.animation_level = "none"  # scrolls land at once
        screen = app.screen
        await settle(pilot, screen)
        for section in ("intermediate", "target", "fewshot", "run"):
            collapsible = screen.query_one(f"#hp-{section}", Collapsible)
            collapsible.collapsed = False
            await wait_for(pilot, lambda: screen.query(f"#hp-fields-{section}"), what=f"the {section} fields")
            await pilot.pause(0.3)
            fields = [w for w in screen.query_one(f"#hp-fields-{section}", HyperParameters).query("Input, Checkbox")]
            assert fields and (section != "intermediate" or fields[-1].id == "f-intermediate-temperature")
            for field in fields:
                field.focus()
                try:
                    await wait_for(pilot, lambda: whole(field), timeout=5)
                except AssertionError:
                    try:
                        geometry = screen.find_widget(field)
                    except (NoWidget, KeyError):
                        raise AssertionError(f"{field.id} is never laid out") from None
                    raise AssertionError(f"{field.id} at {geometry.region} is clipped to {geometry.clip}") from None
            collapsible.collapsed = True
            await pilot.pause(0.3)


async def test_the_plan_preview_follows_runs_that_finish_while_the_form_stays_as_it_is(store):
    """A run ends (here or elsewhere): the plan counts its stages as done without any field being edited."""
    from xtui.files import atomic_write_json

    from .fake_runs import T0, write_experiment

    registry = load_plugins()
    app = make_app(store, start="compose")
    async with app.run_test(size=(160, 48)) as pilot:
        screen = app.screen
        await settle(pilot, screen)
        assert screen.plan_summary["done"] == 0
        plan = build_plan(parse_spec(screen.spec_data()), registry)
        stages = plan.order()
        # an experiment finishes its first stage and records itself in the index, as `xtui run` does at its end
        atomic_write_json(store.stage_dir(stages[0].hash) / "result.json", {"hash": stages[0].hash, "status": "done"})
        write_experiment(store, "20231114-221320-baseline-aaaa", name="baseline", created=T0)
        await wait_for(pilot, lambda: screen.plan_summary and screen.plan_summary["done"] == 1, timeout=10,
                       what="the plan counting the finished stage")
        assert "1 already done" in summary(screen)
        # away on another screen while the next one finishes: coming back shows it
        await pilot.press("f4")
        atomic_write_json(store.stage_dir(stages[1].hash) / "result.json", {"hash": stages[1].hash, "status": "done"})
        await pilot.press("f2")
        await wait_for(pilot, lambda: screen.plan_summary and screen.plan_summary["done"] == 2, timeout=10,
                       what="the plan counting both on return")
        assert "2 already done" in summary(screen)
