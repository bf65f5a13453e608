"""An on-disk cache of evaluation results (SQLite), shared by processes and runs.

One row per (kind, candidate, settings): ``kind`` names the evaluation (``"proxy"`` for the accuracy proxy,
``"zero_cost"``, ``"imagenet"``, ...), ``candidate`` identifies the network (e.g. ``{"blocks": [...]}``, its timm
block strings) and ``settings`` everything else that changes the result (training settings, data source). The
three are stored as canonical JSON (sorted keys, tuples as lists, numpy scalars as Python numbers), and the
row key is the SHA-256 of the three together, so equal inputs always meet the same row whatever the dict
order.

Concurrency: the database runs in WAL mode (readers never block the writer), every write is one
``BEGIN IMMEDIATE`` transaction, and a busy database is waited on (``timeout_s``) rather than failing. Writes
are first-writer-wins by default (``INSERT OR IGNORE``): two processes that train the same candidate under the
same settings store one row, and both then read that row. Each process opens its own connection (a
connection made before ``fork`` is never reused in the child). WAL needs a local file system (not NFS).

Needs only the standard library (``sqlite3``) and numpy.
"""
from __future__ import annotations

import dataclasses
import hashlib
import json
import os
import sqlite3
import threading
import time
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

__all__ = ["ResultCache", "CacheEntry", "canonical_json"]

_SCHEMA_VERSION = 1
_SCHEMA = """
CREATE TABLE IF NOT EXISTS results (
    key        TEXT PRIMARY KEY,
    kind       TEXT NOT NULL,
    candidate  TEXT NOT NULL,
    settings   TEXT NOT NULL,
    result     TEXT NOT NULL,
    created_at REAL NOT NULL
);
CREATE INDEX IF NOT EXISTS results_kind ON results (kind, settings);
CREATE TABLE IF NOT EXISTS meta (name TEXT PRIMARY KEY, value TEXT NOT NULL);
"""


def _plain(obj: Any) -> Any:
    """JSON-ready copy of ``obj``: dataclasses -> dicts, tuples -> lists, numpy scalars/arrays -> Python."""
    if dataclasses.is_dataclass(obj) and not isinstance(obj, type):
        return {f.name: _plain(getattr(obj, f.name)) for f in dataclasses.fields(obj)}
    if isinstance(obj, Mapping):
        return {str(k): _plain(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [_plain(v) for v in obj]
    if isinstance(obj, np.ndarray):
        return _plain(obj.tolist())
    if isinstance(obj, np.generic):
        return obj.item()
    if isinstance(obj, Path):
        return str(obj)
    return obj


def canonical_json(obj: Any) -> str:
    """Deterministic JSON of ``obj`` (sorted keys, no spaces; NaN/inf allowed). Raises ValueError naming the
    type of a value JSON cannot hold."""
    try:
        return json.dumps(_plain(obj), sort_keys=True, separators=(",", ":"))
    except TypeError as exc:
        raise ValueError(f"cache keys and results must be JSON-serialisable: {exc}") from None


@dataclass(frozen=True)
class CacheEntry:
    """One cached result.

    Attributes:
        kind: evaluation kind (``"proxy"``, ...).
        candidate: the candidate description it was stored under (decoded JSON).
        settings: the settings it was stored under (decoded JSON).
        result: the stored result (decoded JSON dict).
        created_at: Unix time (s) it was written.
    """

    kind: str
    candidate: Any
    settings: Any
    result: dict[str, Any]
    created_at: float


class ResultCache:
    """SQLite cache of evaluation results keyed by candidate and settings (see the module docstring).

    Args:
        path: database file; created (with its parent folder) if missing.
        timeout_s: how long a write waits for another process's transaction before raising (seconds).

    Raises ValueError naming ``path`` if it exists but is not a codesign cache (not SQLite, or a newer schema).
    """

    def __init__(self, path: str | os.PathLike[str], *, timeout_s: float = 60.0) -> None:
        self.path = Path(path)
        if not (isinstance(timeout_s, (int, float)) and timeout_s > 0):
            raise ValueError(f"timeout_s must be > 0, got timeout_s={timeout_s!r}")
        if self.path.exists() and not self.path.is_file():
            raise ValueError(f"cache path {self.path} exists and is not a file")
        self.timeout_s = float(timeout_s)
        self._local = threading.local()
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._init_schema()

    def __repr__(self) -> str:
        return f"ResultCache({str(self.path)!r})"

    # -- connection ----------------------------------------------------------------------------------------
    def _conn(self) -> sqlite3.Connection:
        conn = getattr(self._local, "conn", None)
        if conn is not None and self._local.pid == os.getpid():
            return conn
        try:
            conn = sqlite3.connect(self.path, timeout=self.timeout_s, isolation_level=None)
            conn.execute(f"PRAGMA busy_timeout = {int(self.timeout_s * 1000)}")
        except sqlite3.DatabaseError as exc:
            raise ValueError(f"cache {self.path}: cannot open as SQLite: {exc}") from None
        self._local.conn, self._local.pid = conn, os.getpid()
        return conn

    def _retry(self, fn: Callable[[sqlite3.Connection], Any]) -> Any:
        """Run ``fn(conn)``, retrying while SQLite reports a lock (beyond its own busy wait) until timeout."""
        deadline = time.monotonic() + self.timeout_s
        delay = 0.01
        while True:
            conn = self._conn()
            try:
                return fn(conn)
            except sqlite3.OperationalError as exc:
                if conn.in_transaction:
                    conn.execute("ROLLBACK")
                if "locked" not in str(exc) and "busy" not in str(exc):
                    raise ValueError(f"cache {self.path}: {exc}") from None
                if time.monotonic() > deadline:
                    raise TimeoutError(f"cache {self.path}: still locked after {self.timeout_s:g} s") from None
                time.sleep(delay)
                delay = min(0.5, delay * 2)
            except sqlite3.DatabaseError as exc:
                if conn.in_transaction:
                    conn.execute("ROLLBACK")
                raise ValueError(f"cache {self.path}: not a codesign result cache ({exc})") from None

    def _init_schema(self) -> None:
        def run(conn: sqlite3.Connection) -> None:
            mode = conn.execute("PRAGMA journal_mode = WAL").fetchone()[0]
            if str(mode).lower() != "wal":  # pragma: no cover - e.g. a read-only or exotic file system
                conn.execute("PRAGMA journal_mode = DELETE")
            conn.execute("BEGIN IMMEDIATE")
            try:
                for statement in _SCHEMA.split(";"):
                    if statement.strip():
                        conn.execute(statement)
                row = conn.execute("SELECT value FROM meta WHERE name = 'schema_version'").fetchone()
                if row is None:
                    conn.execute("INSERT INTO meta (name, value) VALUES ('schema_version', ?)", (str(_SCHEMA_VERSION),))
                elif int(row[0]) > _SCHEMA_VERSION:
                    raise ValueError(f"cache {self.path}: schema version {row[0]} is newer than this codesign's "
                                     f"{_SCHEMA_VERSION}")
                conn.execute("COMMIT")
            except BaseException:
                if conn.in_transaction:
                    conn.execute("ROLLBACK")
                raise

        self._retry(run)

    def close(self) -> None:
        """Close this thread's connection (others close when garbage-collected)."""
        conn = getattr(self._local, "conn", None)
        if conn is not None and self._local.pid == os.getpid():
            conn.close()
        self._local.conn = None

    def __enter__(self) -> "ResultCache":
        return self

    def __exit__(self, *exc: Any) -> None:
        self.close()

    # -- keys ----------------------------------------------------------------------------------------------
    @staticmethod
    def make_key(candidate: Any, settings: Any, *, kind: str = "proxy") -> str:
        """Row key: hex SHA-256 of the canonical JSON of ``[kind, candidate, settings]``."""
        return hashlib.sha256(canonical_json([kind, candidate, settings]).encode()).hexdigest()

    # -- reads ---------------------------------------------------------------------------------------------
    def get(self, candidate: Any, settings: Any, *, kind: str = "proxy") -> dict[str, Any] | None:
        """The result stored for (kind, candidate, settings), or None."""
        key = self.make_key(candidate, settings, kind=kind)
        row = self._retry(lambda c: c.execute("SELECT result FROM results WHERE key = ?", (key,)).fetchone())
        return None if row is None else json.loads(row[0])

    def __contains__(self, item: tuple[Any, Any]) -> bool:
        candidate, settings = item
        return self.get(candidate, settings) is not None

    def __len__(self) -> int:
        return int(self._retry(lambda c: c.execute("SELECT COUNT(*) FROM results").fetchone()[0]))

    def entries(self, *, kind: str | None = None, settings: Any = None) -> list[CacheEntry]:
        """All rows, oldest first; only those of ``kind`` and/or stored under exactly ``settings`` if given."""
        sql, args = "SELECT kind, candidate, settings, result, created_at FROM results", []
        where = []
        if kind is not None:
            where.append("kind = ?")
            args.append(kind)
        if settings is not None:
            where.append("settings = ?")
            args.append(canonical_json(settings))
        if where:
            sql += " WHERE " + " AND ".join(where)
        sql += " ORDER BY created_at, key"
        rows = self._retry(lambda c: c.execute(sql, args).fetchall())
        return [CacheEntry(k, json.loads(cand), json.loads(s), json.loads(r), float(t)) for k, cand, s, r, t in rows]

    def __iter__(self) -> Iterator[CacheEntry]:
        return iter(self.entries())

    # -- writes --------------------------------------------------------------------------------------------
    def put(self, candidate: Any, settings: Any, result: Mapping[str, Any], *, kind: str = "proxy",
            overwrite: bool = False) -> bool:
        """Store ``result`` (a JSON-serialisable mapping) for (kind, candidate, settings).

        Returns True if this call wrote the row; False if a row was already there and ``overwrite`` is False
        (the first writer wins, so concurrent evaluations of one candidate agree on a single result).
        """
        if not isinstance(result, Mapping):
            raise ValueError(f"result must be a mapping, got {type(result).__name__}")
        cand_json, set_json, res_json = canonical_json(candidate), canonical_json(settings), canonical_json(result)
        key = self.make_key(candidate, settings, kind=kind)
        verb = "INSERT OR REPLACE" if overwrite else "INSERT OR IGNORE"

        def run(conn: sqlite3.Connection) -> bool:
            conn.execute("BEGIN IMMEDIATE")
            cur = conn.execute(
                f"{verb} INTO results (key, kind, candidate, settings, result, created_at) VALUES (?, ?, ?, ?, ?, ?)",
                (key, kind, cand_json, set_json, res_json, time.time()),
            )
            conn.execute("COMMIT")
            return cur.rowcount == 1

        return bool(self._retry(run))

    def get_or_compute(self, candidate: Any, settings: Any, compute: Callable[[], Mapping[str, Any]], *,
                       kind: str = "proxy") -> tuple[dict[str, Any], bool]:
        """``(result, was_cached)``: the stored result, or ``compute()`` stored and then read back (so when two
        processes race, both return the first writer's result)."""
        hit = self.get(candidate, settings, kind=kind)
        if hit is not None:
            return hit, True
        value = dict(compute())
        self.put(candidate, settings, value, kind=kind)
        stored = self.get(candidate, settings, kind=kind)
        return (stored if stored is not None else value), False

    def delete(self, *, kind: str | None = None) -> int:
        """Delete all rows (of ``kind`` if given); returns how many."""
        def run(conn: sqlite3.Connection) -> int:
            conn.execute("BEGIN IMMEDIATE")
            cur = conn.execute("DELETE FROM results" + (" WHERE kind = ?" if kind else ""), (kind,) if kind else ())
            conn.execute("COMMIT")
            return cur.rowcount

        return int(self._retry(run))
