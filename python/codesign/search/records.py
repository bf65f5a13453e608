"""The files of a search run: trial records, checkpoints, the Pareto CSV, and the checks of a resumed run.

* ``trials.jsonl`` - one JSON object per trial (:func:`load_trials` reads it back);
* ``checkpoint.json`` - written atomically after every batch (:func:`write_json_atomic`), read and checked by
  :func:`read_checkpoint` and :func:`checkpoint_phase_state` (every problem is a ValueError naming the file and
  the key); :func:`config_differences` says how a resumed run's configuration differs from the checkpoint's;
* ``pareto.csv`` - :func:`write_pareto`.
"""
from __future__ import annotations

import csv
import json
import math
import os
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from codesign.space.joint import JointSpace

from .pareto import ParetoArchive

__all__ = ["CHECKPOINT_VERSION", "jsonable", "load_trials", "read_checkpoint", "config_differences",
           "checkpoint_phase_state", "write_json_atomic", "write_pareto", "hw_record_parts"]

#: Version of ``checkpoint.json``'s layout.
CHECKPOINT_VERSION = 2
#: Longest trial line and largest checkpoint read (a trial is about 2 KiB; a checkpoint of 100,000 trials' cache a
#: few tens of MiB).
_MAX_LINE = 1 << 20
_MAX_CHECKPOINT = 256 << 20

def jsonable(x: Any) -> Any:
    """Floats that are not finite -> None; numpy scalars -> Python; containers recursively."""
    if isinstance(x, float):
        return x if math.isfinite(x) else None
    if isinstance(x, Mapping):
        return {str(k): jsonable(v) for k, v in x.items()}
    if isinstance(x, (list, tuple)):
        return [jsonable(v) for v in x]
    if hasattr(x, "item") and callable(x.item):
        return jsonable(x.item())
    return x


def load_trials(path: str | os.PathLike[str], limit: int | None = None) -> list[dict[str, Any]]:
    """Read ``trials.jsonl`` (a file, or a folder holding one) into a list of trial records.

    ``limit``: read only the first ``limit`` records (resume reads as many as the checkpoint holds, so a line
    half-written by a kill after the last checkpoint is never parsed).

    Raises:
        FileNotFoundError: no such file. ValueError: a malformed line (the message names the file and line).
    """
    p = Path(path)
    if p.is_dir():
        p = p / "trials.jsonl"
    if not p.is_file():
        raise FileNotFoundError(f"no trials file at {p}")
    out: list[dict[str, Any]] = []
    with open(p, encoding="utf-8", errors="replace") as fh:
        # bounded lines: a file without newlines is refused, never read whole into memory
        for lineno, line in enumerate(iter(lambda: fh.readline(_MAX_LINE + 1), ""), 1):
            if limit is not None and len(out) >= limit:
                break
            if len(line) > _MAX_LINE:
                raise ValueError(f"{p}:{lineno}: a line longer than {_MAX_LINE:,} characters is not a trial record")
            if not line.strip():
                continue
            try:
                rec = json.loads(line)
            except json.JSONDecodeError as exc:
                raise ValueError(f"{p}:{lineno}: malformed trial record ({exc.msg})") from None
            if not isinstance(rec, dict):
                raise ValueError(f"{p}:{lineno}: a trial record must be a JSON object, got {type(rec).__name__}")
            out.append(rec)
    return out


def read_checkpoint(path: Path) -> dict[str, Any]:
    """Load and check a checkpoint file; every problem is a ValueError naming the file."""
    if path.stat().st_size > _MAX_CHECKPOINT:  # bounded: refused before it is read
        raise ValueError(f"{path}: {path.stat().st_size:,} bytes, more than a checkpoint holds ({_MAX_CHECKPOINT:,})")
    try:
        with open(path, encoding="utf-8") as fh:
            ckpt = json.load(fh)
    except UnicodeDecodeError:
        raise ValueError(f"{path}: not a text (JSON) checkpoint file") from None
    except json.JSONDecodeError as exc:
        raise ValueError(f"{path}:{exc.lineno}: malformed checkpoint ({exc.msg}); it may be truncated") from None
    if not isinstance(ckpt, dict):
        raise ValueError(f"{path}: a checkpoint must be a JSON object, got {type(ckpt).__name__}")
    if ckpt.get("version") != CHECKPOINT_VERSION:
        raise ValueError(f"{path}: checkpoint version {ckpt.get('version')!r} is not {CHECKPOINT_VERSION}")
    required = {"version": int, "config": dict, "n_trials": int, "batch": int, "phase": int, "phase_ends": list,
                "phase_fixed": list, "controller": dict}
    for key, kind in required.items():
        if key not in ckpt:
            raise ValueError(f"{path}: checkpoint lacks the key {key!r}")
        if not isinstance(ckpt[key], kind) or isinstance(ckpt[key], bool):
            raise ValueError(f"{path}: checkpoint key {key!r} must be {kind.__name__}, got {ckpt[key]!r:.80}")
    unknown = sorted(set(ckpt) - set(required) - {"accuracy_cache"})
    if unknown:
        raise ValueError(f"{path}: unknown checkpoint keys {unknown}")
    if ckpt["n_trials"] < 0 or ckpt["batch"] < 0 or ckpt["phase"] < 0:
        raise ValueError(f"{path}: n_trials, batch and phase must be >= 0, got {ckpt['n_trials']}, {ckpt['batch']}, {ckpt['phase']}")
    return ckpt


_UNSET = object()  # a configuration key one side lacks


def _short(value: Any, width: int = 60) -> str:
    r = "unset" if value is _UNSET else repr(value)
    return r if len(r) <= width else r[: width - 3] + "..."


def config_differences(saved: Mapping[str, Any], now: Mapping[str, Any]) -> list[str]:
    """Human-readable differences between two run configurations: ``"key: checkpoint X, now Y"`` per differing
    key, values truncated to 60 characters (one level into dicts of the same ``kind``:
    ``"objective.target_latency_ms: ..."``). The accuracy description is stored under ``proxy`` or ``accuracy``
    (by kind); to the user both are "accuracy settings"."""
    acc_keys = ("proxy", "accuracy")

    def get(cfg: Mapping[str, Any], key: str) -> Any:
        if key == "accuracy settings":
            return next((cfg[k] for k in acc_keys if k in cfg), _UNSET)
        return cfg.get(key, _UNSET)

    keys = sorted({"accuracy settings" if k in acc_keys else k for k in set(saved) | set(now)})
    out = []
    for key in keys:
        old, new = get(saved, key), get(now, key)
        if old == new:
            continue
        if isinstance(old, Mapping) and isinstance(new, Mapping) and old.get("kind") == new.get("kind"):
            for sub in sorted(set(old) | set(new), key=str):
                o, n = old.get(sub, _UNSET), new.get(sub, _UNSET)
                if o != n:
                    label = f"{key} ({sub})" if key == "accuracy settings" else f"{key}.{sub}"
                    out.append(f"{label}: checkpoint {_short(o)}, now {_short(n)}")
        else:
            out.append(f"{key}: checkpoint {_short(old)}, now {_short(new)}")
    if not out:  # e.g. a checkpoint naming both accuracy keys
        out = [f"{k}: checkpoint {_short(saved.get(k, _UNSET))}, now {_short(now.get(k, _UNSET))}"
               for k in sorted(set(saved) | set(now)) if saved.get(k, _UNSET) != now.get(k, _UNSET)]
    return out


def checkpoint_phase_state(path: Path, ckpt: dict[str, Any], strategy: str, phase_kinds: Sequence[str],
                            budget: int, joint: JointSpace) -> tuple[int, list[int], list[Any], int]:
    """(phase, phase_ends, phase_fixed, batch) of a checkpoint, checked against the strategy and the budget of
    the resumed run; every problem is a ValueError naming the file and the key."""
    n_phases = len(phase_kinds)
    n_trials, batch, phase = ckpt["n_trials"], ckpt["batch"], ckpt["phase"]
    if batch > n_trials:
        raise ValueError(f"{path}: checkpoint key 'batch' must be an int in [0, n_trials={n_trials}] (a batch holds "
                         f"at least one trial), got {batch!r}")
    if not 0 <= phase < n_phases:
        raise ValueError(f"{path}: checkpoint key 'phase' must be an int in [0, {n_phases - 1}] for "
                         f"strategy={strategy!r} ({n_phases} phase{'s' if n_phases > 1 else ''}), got {phase!r}")
    ends = ckpt["phase_ends"]
    if len(ends) != n_phases or any(isinstance(e, bool) or not isinstance(e, int) for e in ends) \
            or ends[0] < 1 or any(a >= b for a, b in zip(ends, ends[1:])):
        raise ValueError(f"{path}: checkpoint key 'phase_ends' must list {n_phases} increasing positive trial "
                         f"counts (strategy={strategy!r}), got {ends!r:.80}")
    if phase > 0 and n_trials < ends[phase - 1]:
        raise ValueError(f"{path}: checkpoint key 'phase' is {phase}, but n_trials={n_trials} has not reached the "
                         f"end of phase {phase - 1} (phase_ends={ends!r:.80})")
    if phase < n_phases - 1 and n_trials > ends[phase]:
        raise ValueError(f"{path}: checkpoint key 'phase' is {phase}, but n_trials={n_trials} is past its end "
                         f"(phase_ends={ends!r:.80})")
    phase_ends = [int(e) for e in ends[:-1]] + [budget]
    if n_phases > 1 and ends[-2] >= budget and n_trials < budget:
        raise ValueError(f"{path}: the checkpoint's phase {n_phases - 2} ends at trial {ends[-2]} "
                         f"(phase_ends={ends!r:.80}), so budget={budget} is too small to resume it")
    fixed = ckpt["phase_fixed"]
    if len(fixed) != n_phases:
        raise ValueError(f"{path}: checkpoint key 'phase_fixed' must list {n_phases} items (one per phase of "
                         f"strategy={strategy!r}), got {fixed!r:.80}")
    for i, (k, fx) in enumerate(zip(phase_kinds, fixed)):
        if fx is None:
            continue
        sub = {"network": joint.hardware, "hardware": joint.network}.get(k)
        bad = sub is None or not isinstance(fx, list)
        if not bad:
            try:
                sub.decode(fx)
            except (ValueError, TypeError):
                bad = True
        if bad:
            what = "null (a joint phase fixes nothing)" if sub is None else \
                f"null or an encoding of the {'hardware' if k == 'network' else 'network'} space"
            raise ValueError(f"{path}: checkpoint key 'phase_fixed'[{i}] must be {what}, got {fx!r:.80}")
    return phase, phase_ends, list(fixed), batch


def write_json_atomic(path: Path, obj: Any, *, last: tuple[str, str] | None = None) -> None:
    """Write ``obj`` as JSON to ``path`` atomically (temp file, fsync, ``os.replace``). Serialised before the
    temporary file is opened, so a NaN is a ValueError naming the file and the previous file is kept.

    ``last``: (key, JSON text) of one more member, written after ``obj``'s (``obj`` a non-empty dict without that
    key): the file is then the text ``json.dumps({**obj, key: json.loads(text)})`` gives, without encoding the
    value again (a checkpoint's accuracy cache, whose text the evaluator keeps)."""
    try:
        text = json.dumps(obj, allow_nan=False)
    except ValueError as exc:
        raise ValueError(f"cannot write {path}: {exc} (a NaN or infinite value); the previous file is kept") from None
    if last is not None:
        if not (isinstance(obj, dict) and obj and last[0] not in obj):
            raise ValueError(f"cannot write {path}: last={last[0]!r} needs a non-empty dict without that key")
        text = f"{text[:-1]}, {json.dumps(last[0])}: {last[1]}}}"
    tmp = path.with_name(path.name + ".tmp")
    with open(tmp, "w", encoding="utf-8") as fh:
        fh.write(text)
        fh.flush()
        os.fsync(fh.fileno())
    os.replace(tmp, path)


def write_pareto(path: Path, archive: ParetoArchive, hw_names: Sequence[str]) -> None:
    tmp = path.with_name(path.name + ".tmp")
    with open(tmp, "w", newline="", encoding="utf-8") as fh:
        w = csv.writer(fh)
        w.writerow(["trial", *archive.names, "reward", *hw_names, "network", "blocks"])
        for t, m in archive.front():
            hw = t["hw"]
            w.writerow([t["trial"], *(m[n] for n in archive.names), t["reward"], *(hw.get(n) for n in hw_names),
                        t.get("network", ""), " ".join(t["blocks"])])
    os.replace(tmp, path)


def hw_record_parts(space: Any, hw: Any, memo: dict[int, tuple[Any, ...]]) -> tuple[list[int] | None, dict[str, Any],
                                                                                  dict[str, Any]]:
    """(encoding in the hardware ``space`` or None when ``hw`` is not one of its members, decisions, JSON form of
    ``hw.to_dict()``) of a trial record's accelerator, fresh copies each call. Remembered in ``memo`` per
    configuration object when it is a frozen dataclass (a network-only search records the same accelerator every
    trial); the memory holds the object, so its id is not reused while remembered."""
    hit = memo.get(id(hw))
    if hit is None or hit[0] is not hw:
        try:
            enc: list[int] | None = list(space.encode(hw))
        except ValueError:
            enc = None
        dec = dict(space.decisions(hw)) if enc is not None else {n: getattr(hw, n, None) for n in space.names}
        hit = (hw, enc, dec, jsonable(hw.to_dict()))
        params = getattr(type(hw), "__dataclass_params__", None)
        if params is not None and params.frozen:
            if len(memo) >= 1024:
                memo.clear()
            memo[id(hw)] = hit
    _, enc, dec, as_json = hit
    return (None if enc is None else list(enc)), dict(dec), _copy_json(as_json)


def _copy_json(x: Any) -> Any:
    """A copy of a JSON-form value (dicts and lists copied, scalars shared)."""
    if isinstance(x, dict):
        return {k: _copy_json(v) for k, v in x.items()}
    if isinstance(x, list):
        return [_copy_json(v) for v in x]
    return x
