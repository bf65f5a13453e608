"""The files of a sweep on disk, each listed with a checksum, so that a resume (or a reader) trusts only what
the sweep itself wrote.

* Parquet (``out`` a directory): ``part-000042.parquet`` per chunk; ``_sweep.json``, the specification;
  ``_chunks.jsonl``, one line per written chunk ``{"chunk", "file", "rows", "sha256"}``; ``_pareto.csv``.
  A chunk is written to a hidden temporary file, its line appended (and fsync'ed) and only then renamed into
  place, so every ``part-*.parquet`` the sweep made is listed, at every moment. On resume each listed file is
  checked against its SHA-256 (a damaged or changed one is an error naming it; a missing one is recomputed),
  and a ``part-*.parquet`` the list does not hold (a file copied in) is an error naming it.
* CSV (``out`` a file): chunks appended in plan order; the journal ``OUT.sweep.json`` holds the specification,
  the chunks done, the rows and bytes written and the SHA-256 of those bytes. On resume the file's first
  ``bytes`` bytes must hash to it (else an error naming the file), and any tail is a chunk a killed run was
  writing: it is cut off.

Every read error names the file (and the line and column for JSON); JSON files above
:data:`MAX_JSON_BYTES` are refused before they are read.
"""
from __future__ import annotations

import hashlib
import json
import os
import re
from pathlib import Path
from typing import Any, Iterator

__all__ = ["MANIFEST_VERSION", "ParquetStore", "CsvStore", "read_parquet_dir", "read_json_file",
           "atomic_write_text", "sha256_file"]

#: Version of the sweep specification and its file lists (2: chunk lists with checksums).
MANIFEST_VERSION = 2
SPEC_NAME = "_sweep.json"
CHUNKS_NAME = "_chunks.jsonl"
PARETO_NAME = "_pareto.csv"
#: Largest specification / journal / chunk list read (a sweep's are a few KiB per 1,000 chunks).
MAX_JSON_BYTES = 64 << 20
_PART = re.compile(r"part-(\d{6})\.parquet")


def atomic_write_text(path: Path, text: str) -> None:
    """Write ``text`` to ``path`` through a hidden temporary file, fsync'ed and renamed over it."""
    tmp = path.with_name(f".{path.name}.tmp")
    with open(tmp, "w", encoding="utf-8") as f:
        f.write(text)
        f.flush()
        os.fsync(f.fileno())
    os.replace(tmp, path)


def sha256_file(path: Path, limit: int | None = None) -> str:
    """Hex SHA-256 of a file's bytes (its first ``limit`` bytes when given)."""
    h = hashlib.sha256()
    left = limit
    with open(path, "rb") as f:
        while left is None or left > 0:
            block = f.read(1 << 20 if left is None else min(1 << 20, left))
            if not block:
                break
            h.update(block)
            if left is not None:
                left -= len(block)
    return h.hexdigest()


def read_json_file(path: Path, what: str) -> Any:
    """Parse a JSON file; every failure is a ValueError naming ``path`` (with line and column for bad JSON)."""
    try:
        size = path.stat().st_size
        if size > MAX_JSON_BYTES:
            raise ValueError(f"{path}: {size:,} bytes, more than a {what} can hold ({MAX_JSON_BYTES:,})")
        text = path.read_bytes().decode("utf-8")
        return json.loads(text)
    except json.JSONDecodeError as exc:
        raise ValueError(f"{path}: not a {what} (line {exc.lineno}, column {exc.colno}: {exc.msg})") from None
    except UnicodeDecodeError as exc:
        raise ValueError(f"{path}: not a {what} (byte {exc.start} is not UTF-8)") from None
    except OSError as exc:
        raise ValueError(f"{path}: cannot read the {what} ({exc.strerror or exc})") from None


def _read_parquet(path: Path, columns: list[str] | None) -> Any:
    import pyarrow as pa
    import pyarrow.parquet as pq

    try:
        return pq.read_table(path, columns=columns).to_pandas()
    except (pa.ArrowException, OSError, ValueError) as exc:
        first = (str(exc).splitlines() or [type(exc).__name__])[0]
        raise ValueError(f"{path}: not a readable Parquet chunk ({first[:200]})") from None


class ParquetStore:
    """A Parquet sweep directory (module docstring)."""

    def __init__(self, out: Path):
        self.out = out
        self.spec_path = out / SPEC_NAME
        self.chunks_path = out / CHUNKS_NAME
        self.pareto_path = out / PARETO_NAME

    def exists(self) -> bool:
        return self.spec_path.exists() or (self.out.is_dir() and any(self.out.glob("part-*.parquet")))

    def read_spec(self) -> dict[str, Any] | None:
        if not self.spec_path.exists():
            return None
        doc = read_json_file(self.spec_path, "sweep specification")
        if not isinstance(doc, dict):
            raise ValueError(f"{self.spec_path}: not a sweep specification (a JSON object)")
        return doc

    def listed(self) -> dict[int, dict[str, Any]]:
        """The chunk list: chunk -> its last line. A partial last line (a killed append) is ignored."""
        if not self.chunks_path.exists():
            return {}
        try:
            size = self.chunks_path.stat().st_size
            if size > MAX_JSON_BYTES:
                raise ValueError(f"{self.chunks_path}: {size:,} bytes, more than a chunk list can hold")
            raw = self.chunks_path.read_bytes()
        except OSError as exc:
            raise ValueError(f"{self.chunks_path}: cannot read the chunk list ({exc.strerror or exc})") from None
        lines = raw.split(b"\n")
        if lines and lines[-1] != b"":  # no newline at the end: the append was cut off before the rename
            lines = lines[:-1]
        out: dict[int, dict[str, Any]] = {}
        for no, line in enumerate(lines, 1):
            if not line.strip():
                continue
            try:
                rec = json.loads(line.decode("utf-8"))
                k, name, rows, digest = int(rec["chunk"]), str(rec["file"]), int(rec["rows"]), str(rec["sha256"])
                if name != f"part-{k:06d}.parquet" or rows < 0 or not re.fullmatch(r"[0-9a-f]{64}", digest):
                    raise ValueError("fields do not agree")
            except (ValueError, KeyError, TypeError, UnicodeDecodeError) as exc:
                raise ValueError(f"{self.chunks_path}: line {no} is not a chunk record ({exc!s:.80})") from None
            out[k] = {"file": name, "rows": rows, "sha256": digest}
        return out

    def _unlisted(self, listed: dict[int, Any]) -> list[str]:
        names = {v["file"] for v in listed.values()}
        return sorted(p.name for p in self.out.glob("part-*.parquet") if p.name not in names)

    def verified(self, n_chunks: int) -> set[int]:
        """The chunks done: listed, present and matching their checksum. Raises ValueError naming a damaged,
        changed or unlisted chunk file."""
        listed = self.listed()
        stray = self._unlisted(listed) + [v["file"] for k, v in listed.items() if k >= n_chunks]
        if stray:
            raise ValueError(f"{self.out / stray[0]}: not a chunk this sweep wrote (not listed in {CHUNKS_NAME}"
                             f"{f'; {len(stray)} such files' if len(stray) > 1 else ''}); remove it, or start "
                             "again with --overwrite")
        done = set()
        for k, rec in sorted(listed.items()):
            path = self.out / rec["file"]
            if not path.exists():
                continue  # listed before its rename, or deleted: computed again
            if sha256_file(path) != rec["sha256"]:
                raise ValueError(f"{path}: damaged or changed since the sweep wrote it (its SHA-256 differs from "
                                 f"{CHUNKS_NAME}); delete it to compute that chunk again on --resume")
            done.add(k)
        return done

    def start(self, spec: dict[str, Any], fresh: bool, n_chunks: int) -> set[int]:
        if fresh and self.out.exists():
            for p in [*self.out.glob("part-*.parquet"), self.spec_path, self.chunks_path, self.pareto_path]:
                if p.exists():
                    p.unlink()
        self.out.mkdir(parents=True, exist_ok=True)
        for p in self.out.glob(".part-*"):  # leftovers of a killed write
            p.unlink()
        done = set() if fresh else self.verified(n_chunks)
        if not fresh and self.chunks_path.exists():  # drop a cut-off last line, keep the listed chunks
            listed = self.listed()
            atomic_write_text(self.chunks_path, "".join(
                json.dumps({"chunk": k, **listed[k]}) + "\n" for k in sorted(done)))
        atomic_write_text(self.spec_path, json.dumps(spec, indent=1))
        return done

    def write(self, chunk: int, df: Any) -> None:
        import pyarrow as pa
        import pyarrow.parquet as pq

        name = f"part-{chunk:06d}.parquet"
        tmp = self.out / f".{name}.tmp"
        pq.write_table(pa.Table.from_pandas(df, preserve_index=False), tmp)
        with open(tmp, "rb") as f:
            os.fsync(f.fileno())
        line = json.dumps({"chunk": chunk, "file": name, "rows": int(len(df)), "sha256": sha256_file(tmp)})
        with open(self.chunks_path, "a", encoding="utf-8") as f:
            f.write(line + "\n")
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, self.out / name)

    def read_chunks(self, done: set[int], columns: list[str] | None = None) -> Iterator[Any]:
        for k in sorted(done):
            yield _read_parquet(self.out / f"part-{k:06d}.parquet", columns)


def read_parquet_dir(path: Path, columns: list[str] | None = None) -> list[Any]:
    """The chunks of a Parquet sweep directory as DataFrames, in plan order: those its chunk list holds (row
    counts checked), or, for a directory without one, every ``part-*.parquet``. Raises ValueError naming an
    unlisted, missing or short chunk file."""
    import pyarrow.parquet as pq

    store = ParquetStore(path)
    if not store.chunks_path.exists():
        parts = sorted(path.glob("part-*.parquet"))
        if not parts:
            raise ValueError(f"{path}: no part-*.parquet files (not a sweep output, or nothing finished yet)")
        return [_read_parquet(p, columns) for p in parts]
    listed = store.listed()
    stray = store._unlisted(listed)
    if stray:
        raise ValueError(f"{path / stray[0]}: not a chunk this sweep wrote (not listed in {CHUNKS_NAME}); remove it")
    frames = []
    for k, rec in sorted(listed.items()):
        p = path / rec["file"]
        if not p.exists():
            continue
        try:
            rows = pq.read_metadata(p).num_rows
        except Exception as exc:  # pyarrow raises several types for a damaged footer
            raise ValueError(f"{p}: not a readable Parquet chunk ({(str(exc).splitlines() or [''])[0][:200]})") from None
        if rows != rec["rows"]:
            raise ValueError(f"{p}: {rows} rows, {CHUNKS_NAME} lists {rec['rows']} (damaged or changed)")
        frames.append(_read_parquet(p, columns))
    if not frames:
        raise ValueError(f"{path}: no finished chunk yet")
    return frames


class CsvStore:
    """A CSV sweep file and its journal ``OUT.sweep.json`` (module docstring)."""

    def __init__(self, out: Path):
        self.out = out
        self.journal = out.with_name(out.name + ".sweep.json")
        self.pareto_path = out.with_name(out.stem + ".pareto.csv")
        self._doc: dict[str, Any] = {}
        self._hash = hashlib.sha256()

    def exists(self) -> bool:
        return self.out.exists() or self.journal.exists()

    def _read_journal(self) -> dict[str, Any]:
        doc = read_json_file(self.journal, "sweep journal")
        try:
            if not isinstance(doc["manifest"], dict):
                raise TypeError("manifest is not an object")
            for key in ("chunks_done", "bytes", "rows"):
                if isinstance(doc[key], bool) or not isinstance(doc[key], int) or doc[key] < 0:
                    raise TypeError(f"{key} is not a count")
            if not isinstance(doc["sha256"], str):
                raise TypeError("sha256 is not a string")
        except (KeyError, TypeError) as exc:
            raise ValueError(f"{self.journal}: not a sweep journal ({exc!s:.80})") from None
        return doc

    def read_spec(self) -> dict[str, Any] | None:
        if not self.journal.exists():
            return None
        doc = read_json_file(self.journal, "sweep journal")
        spec = doc.get("manifest") if isinstance(doc, dict) else None
        if not isinstance(spec, dict):
            raise ValueError(f"{self.journal}: not a sweep journal (no 'manifest' object)")
        return spec

    def start(self, spec: dict[str, Any], fresh: bool, n_chunks: int) -> set[int]:
        self.out.parent.mkdir(parents=True, exist_ok=True)
        self._hash = hashlib.sha256()
        if fresh or not self.journal.exists():
            for p in (self.out, self.pareto_path):
                if p.exists():
                    p.unlink()
            self._doc = {"manifest": spec, "chunks_done": 0, "bytes": 0, "rows": 0, "sha256": self._hash.hexdigest()}
        else:
            self._doc = self._read_journal()
            self._doc["manifest"] = spec
            size = self.out.stat().st_size if self.out.exists() else 0
            if size < self._doc["bytes"]:
                raise ValueError(f"{self.out} is shorter ({size} bytes) than its journal says ({self._doc['bytes']}); "
                                 "it was changed after the sweep wrote it: start again with --overwrite")
            if self._doc["bytes"]:
                with open(self.out, "rb") as f:
                    self._hash.update(f.read(self._doc["bytes"]))
            if self._hash.hexdigest() != self._doc["sha256"]:
                raise ValueError(f"{self.out}: damaged or changed since the sweep wrote it (its SHA-256 differs from "
                                 f"{self.journal.name}): start again with --overwrite")
        with open(self.out, "ab") as f:  # cut off a chunk that was being written when the sweep was killed
            f.truncate(self._doc["bytes"])
        atomic_write_text(self.journal, json.dumps(self._doc, indent=1))
        return set(range(int(self._doc["chunks_done"])))

    def write(self, chunk: int, df: Any) -> None:
        if chunk != self._doc["chunks_done"]:
            raise RuntimeError(f"CSV chunks must be written in order: expected {self._doc['chunks_done']}, got {chunk}")
        data = df.to_csv(header=self._doc["bytes"] == 0, index=False, lineterminator="\n").encode("utf-8")
        with open(self.out, "ab") as f:
            f.write(data)
            f.flush()
            os.fsync(f.fileno())
        self._hash.update(data)
        self._doc.update(chunks_done=chunk + 1, bytes=self._doc["bytes"] + len(data),
                         rows=self._doc["rows"] + int(len(df)), sha256=self._hash.hexdigest())
        atomic_write_text(self.journal, json.dumps(self._doc, indent=1))

    def read_chunks(self, done: set[int], columns: list[str] | None = None) -> Iterator[Any]:
        import pandas as pd

        if not done or not self.out.exists() or self.out.stat().st_size == 0:
            return
        for part in pd.read_csv(self.out, usecols=columns, chunksize=1 << 16, keep_default_na=False,
                                na_values=[""], dtype={"reason": str, "network": str}):
            part["reason"] = part["reason"].fillna("")
            yield part
