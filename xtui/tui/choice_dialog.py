"""A question with a few answers (stop or leave running, confirm a stop)."""

from __future__ import annotations

from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical
from textual.screen import ModalScreen
from textual.widgets import Button, Label, Static


class ChoiceDialog(ModalScreen):
    """Dismisses with the id of the chosen answer, or None on escape. Answers: (id, label, key)."""

    BINDINGS = [Binding("escape", "choose(None)", "Cancel")]

    def __init__(self, title: str, body: str, answers: list) -> None:
        super().__init__()
        self.title_text = title
        self.body = body
        self.answers = answers
        for answer, label, key in answers:
            self._bindings.bind(key, f"choose('{answer}')", label)

    def compose(self) -> ComposeResult:
        with Vertical(id="dialog"):
            yield Label(self.title_text, id="dialog-title")
            yield Static(self.body, id="dialog-body")
            with Horizontal(id="dialog-buttons"):
                for index, (answer, label, key) in enumerate(self.answers):
                    yield Button(f"{label} ({key})", id=f"answer-{answer}", variant="primary" if index == 0 else "default")

    def on_mount(self) -> None:
        self.query(Button).first().focus()

    def on_button_pressed(self, event: Button.Pressed) -> None:
        self.dismiss(event.button.id.removeprefix("answer-"))

    def action_choose(self, answer) -> None:
        self.dismiss(answer)
