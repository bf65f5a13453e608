"""Progress where stderr is not a terminal (a pipe, a file, a batch job's log).

rich's live progress bar draws nothing until it stops when its console is not a terminal, so a search or a sweep
whose stderr goes to a log would say nothing for minutes. :class:`PlainProgress` takes the bar's place there and
writes one plain line per finished batch (a sweep: per chunk, at most one a second), e.g.::

    search: 24/100 trials, best reward 0.7712, feasible 79%, 3.10 trials/s, 0:00:08
    sweep: 4,096/50,000 configurations, 0:00:03

It offers the part of ``rich.progress.Progress`` the search and sweep loops use (``start``, ``add_task``,
``update``, ``advance``, ``task_ids``, ``stop``).
"""
from __future__ import annotations

import sys
import time
from typing import Any, TextIO

__all__ = ["PlainProgress"]


class PlainProgress:
    """One line per update whose ``completed`` count changed (and one at the start), flushed at once."""

    def __init__(self, label: str = "search", unit: str = "trials", file: TextIO | None = None,
                 min_interval_s: float = 0.0):
        self.label, self.unit, self.file, self.min_interval_s = label, unit, file, min_interval_s
        self._total: float | None = None
        self._done: float | None = None
        self._t0 = self._last = time.perf_counter()
        self.task_ids = [0]

    def start(self) -> None:
        self._t0 = time.perf_counter()

    def stop(self) -> None:
        if self._pending:
            self._write(self._pending)

    _pending: str = ""

    def add_task(self, description: str, total: float | None = None, completed: float = 0, **fields: Any) -> int:
        self._total = total
        self.update(0, completed=completed, **fields)
        return 0

    def advance(self, task: int, amount: float) -> None:
        self.update(task, completed=(self._done or 0) + amount)

    def _write(self, line: str) -> None:
        out = self.file or sys.stderr
        out.write(line)
        out.flush()
        self._pending = ""
        self._last = time.perf_counter()

    def update(self, task: int, completed: float | None = None, **fields: Any) -> None:
        if completed is None or completed == self._done:
            return
        self._done = completed
        now = time.perf_counter()
        secs = int(now - self._t0)
        parts = [f"{int(completed):,}/{int(self._total):,} {self.unit}" if self._total else
                 f"{int(completed):,} {self.unit}"]
        names = {"best": "best reward", "feasible": "feasible", "rate": ""}
        for key, value in fields.items():
            if value in (None, "-"):
                continue
            name = names.get(key, key)
            parts.append(f"{value} {self.unit}/s" if key == "rate" else f"{name} {value}")
        parts.append(f"{secs // 3600}:{secs // 60 % 60:02d}:{secs % 60:02d}")
        line = f"{self.label}: {', '.join(parts)}\n"
        done = self._total is not None and completed >= self._total
        if done or self._done == 0 or now - self._last >= self.min_interval_s:
            self._write(line)
        else:
            self._pending = line  # written by the next update past the interval, or by stop()
