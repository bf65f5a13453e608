"""Shared by the CLI modules: the one-line error with exit status 2."""
from __future__ import annotations

import typer
from rich.console import Console
from rich.markup import escape

err = Console(stderr=True)


def fail(message: str) -> None:
    """Print ``error: message`` on stderr (user text escaped, so ``[...]`` is never read as markup); exit 2."""
    err.print(f"[bold red]error:[/] {escape(message)}", highlight=False, soft_wrap=True)
    raise typer.Exit(2)
