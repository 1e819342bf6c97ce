"""Byte progress bars on stderr, drawn with rich, for people watching a terminal.

A bar shows the bytes done and due, the throughput and a time remaining from the average rate
since the first byte (a window of a few samples swings with every multipart part: a 5 s upload
showed 3 minutes). It ends at 100 % when its work ended well, whatever the byte counts said (a
region found unchanged copies nothing), and leaves nothing on screen when no byte was counted.
"""

from __future__ import annotations

import contextlib
import sys
import time
from collections.abc import Callable, Iterator
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from rich.console import Console
    from rich.progress import Task
    from rich.text import Text

__all__ = ["PROGRESS_MIN_BYTES", "byte_progress", "eta_seconds"]

# Only past a size where a bar would not just flicker.
PROGRESS_MIN_BYTES = 64 * 1024**2
# No estimate before this much of the transfer has been seen: the first part's rate says little.
ETA_MIN_SECONDS = 1.0
ETA_MIN_FRACTION = 0.01


def eta_seconds(done: int, total: int, started: float | None, now: float) -> float | None:
    """Seconds left at the average rate since ``started`` (the first byte), or None while too
    little has been seen to say."""
    if started is None or done <= 0 or total <= 0:
        return None
    elapsed = now - started
    if elapsed < ETA_MIN_SECONDS or done / total < ETA_MIN_FRACTION:
        return None
    return max(0.0, (total - done) * elapsed / done)


def _columns() -> list[object]:
    from rich.progress import (
        BarColumn,
        DownloadColumn,
        ProgressColumn,
        TaskProgressColumn,
        TextColumn,
        TransferSpeedColumn,
    )
    from rich.text import Text

    class AverageEtaColumn(ProgressColumn):
        """Time remaining at the average rate since the first byte."""

        def render(self, task: Task) -> Text:
            left = eta_seconds(
                int(task.completed),
                int(task.total or 0),
                task.fields.get("first_byte_at"),
                time.monotonic(),
            )
            if task.finished or left is None:
                return Text("ETA -:--", style="progress.remaining")
            minutes, seconds = divmod(round(left), 60)
            return Text(f"ETA {minutes}:{seconds:02d}", style="progress.remaining")

    return [
        TextColumn("{task.description}"),
        BarColumn(),
        TaskProgressColumn(),
        DownloadColumn(binary_units=True),
        TransferSpeedColumn(),
        AverageEtaColumn(),
    ]


def _terminal() -> bool:
    return sys.stderr.isatty()


@contextlib.contextmanager
def byte_progress(
    label: str,
    total: int,
    *,
    cumulative: bool = False,
    console: Console | None = None,
    min_bytes: int = PROGRESS_MIN_BYTES,
) -> Iterator[Callable[[int], None] | None]:
    """A byte counter drawing a bar on stderr (or ``console``), or None when stderr is no
    terminal or ``total`` is under ``min_bytes``.

    The counter takes increments, or (``cumulative``) the running total, as ``inspect_package``
    reports it. Safe to call from several threads (rich's progress holds a lock).
    """
    if total <= min_bytes or (console is None and not _terminal()):
        yield None
        return
    from rich.console import Console
    from rich.progress import Progress

    bar = Progress(*_columns(), console=console or Console(stderr=True))  # type: ignore[arg-type]
    task = bar.add_task(label, total=total, first_byte_at=None)
    counted = [0]

    def advance(count: int) -> None:
        step = count - counted[0] if cumulative else count
        if step <= 0:
            return
        if counted[0] == 0:
            bar.update(task, first_byte_at=time.monotonic())
        counted[0] += step
        bar.update(task, advance=step)

    with bar:
        try:
            yield advance
        except BaseException:
            if not counted[0]:
                bar.remove_task(task)
            raise
        if counted[0]:
            bar.update(task, completed=total)
        else:
            # Nothing was copied (every region unchanged): no bar stays behind.
            bar.remove_task(task)
