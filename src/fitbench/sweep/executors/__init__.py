"""Sweep executors: ``local`` (this process, measurements in one child at a time) and ``ray``.

An executor runs points and hands each finished record to a :class:`Reporter`, which writes it to the
store (its own transaction) and updates the progress display. Executors never write to the database.
"""

from __future__ import annotations

from typing import Protocol

from ...store.record import ResultRecord
from ..points import Point


class Reporter(Protocol):
    def start(self, point: Point) -> None: ...

    def done(self, point: Point, record: ResultRecord) -> None: ...


EXECUTORS = ("local", "ray")
