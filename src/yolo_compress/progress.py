"""Progress bars (rich) for evaluation and timing loops; silent when not on a terminal or when disabled."""

from __future__ import annotations

import os
from contextlib import contextmanager
from typing import Callable, Iterable, Iterator


def _enabled(console) -> bool:
    if os.environ.get("YOLO_COMPRESS_PROGRESS", "1") == "0":
        return False
    return console is not None and console.is_terminal


def _progress(console):
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

    return Progress(TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(),
                    console=console, transient=True)


@contextmanager
def progress_bar(description: str, total: int, console=None) -> Iterator[Callable[[Iterable], Iterable]]:
    """Yields a wrapper that advances a bar as the wrapped iterable is consumed."""
    if not _enabled(console):
        yield lambda it: it
        return
    with _progress(console) as p:
        task = p.add_task(description, total=total)

        def wrap(it: Iterable) -> Iterable:
            for x in it:
                yield x
                p.advance(task)

        yield wrap


@contextmanager
def task_progress(description: str, total: int, console=None) -> Iterator[Callable[[int], None]]:
    """Yields ``set_completed(n)``."""
    if not _enabled(console):
        yield lambda n: None
        return
    with _progress(console) as p:
        task = p.add_task(description, total=total)
        yield lambda n: p.update(task, completed=n)
