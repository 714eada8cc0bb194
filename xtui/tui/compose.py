"""Compose an experiment: everything offered comes from the plugin registry; the plan is shown before launch.

The form is a view of a spec dictionary (:meth:`ComposeScreen.spec_data`): what is saved,
validated (:func:`xtui.spec.parse_spec`), planned (:func:`xtui.plan.build_plan`) and
launched is exactly what ``xtui run`` would get from the same TOML file.
"""

from __future__ import annotations

import inspect
import re
import tomllib
from pathlib import Path
from typing import Optional

from pydantic import BaseModel
from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical, VerticalScroll
from textual.css.query import NoMatches
from textual.lazy import Lazy
from textual.screen import Screen
from textual.widgets import (Button, Checkbox, Collapsible, Footer, Input, Label, Select, SelectionList,
                             Static)
from textual.widgets.selection_list import Selection

from .mode_bar import ModeBar
from .messages import PlanChecked
from .text_field import TextField
from .tick_box import TickBox
from .tick_list import TickList

MAIN_FIELDS = {"intermediate": ("tasks",), "target": ("task", "languages", "tasks", "per_task"),
               "fewshot": ("shots", "shot_sets", "steps")}
KEPT_AS_WRITTEN = ("tasks", "per_task")
"""Target fields the form has no widgets for (several targets): a loaded spec keeps them as written."""
TOP_FIELDS = ("name", "model", "seeds", "data_dir", "description")
DEBOUNCE = 0.35
INDEX_POLL = 1.5
"""Seconds between looks at the index: an experiment that ends rewrites it, and the plan counts its stages as done."""


def spec_sections() -> dict:
    """Section name -> pydantic model, from the spec itself (new sections appear in the form by themselves)."""
    from ..spec import Spec

    out = {}
    for name, info in Spec.model_fields.items():
        if inspect.isclass(info.annotation) and issubclass(info.annotation, BaseModel):
            out[name] = info.annotation
    return out


def field_kind(annotation) -> str:
    text = str(annotation)
    if annotation is bool or "bool" in text:
        return "bool"
    if annotation is int or text in ("typing.Optional[int]", "int | None", "Optional[int]"):
        return "int"
    if annotation is float or "float" in text:
        return "float"
    return "str"


def parse_number(text: str, kind: str, field: str):
    try:
        return int(text) if kind == "int" else float(text)
    except ValueError:
        raise ValueError(f"field {field!r}: {text!r} is not {'an integer' if kind == 'int' else 'a number'}") from None


def parse_int_list(text: str, field: str) -> list:
    items = [t for t in re.split(r"[,\s]+", text.strip()) if t]
    return [parse_number(t, "int", field) for t in items]


def default_text(value) -> str:
    if value is None:
        return "unset"
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


class HyperParameters(Vertical):
    """One section's hyper-parameter fields, each with its default as the placeholder."""

    # A Vertical is 1fr high: inside the collapsible (auto height) that cut its last fields off.
    DEFAULT_CSS = "HyperParameters { height: auto; }"

    def __init__(self, section: str, model, names: list) -> None:
        super().__init__(id=f"hp-fields-{section}")
        self.section, self.model, self.names = section, model, names

    def compose(self) -> ComposeResult:
        for name in self.names:
            info = self.model.model_fields[name]
            widget_id = f"f-{self.section}-{name}"
            if field_kind(info.annotation) == "bool":
                yield TickBox(name, bool(info.default), id=widget_id, compact=True)
            else:
                with Horizontal(classes="row"):
                    yield Label(name, classes="field-label")
                    yield TextField("", placeholder=f"default {default_text(info.default)}", id=widget_id, classes="field")

    def on_mount(self) -> None:
        # labels as wide as the section's longest name: "gradient_accumulation" wrapped at the form's 14
        width = max(len(name) for name in self.names) + 1
        for label in self.query(".field-label"):
            label.styles.width = max(width, 14)
        self.screen.hyper_parameters_mounted()


class ComposeScreen(Screen):
    BINDINGS = [
        Binding("ctrl+r", "launch", "Launch", tooltip="Launch the experiment in the background and watch it"),
        Binding("ctrl+s", "save", "Save spec", tooltip="Save the form as a spec TOML file"),
        Binding("ctrl+o", "load", "Load spec", tooltip="Load a spec TOML file into the form"),
        Binding("ctrl+l", "all_languages", "All langs", tooltip="Select every language of the target task (again: none)"),
    ]

    def __init__(self) -> None:
        super().__init__(id="compose")
        self.generation = 0
        self.checked = -1
        """The generation of the form whose plan is shown (equal to ``generation`` once up to date)."""
        self.plan_summary: Optional[dict] = None
        self.plan_error: Optional[str] = None
        self.extra: dict = {}
        self.saved_path: Optional[str] = None
        """The file this form last wrote (saving there again asks nothing)."""
        self.loaded_path: Optional[str] = None
        self._loading = False
        self._pending: dict = {}
        """Values for fields that are not mounted yet (widget id -> value)."""

    # -- layout -----------------------------------------------------------------------------------
    def compose(self) -> ComposeResult:
        registry = self.app.registry
        intermediates = ["none"] + sorted(t.name for t in registry.tasks.values() if "intermediate" in t.roles)
        targets = sorted(t.name for t in registry.tasks.values() if "target" in t.roles)
        from ..models import PRESETS

        presets = list(PRESETS) + [m for m in registry.models if m not in PRESETS]
        self.presets = presets
        default_target = "demo_sentiment" if "demo_sentiment" in targets else (targets[0] if targets else None)
        yield ModeBar()
        with Horizontal(id="compose-body"):
            with VerticalScroll(id="form"):
                yield Static("[b]Experiment[/b]", classes="section-title")
                with Horizontal(classes="row"):
                    yield Label("name", classes="field-label")
                    yield TextField("my-experiment", id="f-name", classes="field", compact=True)
                with Horizontal(classes="row"):
                    yield Label("model", classes="field-label")
                    yield Select([(p, p) for p in presets], value="minilm" if "minilm" in presets else presets[0],
                                 allow_blank=False, id="f-model-preset", classes="field-half", compact=True)
                    yield TextField("", placeholder="or a Hub id / folder", id="f-model", classes="field-half", compact=True)
                with Horizontal(classes="row"):
                    yield Label("seeds", classes="field-label")
                    yield TextField("1", placeholder="1, 2, 3", id="f-seeds", classes="field", compact=True)
                with Horizontal(classes="row"):
                    yield Label("data_dir", classes="field-label")
                    yield TextField("", placeholder="unset: $XTUI_DATA_DIR, else the Hub", id="f-data_dir", classes="field", compact=True)
                yield Static("[b]Intermediate tasks[/b] (English; none = baseline)", classes="section-title")
                yield TickList(*[Selection(name, name, name == "none") for name in intermediates],
                                    id="f-intermediate-tasks", classes="pick")
                with Horizontal(classes="row"):
                    yield Label("mixtures", classes="field-label")
                    yield TextField("", placeholder="e.g. anli+mnli, qqp+sst2", id="f-intermediate-mixtures", classes="field", compact=True)
                yield Static("[b]Target task[/b]", classes="section-title")
                with Horizontal(classes="row"):
                    yield Label("task", classes="field-label")
                    yield Select([(name, name) for name in targets], value=default_target, allow_blank=False,
                                 id="f-target-task", classes="field", compact=True)
                with Horizontal(classes="row"):
                    yield Label("languages", classes="field-label")
                    yield Button("all", id="languages-all", classes="small", compact=True)
                    yield Button("none", id="languages-none", classes="small", compact=True)
                    yield Static("", id="languages-count")
                yield TickList(id="f-target-languages", classes="pick")
                yield Static("[b]Few-shot[/b]", classes="section-title")
                with Horizontal(classes="row"):
                    yield Label("shots K", classes="field-label")
                    yield TextField("0, 4", placeholder="0, 5, 10 (0 = zero-shot)", id="f-fewshot-shots", classes="field", compact=True)
                with Horizontal(classes="row"):
                    yield Label("shot sets", classes="field-label")
                    yield TextField("", placeholder=self._default("fewshot", "shot_sets"), id="f-fewshot-shot_sets", classes="field", compact=True)
                with Horizontal(classes="row"):
                    yield Label("steps", classes="field-label")
                    yield TextField("", placeholder=self._default("fewshot", "steps"), id="f-fewshot-steps", classes="field", compact=True)
                for section, model in spec_sections().items():
                    names = [n for n in model.model_fields if n not in MAIN_FIELDS.get(section, ())]
                    if not names:
                        continue
                    with Collapsible(title=f"{section} hyper-parameters", collapsed=True, id=f"hp-{section}"):
                        # collapsed at first: built after the first paint (a third of the screen's widgets)
                        yield Lazy(HyperParameters(section, model, names))
            with Vertical(id="plan-panel"):
                yield Static("[b]Plan[/b]", classes="section-title")
                yield Static("checking…", id="plan-summary")
                yield Static("", id="plan-error")
                yield Static("", id="saved-path")
                with Horizontal(id="compose-buttons"):
                    yield Button("Launch", variant="success", id="launch")
                    yield Button("Save", id="save")
                    yield Button("Load", id="load")
        yield Footer()

    def _default(self, section: str, name: str) -> str:
        info = spec_sections()[section].model_fields[name]
        return f"default {default_text(info.default)}"

    def on_mount(self) -> None:
        from .history import index_stamp

        self.sub_title = "compose"
        self._fill_languages(select=None)
        self._index_seen = index_stamp(self.app.store.index_path)
        self.set_interval(INDEX_POLL, self._index_changed)
        self.schedule_check()

    def on_screen_resume(self) -> None:
        # back from watching a run: stages may have finished since the plan was checked
        from .history import index_stamp

        self._index_seen = index_stamp(self.app.store.index_path)
        self.schedule_check()

    def _index_changed(self) -> None:
        from .history import index_stamp

        if not self.is_current:
            return  # checked again on return
        stamp = index_stamp(self.app.store.index_path)
        if stamp != self._index_seen:
            self._index_seen = stamp
            self.schedule_check()

    # -- the target's languages -----------------------------------------------------------------------
    def _fill_languages(self, select: Optional[list]) -> None:
        task_name = self.query_one("#f-target-task", Select).value
        task = self.app.registry.tasks.get(task_name) if isinstance(task_name, str) else None
        picker = self.query_one("#f-target-languages", SelectionList)
        previous = set(picker.selected)
        picker.clear_options()
        if task is None:
            return
        languages = [l for l in task.languages if l != task.train_language] or list(task.languages)
        if select is None:
            select = [l for l in languages if l in previous] or languages[:1]
        picker.add_options([Selection(l, l, l in select) for l in languages])
        self._count_languages()

    def _count_languages(self) -> None:
        picker = self.query_one("#f-target-languages", SelectionList)
        self.query_one("#languages-count", Static).update(f" {len(picker.selected)} of {picker.option_count} selected")

    @on(Select.Changed, "#f-target-task")
    def target_changed(self) -> None:
        if not self._loading:
            for name in KEPT_AS_WRITTEN:  # one target picked: it replaces the spec's several
                (self.extra.get("target") or {}).pop(name, None)
            self._fill_languages(select=None)
        self.schedule_check()

    @on(Select.Changed, "#f-model-preset")
    def preset_changed(self) -> None:
        if not self._loading:
            self.query_one("#f-model", Input).value = ""
        self.schedule_check()

    @on(Button.Pressed, "#languages-all")
    def languages_all(self) -> None:
        self.query_one("#f-target-languages", SelectionList).select_all()

    @on(Button.Pressed, "#languages-none")
    def languages_none(self) -> None:
        self.query_one("#f-target-languages", SelectionList).deselect_all()

    def action_all_languages(self) -> None:
        picker = self.query_one("#f-target-languages", SelectionList)
        if len(picker.selected) == picker.option_count:
            picker.deselect_all()
        else:
            picker.select_all()

    @on(SelectionList.SelectedChanged)
    def selection_changed(self) -> None:
        self._count_languages()
        self.schedule_check()

    @on(Input.Changed)
    @on(Checkbox.Changed)
    def field_changed(self) -> None:
        self.schedule_check()

    # -- the form as a spec --------------------------------------------------------------------------
    def _field(self, widget_id: str):
        """A form field, or None while it is not mounted yet (hyper-parameters mount lazily)."""
        try:
            return self.query_one(f"#{widget_id}")
        except NoMatches:
            return None

    def _text(self, widget_id: str) -> str:
        field = self._field(widget_id)
        if field is None:
            return str(self._pending.get(widget_id, "")).strip()
        return field.value.strip()

    def _set_field(self, widget_id: str, value) -> None:
        """Set a field now, or when it mounts."""
        field = self._field(widget_id)
        if field is None:
            self._pending[widget_id] = value
        else:
            self._pending.pop(widget_id, None)
            field.value = value

    def hyper_parameters_mounted(self) -> None:
        loading, self._loading = self._loading, True
        try:
            for widget_id, value in list(self._pending.items()):
                if self._field(widget_id) is not None:
                    self._set_field(widget_id, value)
        finally:
            self._loading = loading
        self.schedule_check()

    def spec_data(self) -> dict:
        """The spec dictionary the form describes (fields left empty keep the spec's defaults)."""
        data: dict = {"name": self._text("f-name")}
        model = self._text("f-model") or self.query_one("#f-model-preset", Select).value
        data["model"] = model
        seeds = self._text("f-seeds")
        if seeds:
            data["seeds"] = parse_int_list(seeds, "seeds")
        if self._text("f-data_dir"):
            data["data_dir"] = self._text("f-data_dir")
        for key, value in self.extra.items():
            if not isinstance(value, dict):
                data.setdefault(key, value)
        tasks: list = list(self.query_one("#f-intermediate-tasks", SelectionList).selected)
        for mixture in re.split(r"[,\s]+", self._text("f-intermediate-mixtures")):
            if mixture:
                tasks.append([part for part in mixture.split("+") if part])
        sections: dict = {name: {} for name in spec_sections()}
        sections["intermediate"]["tasks"] = tasks
        task = self.query_one("#f-target-task", Select).value
        kept = self.extra.get("target") or {}
        if "tasks" not in kept:
            sections["target"]["task"] = task if isinstance(task, str) else ""
        languages = list(self.query_one("#f-target-languages", SelectionList).selected)
        if languages or "languages" not in kept:
            sections["target"]["languages"] = languages
        if self._text("f-fewshot-shots"):
            sections["fewshot"]["shots"] = parse_int_list(self._text("f-fewshot-shots"), "fewshot.shots")
        for name in ("shot_sets", "steps"):
            if self._text(f"f-fewshot-{name}"):
                sections["fewshot"][name] = parse_number(self._text(f"f-fewshot-{name}"), "int", f"fewshot.{name}")
        for section, model in spec_sections().items():
            for name, info in model.model_fields.items():
                if name in MAIN_FIELDS.get(section, ()):
                    continue
                kind = field_kind(info.annotation)
                widget_id = f"f-{section}-{name}"
                if kind == "bool":
                    field = self._field(widget_id)
                    value = field.value if field is not None else self._pending.get(widget_id, bool(info.default))
                    if value != info.default:
                        sections[section][name] = value
                    continue
                text = self._text(widget_id)
                if text:
                    sections[section][name] = text if kind == "str" else parse_number(text, kind, f"{section}.{name}")
        for section, values in self.extra.items():
            if isinstance(values, dict):
                for key, value in values.items():
                    sections.setdefault(section, {}).setdefault(key, value)
        for section, values in sections.items():
            if values:
                data[section] = values
        return data

    def load_data(self, data: dict) -> None:
        """Fill the form from a spec dictionary (what a TOML file holds)."""
        self._loading = True
        try:
            registry = self.app.registry
            self.extra = {}
            self.query_one("#f-name", Input).value = str(data.get("name", ""))
            from ..spec import Spec

            model = str(data.get("model", Spec.model_fields["model"].default))
            preset = self.query_one("#f-model-preset", Select)
            if model in self.presets:
                preset.value = model
                self.query_one("#f-model", Input).value = ""
            else:
                self.query_one("#f-model", Input).value = model
            self.query_one("#f-seeds", Input).value = ", ".join(map(str, data.get("seeds", [1])))
            self.query_one("#f-data_dir", Input).value = str(data.get("data_dir") or "")
            for key, value in data.items():
                if key not in TOP_FIELDS and key not in spec_sections():
                    self.extra[key] = value
            if data.get("description"):
                self.extra["description"] = data["description"]
            sections = spec_sections()
            intermediate = dict(data.get("intermediate") or {})
            tasks = intermediate.get("tasks", ["none"])
            picker = self.query_one("#f-intermediate-tasks", SelectionList)
            picker.deselect_all()
            known = {picker.get_option_at_index(i).value for i in range(picker.option_count)}
            singles = [t for t in tasks if isinstance(t, str)]
            unknown = [t for t in singles if t not in known]
            for name in singles:
                if name in known:
                    picker.select(name)
            mixtures = ["+".join(t) for t in tasks if isinstance(t, list)]
            self.query_one("#f-intermediate-mixtures", Input).value = ", ".join(mixtures + unknown)
            target = dict(data.get("target") or {})
            task_select = self.query_one("#f-target-task", Select)
            kept = {k: target[k] for k in KEPT_AS_WRITTEN if k in target}
            if isinstance(target.get("languages"), str):  # "all"
                kept["languages"] = target.pop("languages")
            if kept:
                self.extra["target"] = kept
            if "tasks" in target:
                self.notify(f"{len(target['tasks'])} target tasks ({', '.join(map(str, target['tasks']))}): kept as the "
                            "spec writes them; pick a target task here to replace them with that one")
            if target.get("task") in registry.tasks:
                task_select.value = target["task"]
            elif target.get("task"):
                self.notify(f"target task {target['task']!r} is not registered by any plugin", severity="error")
            self._fill_languages(select=list(target.get("languages") or []))
            if "languages" in kept:  # "all": nothing picked here stands for it
                self.query_one("#f-target-languages", SelectionList).deselect_all()
            fewshot = dict(data.get("fewshot") or {})
            self.query_one("#f-fewshot-shots", Input).value = ", ".join(map(str, fewshot.get("shots", [0])))
            for name in ("shot_sets", "steps"):
                self.query_one(f"#f-fewshot-{name}", Input).value = str(fewshot[name]) if name in fewshot else ""
            for section, model in sections.items():
                values = dict(data.get(section) or {})
                for name, info in model.model_fields.items():
                    if name in MAIN_FIELDS.get(section, ()):
                        continue
                    widget_id = f"#f-{section}-{name}"
                    if field_kind(info.annotation) == "bool":
                        self._set_field(widget_id[1:], bool(values.get(name, info.default)))
                    else:
                        self._set_field(widget_id[1:], "" if values.get(name) is None else str(values[name]))
                    if name in values and section in ("intermediate", "target", "fewshot", "run"):
                        self.query_one(f"#hp-{section}", Collapsible).collapsed = False
                extra = {k: v for k, v in values.items() if k not in model.model_fields}
                if extra:
                    self.extra.setdefault(section, {}).update(extra)
        finally:
            self._loading = False
        self.schedule_check()

    # -- plan before launch -------------------------------------------------------------------------------
    def schedule_check(self) -> None:
        self.generation += 1
        generation = self.generation
        self.set_timer(DEBOUNCE, lambda: self._start_check(generation))

    def _start_check(self, generation: int) -> None:
        if generation != self.generation:
            return
        try:
            data = self.spec_data()
        except ValueError as error:
            self.post_message(PlanChecked(generation, None, str(error)))
            return
        self.check_plan(generation, data)

    @work(thread=True, exclusive=True, exit_on_error=False, group="plan")
    def check_plan(self, generation: int, data: dict) -> None:
        from ..errors import XtuiError
        from ..plan import build_plan
        from ..spec import parse_spec

        try:
            spec = parse_spec(data, "form")
            plan = build_plan(spec, self.app.registry, "form")
            stages = plan.order()
            done = [s for s in stages if self.app.store.stage_result(s.hash)]
            by_type: dict = {}
            for s in stages:
                by_type.setdefault(s.type, [0, 0])
                by_type[s.type][0] += 1
                by_type[s.type][1] += 1 if s in done else 0
            summary = {"stages": len(stages), "requested": plan.requested, "done": len(done), "by_type": by_type,
                       "todo": len(stages) - len(done)}
            self.post_message(PlanChecked(generation, summary, None))
        except XtuiError as error:
            self.post_message(PlanChecked(generation, None, str(error)))
        except Exception as error:  # the form must survive anything a plugin raises
            self.post_message(PlanChecked(generation, None, f"{type(error).__name__}: {error}"))

    @on(PlanChecked)
    def plan_checked(self, message: PlanChecked) -> None:
        message.stop()
        if message.generation != self.generation:
            return
        self.checked = message.generation
        self.plan_summary, self.plan_error = message.summary, message.error
        summary = self.query_one("#plan-summary", Static)
        error = self.query_one("#plan-error", Static)
        for widget in self.query(".-invalid-field"):
            widget.remove_class("-invalid-field")
        if message.error:
            summary.update("[b red]✗ cannot plan this spec[/b red]")
            error.update(message.error.removeprefix("form: "))
            for field in re.findall(r"field '([a-z_]+(?:\.[a-z_]+)?)", message.error):
                widget_id = "f-" + field.replace(".", "-")
                widget_id = {"f-model": "f-model", "f-intermediate-tasks": "f-intermediate-tasks"}.get(widget_id, widget_id)
                for widget in self.query(f"#{widget_id}"):
                    widget.add_class("-invalid-field")
            return
        s = message.summary
        lines = [f"[b]{s['stages']}[/b] stages ({s['requested'] - s['stages']} shared within the grid)",
                 f"[green]{s['done']} already done[/green], reused", f"[b]{s['todo']}[/b] to run", ""]
        for kind, (count, done) in s["by_type"].items():
            lines.append(f"  {kind:<12} {count:>4}" + (f"  ({done} done)" if done else ""))
        summary.update("\n".join(lines))
        error.update("")

    # -- save, load, launch ----------------------------------------------------------------------------
    def _spec_text(self) -> Optional[str]:
        from .specfile import spec_to_toml

        try:
            return spec_to_toml(self.spec_data(), header="Written by the xtui app.")
        except ValueError as error:
            self.notify(str(error), severity="error")
            return None

    def action_save(self, proposal: Optional[str] = None) -> None:
        from .path_dialog import PathDialog

        text = self._spec_text()
        if text is None:
            return
        if proposal is None:
            # A file this form wrote is proposed again; otherwise a name from the experiment's, beside the
            # loaded spec (never the loaded file itself: it has its author's comments and layout).
            name = f"{self._text('f-name') or 'experiment'}.toml"
            folder = Path(self.loaded_path).parent if self.loaded_path else None
            proposal = self.saved_path or str(folder / name if folder else name)

        def chosen(answer) -> None:
            if answer:
                self.save_asking(Path(answer[0]), text)

        self.app.push_screen(PathDialog("Save the spec as", proposal), chosen)

    def save_asking(self, path: Path, text: Optional[str] = None) -> None:
        """Save, asking first when that would replace a file this form did not write."""
        from .choice_dialog import ChoiceDialog

        if not path.exists() or (self.saved_path and Path(self.saved_path).resolve() == path.resolve()):
            self.save_to(path, text)
            return
        loaded = self.loaded_path and Path(self.loaded_path).resolve() == path.resolve()
        body = (f"{path} exists" + (", and is the spec loaded into this form" if loaded else "") +
                ". Overwrite it with the form's spec? Its comments and layout would be lost.")

        def answered(answer) -> None:
            if answer == "overwrite":
                self.save_to(path, text)
            elif answer == "rename":
                self.action_save(str(path))

        self.app.push_screen(ChoiceDialog("Overwrite the file?", body,
                                          [("overwrite", "Overwrite", "y"), ("rename", "Another name", "n")]), answered)

    def save_to(self, path: Path, text: Optional[str] = None) -> bool:
        from ..files import atomic_write_text

        text = text or self._spec_text()
        if text is None:
            return False
        try:
            atomic_write_text(path, text)
        except OSError as error:
            self.notify(f"cannot write {path}: {error.strerror}", severity="error")
            return False
        self.saved_path = str(path)
        self.query_one("#saved-path", Static).update(f"[dim]saved as {path}[/dim]")
        self.notify(f"saved {path}")
        return True

    def action_load(self) -> None:
        from .path_dialog import PathDialog

        suggestions = sorted(str(p) for p in Path.cwd().glob("*.toml")) + sorted(str(p) for p in Path.cwd().glob("examples/*.toml"))

        def chosen(answer) -> None:
            if answer:
                self.load_from(Path(answer[0]))

        self.app.push_screen(PathDialog("Load a spec", suggestions[0] if suggestions else "", suggestions=suggestions), chosen)

    def load_from(self, path: Path) -> bool:
        try:
            data = tomllib.loads(Path(path).read_text(encoding="utf-8"))
        except FileNotFoundError:
            self.notify(f"{path}: no such spec file", severity="error")
            return False
        except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError) as error:
            self.notify(f"{path}: cannot read spec ({error})", severity="error")
            return False
        self.load_data(data)
        self.loaded_path = str(path)
        self.saved_path = None
        self.query_one("#saved-path", Static).update(f"[dim]loaded {path}[/dim]")
        return True

    def action_launch(self) -> None:
        if self.plan_error or self.plan_summary is None:
            self.notify(self.plan_error or "the plan is still being checked", severity="error")
            return
        text = self._spec_text()
        if text is None:
            return
        self.app.launch_spec(text, self._text("f-name") or "experiment")

    @on(Button.Pressed, "#launch")
    def launch_pressed(self) -> None:
        self.action_launch()

    @on(Button.Pressed, "#save")
    def save_pressed(self) -> None:
        self.action_save()

    @on(Button.Pressed, "#load")
    def load_pressed(self) -> None:
        self.action_load()
