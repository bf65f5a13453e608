"""Progress of a search where stderr is not a terminal (a pipe, a file, a batch job's log).

rich's live progress bar draws nothing until it stops when its console is not a terminal, so a search whose
stderr goes to a log would say nothing for minutes. :class:`PlainProgress` takes the bar's place there and
writes one plain line per finished batch, e.g.::

    search: 24/100 trials, best reward 0.7712, feasible 79%, 3.10 trials/s, 0:00:08

It offers the part of ``rich.progress.Progress`` the search loop uses (``start``, ``add_task``, ``update``,
``stop``).
"""
from __future__ import annotations

import sys
import time
from typing import Any, TextIO

__all__ = ["PlainProgress"]


class PlainProgress:
    """One line per update whose ``completed`` count changed (and one at the start), flushed at once."""

    def __init__(self, label: str = "search", unit: str = "trials", file: TextIO | None = None):
        self.label, self.unit, self.file = label, unit, file
        self._total: float | None = None
        self._done: float | None = None
        self._t0 = time.perf_counter()

    def start(self) -> None:
        self._t0 = time.perf_counter()

    def stop(self) -> None:
        pass

    def add_task(self, description: str, total: float | None = None, completed: float = 0, **fields: Any) -> int:
        self._total = total
        self.update(0, completed=completed, **fields)
        return 0

    def update(self, task: int, completed: float | None = None, **fields: Any) -> None:
        if completed is None or completed == self._done:
            return
        self._done = completed
        secs = int(time.perf_counter() - self._t0)
        parts = [f"{int(completed)}/{int(self._total)} {self.unit}" if self._total else f"{int(completed)} {self.unit}"]
        names = {"best": "best reward", "feasible": "feasible", "rate": ""}
        for key, value in fields.items():
            if value in (None, "-"):
                continue
            name = names.get(key, key)
            parts.append(f"{value} {self.unit}/s" if key == "rate" else f"{name} {value}")
        parts.append(f"{secs // 3600}:{secs // 60 % 60:02d}:{secs % 60:02d}")
        out = self.file or sys.stderr
        out.write(f"{self.label}: {', '.join(parts)}\n")
        out.flush()
