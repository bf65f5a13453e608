"""The ``codesign`` command, one module per command group:

- :mod:`.evaluate`: ``evaluate`` (per-layer cost of a network on an accelerator; the ``--network``/``--hw`` readers)
- :mod:`.search`: ``search`` (network + accelerator co-design search)
- :mod:`.sweep`: ``sweep`` (a hardware space swept for one or more networks)
- :mod:`.mapping`: ``map`` (the map space of one layer) and ``plot`` (sweep results against a swept parameter)
- :mod:`.accuracy`: ``train`` and ``eval`` (accuracy on ImageNet-layout folders)

Each module's ``register(app)`` adds its commands to :data:`app`. Bad input is answered with one line on stderr
naming the field and the value, and exit status 2. Importing this package imports none of torch, pandas or
matplotlib; each command imports what it needs when it runs.
"""
from __future__ import annotations

import importlib
import sys
from typing import Any

import typer

from .. import __version__

__all__ = ["app", "main", "UsageError", "load_hardware", "load_workload"]

#: Command name -> the module that registers it (``register(app)``), in --help order.
COMMANDS: dict[str, str] = {"evaluate": "evaluate", "search": "search", "sweep": "sweep", "map": "mapping",
                            "plot": "mapping", "train": "accuracy", "eval": "accuracy"}


def _version(value: bool) -> None:
    if value:
        print(f"codesign {__version__}")
        raise typer.Exit(0)


def make_app(commands: list[str] | None = None) -> typer.Typer:
    """A ``codesign`` Typer app with the given commands (None: all of them); each command's module is imported
    only here, so that a run of one command imports that command's module alone."""
    out = typer.Typer(add_completion=False, no_args_is_help=True,
                      help="Co-design of neural networks and edge accelerators.", pretty_exceptions_enable=False)

    @out.callback()
    def _main(
        version: bool = typer.Option(False, "--version", callback=_version, is_eager=True,
                                     help="print the version and exit"),
    ) -> None:
        """Co-design of neural networks and edge accelerators."""

    modules = dict.fromkeys(COMMANDS[c] for c in (commands if commands is not None else COMMANDS))
    for name in modules:
        importlib.import_module(f".{name}", __name__).register(out)
    for info in out.registered_commands:  # the command list: each docstring's first paragraph as one line,
        doc = (info.callback.__doc__ or "") if info.callback else ""  # rewrapped to the terminal (not its breaks)
        if info.short_help is None and doc.strip():
            info.short_help = " ".join(doc.strip().split("\n\n")[0].split())
    return out


def __getattr__(name: str) -> Any:  # the full app and the evaluate helpers, built on first use
    if name == "app":
        globals()["app"] = full = make_app()
        return full
    if name in ("UsageError", "load_hardware", "load_workload"):
        return getattr(importlib.import_module(".evaluate", __name__), name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def _raw_value(argv: list[str], opts: list[str]) -> str | None:
    """The text typed for an option (``--pe-x abc`` or ``--pe-x=abc``), for messages that do not quote it."""
    for i, a in enumerate(argv):
        for o in opts:
            if a == o and i + 1 < len(argv):
                return argv[i + 1]
            if a.startswith(o + "="):
                return a[len(o) + 1:]
    return None


def _usage_line(exc: Any, argv: list[str]) -> str:
    """One line for a command-line usage error: the command, the message, and the value typed when the message
    does not show it (typer's own conversion errors do not)."""
    msg = " ".join(exc.format_message().split())
    param = getattr(exc, "param", None)
    raw = _raw_value(argv, list(getattr(param, "opts", []) or [])) if param is not None else None
    if raw is not None and repr(raw) not in msg and f"'{raw}'" not in msg:
        msg += f" (got {raw!r})"
    ctx = getattr(exc, "ctx", None)
    where = ctx.command_path if ctx is not None else "codesign"
    return f"{where}: {msg}"


def _run(app: typer.Typer) -> None:
    """Runs the app; a usage error (a bad option value, an unknown option) is one line on stderr and exit status 2
    instead of typer's boxed panel."""
    try:
        from typer._click.exceptions import NoArgsIsHelpError, UsageError as ClickUsageError
    except ImportError:  # another typer layout: its own error panels
        app()
        return
    argv = sys.argv[1:]
    try:
        rc = app(args=argv, standalone_mode=False)
    except NoArgsIsHelpError:
        app(args=argv)  # the help, as typer shows it
        return
    except ClickUsageError as exc:
        print(_usage_line(exc, argv), file=sys.stderr)
        raise SystemExit(2) from None
    except typer.Abort:
        print("Aborted!", file=sys.stderr)
        raise SystemExit(1) from None
    raise SystemExit(rc if isinstance(rc, int) else 0)


def main() -> None:
    """The ``codesign`` console script (and ``python -m codesign.cli``): only the command asked for is imported
    (``codesign evaluate`` does not import the search, sweep or training commands); --help and unknown
    commands get the full app."""
    words = [a for a in sys.argv[1:] if not a.startswith("-")]
    wanted = words[0] if words else None
    if wanted in COMMANDS and not any(a in ("--help", "-h") for a in sys.argv[1:2]):
        _run(make_app([wanted]))
    else:
        _run(make_app())
