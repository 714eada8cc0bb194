"""The palette's Screenshot saves into the runs folder and says where (it failed bare without ~/Downloads)."""

from __future__ import annotations

from .conftest import make_app, wait_for


def messages(app) -> list:
    return [notification.message for notification in app._notifications]


async def test_screenshot_goes_to_the_runs_folder_and_says_where(store, two_experiments, tmp_path, monkeypatch):
    monkeypatch.setenv("HOME", str(tmp_path / "home"))  # a home with no Downloads folder
    monkeypatch.delenv("XDG_DOWNLOAD_DIR", raising=False)
    (tmp_path / "home").mkdir()
    app = make_app(store, start="history")
    async with app.run_test(size=(120, 36)) as pilot:
        await pilot.pause(0.3)
        await pilot.press("ctrl+p")
        await pilot.pause(0.3)
        await pilot.press(*"Screenshot")
        await pilot.pause(0.5)
        await pilot.press("enter")
        await wait_for(pilot, lambda: any("screenshot" in str(m).lower() for m in messages(app)), timeout=10,
                       what="a word about the screenshot")
        await pilot.pause(0.3)
        saved = sorted((store.home / "screenshots").glob("*.svg"))
        assert len(saved) == 1, messages(app)
        assert saved[0].read_text().lstrip().startswith("<svg") and "History" in saved[0].read_text()
        assert any(str(saved[0]) in str(m) for m in messages(app)), messages(app)
        assert not (tmp_path / "home" / "Downloads").exists()


async def test_a_screenshot_that_cannot_be_saved_says_where_and_why(store, two_experiments):
    (store.home / "screenshots").write_text("a file where the folder would be")
    app = make_app(store, start="history")
    async with app.run_test(size=(100, 30)) as pilot:
        await pilot.pause(0.3)
        app.deliver_screenshot()
        await wait_for(pilot, lambda: messages(app), what="a notification")
        assert any(str(store.home / "screenshots") in str(m) and "cannot" in str(m) for m in messages(app)), messages(app)
