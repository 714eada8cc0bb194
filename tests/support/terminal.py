"""A command in a real pseudo-terminal (pexpect), the way a user types it over SSH: a controlling
terminal of a given size, Ctrl-C through the terminal's line discipline, resizes (SIGWINCH)."""

from __future__ import annotations

import os
import re
import sys
import time
from pathlib import Path

import pexpect

XTUI_BIN = str(Path(sys.executable).with_name("xtui"))
ANSI = re.compile(r"\x1b\[[0-9;?]*[ -/]*[@-~]|\x1b[()][0-9A-Za-z]|\x1b[=>78]")


class Terminal:
    """``xtui ARGS`` in a pty of ``columns`` x ``rows``; everything it wrote is kept in ``raw``."""

    def __init__(self, args: list, env: dict, columns: int = 80, rows: int = 30, cwd=None):
        self.columns = columns
        self.child = pexpect.spawn(XTUI_BIN, [str(a) for a in args], env=env, dimensions=(rows, columns),
                                   encoding="utf-8", codec_errors="replace", timeout=30, cwd=cwd)
        self.raw = ""

    def _read(self, seconds: float) -> None:
        try:
            while True:
                self.raw += self.child.read_nonblocking(65536, timeout=seconds)
                seconds = 0.05
        except pexpect.TIMEOUT:
            pass
        except pexpect.EOF:
            pass

    @property
    def text(self) -> str:
        """What was written, escape sequences removed, carriage returns as line ends."""
        return ANSI.sub("", self.raw).replace("\r\n", "\n").replace("\r", "\n")

    def lines(self) -> list:
        return [line for line in self.text.split("\n") if line.strip()]

    def wait_for(self, pattern: str, timeout: float = 120.0) -> str:
        """Read until ``pattern`` (a regular expression) appears in the text; the match."""
        deadline = time.monotonic() + timeout
        while True:
            found = re.search(pattern, self.text)
            if found:
                return found.group(0)
            if not self.child.isalive() and not self._more():
                raise AssertionError(f"{pattern!r} never appeared; the command ended:\n{self.text[-3000:]}")
            if time.monotonic() > deadline:
                raise AssertionError(f"{pattern!r} did not appear within {timeout}s:\n{self.text[-3000:]}")
            self._read(0.2)

    def _more(self) -> bool:
        before = len(self.raw)
        self._read(0.2)
        return len(self.raw) > before

    def ctrl_c(self) -> None:
        self.child.sendcontrol("c")

    def resize(self, columns: int, rows: int = 30) -> None:
        self.columns = columns
        self.child.setwinsize(rows, columns)

    def finish(self, timeout: float = 300.0) -> int:
        """Read to the end; the exit code (128 + N when killed by signal N)."""
        deadline = time.monotonic() + timeout
        while self.child.isalive() or self._more():
            if time.monotonic() > deadline:
                self.child.terminate(force=True)
                raise AssertionError(f"still running after {timeout}s:\n{self.text[-3000:]}")
            self._read(0.5)
        self.child.close()
        if self.child.exitstatus is not None:
            return self.child.exitstatus
        return 128 + (self.child.signalstatus or 0)


def terminal_env(home: Path, **extra) -> dict:
    env = {k: v for k, v in os.environ.items() if k not in ("COLUMNS", "LINES", "XTUI_DATA_DIR", "NO_COLOR")}
    env.update(HF_HUB_OFFLINE="1", HF_DATASETS_OFFLINE="1", TRANSFORMERS_OFFLINE="1", XTUI_HOME=str(home),
               TERM="xterm-256color", LANG="C.UTF-8", PYTHONUNBUFFERED="1")
    env.update({k: str(v) for k, v in extra.items()})
    return env
