"""The terminal app (Textual). Imported only by ``xtui`` without a subcommand, never by headless paths."""

from __future__ import annotations


def run_app(watch=None) -> None:
    from .app import XtuiApp

    app = XtuiApp(watch=watch)
    app.run()
    if app.return_value:
        print(app.return_value)
