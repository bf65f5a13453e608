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

import typer

from .. import __version__
from . import accuracy, evaluate, mapping, search, sweep
from .evaluate import UsageError, load_hardware, load_workload

__all__ = ["app", "main", "UsageError", "load_hardware", "load_workload"]

app = typer.Typer(
    add_completion=False,
    no_args_is_help=True,
    help="Co-design of neural networks and edge accelerators.",
    pretty_exceptions_enable=False,
)


def _version(value: bool) -> None:
    if value:
        print(f"codesign {__version__}")
        raise typer.Exit(0)


@app.callback()
def _main(
    version: bool = typer.Option(False, "--version", callback=_version, is_eager=True, help="print the version and exit"),
) -> None:
    """Co-design of neural networks and edge accelerators."""


for _group in (evaluate, search, sweep, mapping, accuracy):
    _group.register(app)


def main() -> None:
    """The ``codesign`` console script (and ``python -m codesign.cli``)."""
    app()
