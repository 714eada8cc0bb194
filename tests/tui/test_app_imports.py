"""The app never imports torch & co. (it starts experiments as subprocesses) and shows its first screen fast."""

from __future__ import annotations

import os
import subprocess
import sys

HEAVY = ("torch", "transformers", "datasets", "accelerate", "seqeval")

PROBE = """
import time
started = time.perf_counter()
import asyncio, sys
from xtui.tui.app import XtuiApp

async def main():
    app = XtuiApp(start={start!r})
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.pause()
        first = time.perf_counter() - started
        screen = type(app.screen).__name__
        for key in ("f2", "f3", "f4", "f5"):
            await pilot.press(key)
            await pilot.pause(0.3)
    print("SCREEN=" + screen)
    print("FIRST=%.3f" % first)
    print("LOADED=" + ",".join(m for m in {heavy!r} if m in sys.modules))

asyncio.run(main())
"""


def test_app_imports_nothing_heavy_and_starts_fast(tmp_path):
    env = dict(os.environ, XTUI_HOME=str(tmp_path / "runs"), HF_HUB_OFFLINE="1")
    result = subprocess.run([sys.executable, "-c", PROBE.format(start=None, heavy=HEAVY)], capture_output=True,
                            text=True, env=env, timeout=120)
    assert result.returncode == 0, result.stderr[-3000:]
    out = dict(line.split("=", 1) for line in result.stdout.splitlines() if "=" in line)
    assert out["LOADED"] == "", f"the app imported {out['LOADED']}"
    assert out["SCREEN"] == "ComposeScreen"  # no experiments yet: the app opens on compose
    float(out["FIRST"])  # how fast: benchmarks/index_scale.py measures the first paint, as a ratio
