"""Progress for every long loop: training epochs, bench rounds, calibration, sensitivity, export.

On a terminal, one line updated in place (rich): a bar, i/N, elapsed and ETA (training: the epoch, the batch
and the last validation mAP50-95). When the output is not a terminal (CI logs, pipes, files), plain lines:
one per training epoch, and for other loops one at most every ``PLAIN_EVERY_S`` seconds plus one at the end.

Where it goes: the console passed in, else the one the CLI registered with :func:`use_console`, else
stdout. ``YOLO_COMPRESS_PROGRESS=0`` turns all of it off (the tests do).

Training progress comes from Ultralytics' own callback events (``on_train_start``, ``on_train_batch_end``,
``on_fit_epoch_end``, ``on_train_end``, ``teardown``), registered by our trainer subclasses through
:func:`add_training_callbacks`; nothing of Ultralytics is patched.
"""

from __future__ import annotations

import os
import sys
import time
from contextlib import contextmanager
from typing import Callable, Iterable, Iterator

PLAIN_EVERY_S = 30.0
_CONSOLE = None


def use_console(console) -> None:
    """Send progress to ``console`` (the CLI's) when a caller passes none; ``None`` restores stdout."""
    global _CONSOLE
    _CONSOLE = console


def _resolve(console=None):
    """The console progress goes to, or None when progress is off."""
    if os.environ.get("YOLO_COMPRESS_PROGRESS", "1") == "0":
        return None
    if console is not None:
        return console
    if _CONSOLE is not None:
        return _CONSOLE
    from rich.console import Console

    return Console() if sys.stdout.isatty() else Console(width=200)


def hms(seconds: float | None) -> str:
    if seconds is None or seconds != seconds or seconds == float("inf"):
        return "?"
    s = int(round(max(0.0, seconds)))
    return f"{s // 3600}:{s % 3600 // 60:02d}:{s % 60:02d}"


def _say(console, text: str) -> None:
    console.print(text, highlight=False, markup=False, soft_wrap=True)


class _Loop:
    """i/N progress of one loop: a transient rich bar on a terminal, plain lines elsewhere."""

    def __init__(self, description: str, total: int, console):
        self.description, self.total, self.console = description, max(0, int(total)), console
        self.n, self.t0 = 0, time.monotonic()
        self.last_plain = self.t0
        self.live = None
        if console.is_terminal:
            from rich.progress import (BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn,
                                       TimeRemainingColumn)

            self.live = Progress(TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(),
                                 TimeElapsedColumn(), TextColumn("ETA"), TimeRemainingColumn(), console=console,
                                 transient=True)
            self.live.start()
            self.task = self.live.add_task(description, total=self.total or None)

    def line(self) -> str:
        el = time.monotonic() - self.t0
        eta = el / self.n * (self.total - self.n) if self.n and self.total else None
        return f"{self.description}: {self.n}/{self.total or '?'}, elapsed {hms(el)}, ETA {hms(eta)}"

    def update(self, n: int) -> None:
        self.n = n
        if self.live is not None:
            self.live.update(self.task, completed=n)
        elif time.monotonic() - self.last_plain >= PLAIN_EVERY_S and n < self.total:
            self.last_plain = time.monotonic()
            _say(self.console, self.line())

    def close(self, finished: bool) -> None:
        if self.live is not None:
            self.live.stop()
        elif finished:
            _say(self.console, f"{self.description}: {self.n}/{self.total or self.n} in "
                               f"{hms(time.monotonic() - self.t0)}")


@contextmanager
def task_progress(description: str, total: int, console=None) -> Iterator[Callable[[int], None]]:
    """Yields ``set_completed(n)``."""
    c = _resolve(console)
    if c is None:
        yield lambda n: None
        return
    loop = _Loop(description, total, c)
    ok = False
    try:
        yield loop.update
        ok = True
    finally:
        loop.close(ok)


@contextmanager
def progress_bar(description: str, total: int, console=None) -> Iterator[Callable[[Iterable], Iterable]]:
    """Yields a wrapper that advances the progress as the wrapped iterable is consumed."""
    with task_progress(description, total, console) as set_completed:
        def wrap(it: Iterable) -> Iterable:
            for i, x in enumerate(it, 1):
                yield x
                set_completed(i)

        yield wrap


@contextmanager
def status(description: str, console=None) -> Iterator[None]:
    """One step with no count (e.g. a converter call): a spinner on a terminal, a line when done elsewhere."""
    c = _resolve(console)
    if c is None:
        yield
        return
    t0 = time.monotonic()
    if c.is_terminal:
        with c.status(description):
            yield
        return
    yield
    _say(c, f"{description}: done in {hms(time.monotonic() - t0)}")


# ----------------------------------------------------------------------------------------------- training
MAP_KEY = "metrics/mAP50-95(B)"


class TrainingProgress:
    """Epoch i/N, elapsed, ETA and the last validation mAP50-95 of one training run."""

    def __init__(self, label: str, epochs: int, start_epoch: int, console):
        self.label, self.epochs, self.start_epoch, self.console = label, epochs, start_epoch, console
        self.t0 = time.monotonic()
        self.map = None
        self.batch_i, self.batches = 0, 0
        self.in_epoch = False
        self.live = None
        if console.is_terminal:
            from rich.progress import BarColumn, Progress, TextColumn

            self.live = Progress(TextColumn("{task.description}"), BarColumn(), TextColumn("{task.fields[info]}"),
                                 console=console, transient=False)
            self.live.start()
            self.task = self.live.add_task(label, total=epochs, completed=start_epoch, info=self.info(start_epoch, 0.0))

    def info(self, epoch: int, frac: float) -> str:
        """``epoch`` 0-based, ``frac`` the share of it done."""
        el = time.monotonic() - self.t0
        done = epoch - self.start_epoch + frac
        eta = el / done * (self.epochs - epoch - frac) if done > 0 else None
        batch = f" batch {self.batch_i}/{self.batches}" if 0 < frac < 1 and self.batches else ""
        m = "n/a" if self.map is None else f"{self.map:.4f}"
        return (f"epoch {min(epoch + 1, self.epochs)}/{self.epochs}{batch}  elapsed {hms(el)}  ETA {hms(eta)}  "
                f"val mAP50-95 {m}")

    def epoch_start(self, batches: int) -> None:
        self.batch_i, self.batches, self.in_epoch = 0, batches, True

    def batch(self, epoch: int) -> None:
        self.batch_i += 1
        if self.live is not None and self.batches:
            frac = min(self.batch_i / self.batches, 0.999)
            self.live.update(self.task, completed=epoch + frac, info=self.info(epoch, frac))

    def epoch_end(self, epoch: int, metrics: dict | None) -> None:
        if not self.in_epoch:  # Ultralytics' final validation of best.pt fires the event again: not an epoch
            return
        self.in_epoch = False
        v = (metrics or {}).get(MAP_KEY)
        if v is not None:
            self.map = float(v)
        self.epochs = max(self.epochs, epoch + 1)
        text = self.info(epoch, 1.0)
        if self.live is not None:
            self.live.update(self.task, total=self.epochs, completed=epoch + 1, info=text)
        else:
            _say(self.console, f"{self.label}: {text}")

    def close(self) -> None:
        if self.live is not None:
            self.live.stop()
            self.live = None


def _label(trainer) -> str:
    label = getattr(trainer, "progress_label", None)
    if label:
        return label
    name = type(trainer).__name__.lower()
    return "distill" if "distill" in name else "sparsity training" if "sparsity" in name else "fine-tune"


def _main_process() -> bool:
    from ultralytics.utils import RANK

    return RANK in {-1, 0}


def _on_train_start(trainer) -> None:
    c = _resolve(None)
    if c is None or not _main_process():
        return
    trainer._yc_progress = TrainingProgress(_label(trainer), int(trainer.epochs), int(trainer.start_epoch), c)


def _on_train_epoch_start(trainer) -> None:
    p = getattr(trainer, "_yc_progress", None)
    if p is not None:
        p.epoch_start(len(trainer.train_loader))


def _on_train_batch_end(trainer) -> None:
    p = getattr(trainer, "_yc_progress", None)
    if p is not None:
        p.batch(int(trainer.epoch))


def _on_fit_epoch_end(trainer) -> None:
    p = getattr(trainer, "_yc_progress", None)
    if p is not None:
        p.epoch_end(int(trainer.epoch), trainer.metrics if isinstance(trainer.metrics, dict) else None)


def _on_train_end(trainer) -> None:
    p = getattr(trainer, "_yc_progress", None)
    if p is not None:
        p.close()
        trainer._yc_progress = None


TRAINING_CALLBACKS = {"on_train_start": _on_train_start, "on_train_epoch_start": _on_train_epoch_start,
                      "on_train_batch_end": _on_train_batch_end, "on_fit_epoch_end": _on_fit_epoch_end,
                      "on_train_end": _on_train_end, "teardown": _on_train_end}


def add_training_callbacks(trainer) -> None:
    """Register the progress callbacks on an Ultralytics trainer (our subclasses call this in ``__init__``)."""
    for event, fn in TRAINING_CALLBACKS.items():
        trainer.add_callback(event, fn)
