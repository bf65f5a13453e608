"""Shared by the CLI modules: the one-line error with exit status 2, and the number format of their tables."""
from __future__ import annotations

import typer
from rich.console import Console
from rich.markup import escape
from typing import Any

err = Console(stderr=True)


def fail(message: str) -> None:
    """Print ``error: message`` on stderr (user text escaped, so ``[...]`` is never read as markup); exit 2."""
    err.print(f"[bold red]error:[/] {escape(message)}", highlight=False, soft_wrap=True)
    raise typer.Exit(2)


def fmt(v: Any) -> str:
    """A table cell: ``-`` for None, integers (and integral floats below 1e15) with thousands separators, other
    floats to 4 significant digits (scientific from 1e5 on), NaN as ``nan``."""
    if v is None:
        return "-"
    if isinstance(v, bool):
        return str(v)
    if isinstance(v, float):
        if v != v:
            return "nan"
        if v.is_integer() and abs(v) < 1e15:
            return f"{int(v):,}"
        return f"{v:.4g}" if abs(v) < 1e5 else f"{v:.4e}"
    if isinstance(v, int):
        return f"{v:,}"
    return str(v)
