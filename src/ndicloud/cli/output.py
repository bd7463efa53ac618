"""Output helpers shared by CLI commands: JSON for scripts, rich tables for people."""

from __future__ import annotations

import json
import sys
from typing import Any

import typer
from rich.console import Console
from rich.markup import escape

from ..core.jsonio import dehydrate_sentinels

# Piped or captured output is not cut to 80 columns: tables there hold ids people copy into other commands.
console = Console(width=None if sys.stdout.isatty() else 200)
error_console = Console(stderr=True)


def print_json(value: Any) -> None:
    """Strict JSON on stdout (non-finite numbers as sentinel strings)."""
    sys.stdout.write(json.dumps(dehydrate_sentinels(value), indent=2, ensure_ascii=False) + "\n")


def fail(message: str, code: int = 1) -> typer.Exit:
    """Print an error for a person and return the Exit to raise."""
    # soft_wrap: an error is one line however narrow the terminal, so logs and scripts can read it
    error_console.print(f"[bold red]error:[/] {escape(message)}", highlight=False, soft_wrap=True)
    return typer.Exit(code)
