"""One writer per run folder: an exclusive lock that the operating system drops when its holder dies.

``search``, ``sweep`` and ``train`` write several files into one folder (trials, checkpoints, chunks, a
journal). Two processes writing the same folder interleave those files into a run that neither made, so each
takes :func:`run_lock` on its folder before it writes anything, and a second writer is refused with one line
naming the holder::

    with run_lock("runs/search", "codesign search"):
        ...  # write the folder

    @holds_run_lock("codesign search", folder_arg="out_dir")
    def run_search(out_dir, ..., resume=False): ...   # the same, for a whole function

The lock is ``fcntl.flock(LOCK_EX | LOCK_NB)`` on ``<folder>/.codesign.lock`` (for a CSV sweep, the file
``<out>.lock`` next to it). The kernel releases a flock when the last descriptor of its holder is closed, which
happens on any exit: return, exception, SIGTERM, SIGKILL, a crash. So a lock left behind by a killed run never
blocks its ``--resume``: the lock file stays, but nobody holds it, and the next run takes it at once. The file
holds the holder's pid, host, start time (UTC) and command, written after the lock is taken, only to name the
holder in the refusal; it is never deleted (deleting a flock file lets a third process lock a new file of the
same name while the first still writes).

Within one thread the lock is reentrant per folder (the CLI takes it before it records its options, then the
library call it makes takes it again); another thread or process is refused. Processes forked while the lock is
held (data-loader workers) hold it with their parent until they exit. Where ``fcntl`` does not exist (Windows) the lock is a no-op.

Source of the mechanism: flock(2) (Linux man-pages): "A call to flock() may block if an incompatible lock is held
by another process ... the lock is released either by an explicit LOCK_UN operation on any of these duplicate
file descriptors, or when all such file descriptors have been closed."
"""
from __future__ import annotations

import contextlib
import functools
import inspect
import datetime as _dt
import errno
import json
import os
import socket
import threading
from pathlib import Path
from typing import Any, Callable, Iterator, TypeVar

try:
    import fcntl
except ImportError:  # pragma: no cover - Windows
    fcntl = None  # type: ignore[assignment]

__all__ = ["RunFolderInUse", "holds_run_lock", "lock_path", "run_lock"]

F = TypeVar("F", bound=Callable[..., Any])

LOCK_NAME = ".codesign.lock"

_held: dict[tuple[str, int], list[Any]] = {}  # (real lock path, thread id) -> [open file, depth]
_guard = threading.Lock()


class RunFolderInUse(ValueError):
    """Another live process holds the run folder's lock (the message names its pid, host and start time)."""


def lock_path(folder: str | os.PathLike[str], *, is_file: bool = False) -> Path:
    """The lock file of a run folder, ``folder/.codesign.lock``; for an output that is one file (``is_file``,
    e.g. a CSV sweep), ``<file>.lock`` next to it."""
    p = Path(folder)
    return p.with_name(p.name + ".lock") if is_file else p / LOCK_NAME


def _holder(fh: Any) -> str:
    try:
        fh.seek(0)
        doc = json.loads(fh.read(4096) or "{}")
        return (f"pid {int(doc['pid'])} on host {str(doc['host'])[:64]}, started {str(doc['started'])[:32]} "
                f"({str(doc.get('command', ''))[:60]})")
    except (ValueError, KeyError, TypeError, OSError):
        return "another process (its lock file names no holder yet)"


@contextlib.contextmanager
def run_lock(folder: str | os.PathLike[str], command: str = "codesign", *, create: bool = True,
             is_file: bool = False) -> Iterator[Path]:
    """Hold the exclusive lock of ``folder`` for the ``with`` block.

    ``create``: make the folder (for a file output, its parent folder) with its parents if missing; with
    ``create=False`` (a resume) a missing folder is a FileNotFoundError naming it. ``is_file``: the output is
    one file (:func:`lock_path`). Yields the lock file's path.
    Raises :class:`RunFolderInUse` (a ValueError) naming the holder when another process or thread holds it, and
    OSError when the lock file cannot be created.
    """
    path = lock_path(folder, is_file=is_file)
    if not create and not (Path(folder).is_file() if is_file else Path(folder).is_dir()):
        raise FileNotFoundError(f"{folder}: nothing to resume there (no such {'file' if is_file else 'run folder'})")
    if not path.parent.is_dir():
        path.parent.mkdir(parents=True, exist_ok=True)
    key = (os.path.realpath(path), threading.get_ident())
    with _guard:
        entry = _held.get(key)
        if entry is not None:
            entry[1] += 1
    if entry is not None:
        try:
            yield path
        finally:
            with _guard:
                entry[1] -= 1
        return
    fh = open(path, "a+", encoding="utf-8")
    try:
        if fcntl is not None:
            try:
                fcntl.flock(fh.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
            except OSError as exc:
                if exc.errno not in (errno.EAGAIN, errno.EACCES, errno.EWOULDBLOCK):
                    raise
                raise RunFolderInUse(f"{folder}: in use by {_holder(fh)}; wait for that run to end or stop it "
                                     f"(lock file {path})") from None
        fh.seek(0)
        fh.truncate()
        fh.write(json.dumps({"pid": os.getpid(), "host": socket.gethostname(),
                             "started": _dt.datetime.now(_dt.timezone.utc).strftime("%Y-%m-%d %H:%M:%S UTC"),
                             "command": command}) + "\n")
        fh.flush()
        with _guard:
            _held[key] = entry = [fh, 1]
        try:
            yield path
        finally:
            with _guard:
                del _held[key]
    finally:
        fh.close()  # closing the last descriptor releases the flock


def holds_run_lock(command: str, folder_arg: str, *, main_process_only: bool = False,
                   file_output: Callable[[dict[str, Any]], bool] | None = None) -> Callable[[F], F]:
    """Decorate a function that writes the run folder named by its argument ``folder_arg`` so that it runs
    under :func:`run_lock` (nothing is locked when that argument is None; a ``resume=True`` call does not create
    a missing folder; ``resume`` and ``overwrite`` both true is refused first). ``main_process_only``: under ``torchrun`` only rank 0 (environment ``RANK``), which alone
    writes the folder, takes the lock. ``file_output(arguments)``: True when the call writes one file rather than a
    folder (``arguments``: the call's arguments by name, defaults included)."""
    def decorate(fn: F) -> F:
        sig = inspect.signature(fn)

        @functools.wraps(fn)
        def wrapper(*args: Any, **kwargs: Any) -> Any:
            bound = sig.bind(*args, **kwargs)
            bound.apply_defaults()
            given = bound.arguments
            if given.get("resume", False) and given.get("overwrite", False):  # before the lock looks for the folder
                raise ValueError("give --resume or --overwrite, not both")
            folder = given.get(folder_arg)
            if folder is None or (main_process_only and os.environ.get("RANK", "0") != "0"):
                return fn(*args, **kwargs)
            is_file = bool(file_output(given)) if file_output is not None else False
            with run_lock(folder, command, create=not given.get("resume", False), is_file=is_file):
                return fn(*args, **kwargs)
        return wrapper  # type: ignore[return-value]
    return decorate
