"""Progress of a transfer: rich bars on a terminal, a few plain lines otherwise, nothing when quiet."""

from __future__ import annotations

import sys
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from typing import TextIO

from rich.console import Console
from rich.progress import (
    BarColumn,
    DownloadColumn,
    MofNCompleteColumn,
    Progress,
    TaskID,
    TextColumn,
    TimeRemainingColumn,
    TransferSpeedColumn,
)


class Step:
    """One counted step (documents, or bytes); thread-safe."""

    def __init__(self, reporter: Reporter, description: str, total: int | None, task: TaskID | None):
        self._reporter, self.description, self.total, self._task = reporter, description, total, task
        self.done = 0
        self._lock = threading.Lock()

    def advance(self, amount: int) -> None:
        with self._lock:
            self.done += amount
        if self._task is not None and self._reporter.bars is not None:
            self._reporter.bars.update(self._task, advance=amount)


class Reporter:
    """Hands out steps; shows them as bars (terminal), lines (``verbose`` elsewhere) or not at all."""

    def __init__(self, verbose: bool = True, stream: TextIO | None = None):
        self.stream = stream or sys.stderr
        self.verbose = verbose
        self.bars: Progress | None = None
        if verbose and self.stream.isatty():
            self.bars = Progress(TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(),
                                 DownloadColumn(), TransferSpeedColumn(), TimeRemainingColumn(),
                                 console=Console(file=self.stream), transient=False)

    def line(self, text: str) -> None:
        if self.verbose and self.bars is None:
            print(text, file=self.stream, flush=True)
        elif self.bars is not None:
            self.bars.console.print(text, highlight=False, markup=False)

    @contextmanager
    def step(self, description: str, total: int | None, *, unit: str = "") -> Iterator[Step]:
        task = self.bars.add_task(description, total=total) if self.bars is not None else None
        step = Step(self, description, total, task)
        if task is None:
            self.line(f"{description}: {total if total is not None else '?'} {unit}".rstrip())
        yield step
        if task is None:
            self.line(f"{description}: done ({step.done} {unit})".rstrip())

    def __enter__(self) -> Reporter:
        if self.bars is not None:
            self.bars.start()
        return self

    def __exit__(self, *exc: object) -> None:
        if self.bars is not None:
            self.bars.stop()
