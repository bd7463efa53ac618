"""Output helpers shared by CLI commands: JSON for scripts, rich tables for people."""

from __future__ import annotations

import json
import math
import sys
from typing import Any

import typer
from rich.console import Console
from rich.markup import escape

console = Console()
error_console = Console(stderr=True)


def _json_safe(value: Any) -> Any:
    """Non-finite numbers as NDI Cloud's sentinel strings, which NDI readers turn back into numbers."""
    if isinstance(value, float) and not math.isfinite(value):
        if math.isnan(value):
            return "__NDI__NaN__"
        return "__NDI__Infinity__" if value > 0 else "__NDI__-Infinity__"
    if isinstance(value, dict):
        return {k: _json_safe(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_json_safe(v) for v in value]
    return value


def print_json(value: Any) -> None:
    """Strict JSON on stdout (non-finite numbers as sentinel strings)."""
    sys.stdout.write(json.dumps(_json_safe(value), indent=2, ensure_ascii=False) + "\n")


def fail(message: str, code: int = 1) -> typer.Exit:
    """Print an error for a person and return the Exit to raise."""
    # soft_wrap: an error is one line however narrow the terminal, so logs and scripts can read it
    error_console.print(f"[bold red]error:[/] {escape(message)}", highlight=False, soft_wrap=True)
    return typer.Exit(code)
