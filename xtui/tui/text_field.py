"""A text input that applies keys in the order they were typed.

Textual's Input inserts a printable key as soon as it arrives, but runs a bound key
(backspace, arrows, home/end, ctrl+w ...) only once the key event has bubbled up through
every container to the app (Textualize/textual#6605). A terminal delivers a fast typist's
keys in one read, so "backspace × 5, 1, e, -, 3" had its characters inserted before the
backspaces ran, which then deleted them: `1e-3` became `1e-`. Running the field's own
bindings where the key arrives keeps the order; the binding chain would have picked the same
binding (the focused widget is its first link, and priority bindings ran before the key got here).
"""

from __future__ import annotations

from textual import events
from textual.widgets import Input


class TextField(Input):
    async def _on_key(self, event: events.Key) -> None:
        if not event.is_printable:
            for binding in self._bindings.key_to_bindings.get(event.key, ()):
                if not binding.priority and await self.app.run_action(binding.action, self):
                    event.stop()
                    event.prevent_default()
                    self._restart_blink()
                    return
        await super()._on_key(event)
