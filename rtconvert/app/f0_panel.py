"""The app's 'see it, hear it' panel: input and output F0, output level, A/B replay."""

from __future__ import annotations

import math

import numpy as np
from PyQt6.QtCore import QPointF, QRectF, Qt
from PyQt6.QtGui import QBrush, QColor, QPainter, QPen, QPolygonF
from PyQt6.QtWidgets import (
    QGroupBox,
    QHBoxLayout,
    QLabel,
    QPushButton,
    QVBoxLayout,
    QWidget,
)

from ..engine.f0trace import TRACE_S
from ..live.replay import REPLAY_S
from ..live.stream import LiveStream

#: The F0 axis (log scale), Hz.
F0_RANGE_HZ = (60.0, 600.0)
F0_GRID_HZ = (100, 200, 400)
LEVEL_FLOOR_DB = -60.0
INPUT_COLOUR, OUTPUT_COLOUR, LEVEL_COLOUR = QColor("#8a8a8a"), QColor("#d9480f"), QColor("#cfe3f6")
#: Output levels kept, one per UI refresh (50 ms): the same seconds as the F0 trace.
LEVEL_POINTS = round(TRACE_S / 0.05)


def _polygon(x: np.ndarray, y: np.ndarray) -> QPolygonF:
    """Points from coordinate arrays, written straight into the polygon's memory: a paint
    then costs the UI thread (and the audio threads waiting for the interpreter) ~0.1 ms."""
    polygon = QPolygonF()
    polygon.resize(len(x))
    if len(x):
        memory = polygon.data()
        memory.setsize(16 * len(x))  # QPointF: two doubles
        points = np.frombuffer(memory, np.float64).reshape(-1, 2)
        points[:, 0], points[:, 1] = x, y
    return polygon


class F0View(QWidget):
    """Plots input (grey) and output (orange) F0 over the last ``TRACE_S`` seconds, on a log
    axis, above the output level (blue area). Fed by :meth:`show` from the UI timer."""

    def __init__(self) -> None:
        super().__init__()
        self.setMinimumSize(320, 150)
        self.f0 = np.zeros((2, 0))
        self.frame_period_ms = 5.0
        self.levels_db = np.full(LEVEL_POINTS, LEVEL_FLOOR_DB)

    def show_stream(self, live: LiveStream | None) -> None:
        """Take the newest F0 frames and output level of ``live`` (None: clear) and repaint."""
        if live is None:
            self.f0 = np.zeros((2, 0))
            self.levels_db[:] = LEVEL_FLOOR_DB
        else:
            trace = live.engine.f0_trace
            self.f0, self.frame_period_ms = trace.snapshot(), trace.frame_period_ms
            self.levels_db = np.roll(self.levels_db, -1)
            self.levels_db[-1] = max(LEVEL_FLOOR_DB, live.status.output_db)
        self.update()

    def _y(self, f0_hz: np.ndarray | float, area: QRectF) -> np.ndarray:
        low, high = (math.log(f) for f in F0_RANGE_HZ)
        share = (np.log(np.clip(f0_hz, *F0_RANGE_HZ)) - low) / (high - low)
        return area.bottom() - share * area.height()

    def paintEvent(self, _event: object) -> None:
        painter = QPainter(self)
        painter.setRenderHint(QPainter.RenderHint.Antialiasing)
        area = QRectF(self.rect()).adjusted(34, 6, -6, -6)
        painter.fillRect(area, QColor("white"))
        self._paint_levels(painter, area)
        painter.setPen(QPen(QColor("#e6e6e6")))
        for hz in F0_GRID_HZ:
            y = float(self._y(hz, area))
            painter.drawLine(QPointF(area.left(), y), QPointF(area.right(), y))
            painter.setPen(QPen(QColor("#666")))
            painter.drawText(QRectF(0, y - 8, 30, 16), Qt.AlignmentFlag.AlignRight, f"{hz}")
            painter.setPen(QPen(QColor("#e6e6e6")))
        frames = round(1000 * TRACE_S / self.frame_period_ms)
        for row, colour in ((0, INPUT_COLOUR), (1, OUTPUT_COLOUR)):
            painter.setPen(QPen(colour, 2.0))
            for line in self._contour(self.f0[row], frames, area):
                painter.drawPolyline(line)
        painter.setPen(QPen(QColor("#444")))
        painter.drawText(area.adjusted(4, 2, -4, -2), Qt.AlignmentFlag.AlignTop
                         | Qt.AlignmentFlag.AlignRight, "F0 Hz: input grey, output orange")
        painter.end()

    def _contour(self, f0_hz: np.ndarray, frames: int, area: QRectF) -> list[QPolygonF]:
        """Voiced stretches as polylines, newest frame at the right edge."""
        x = area.left() + (frames - len(f0_hz) + np.arange(len(f0_hz))) / frames * area.width()
        y = self._y(f0_hz, area)
        edges = np.flatnonzero(np.diff(np.r_[0, (f0_hz > 0).astype(np.int8), 0]))
        return [_polygon(x[a:b], y[a:b]) for a, b in zip(edges[::2], edges[1::2]) if b - a > 1]

    def _paint_levels(self, painter: QPainter, area: QRectF) -> None:
        share = (self.levels_db - LEVEL_FLOOR_DB) / -LEVEL_FLOOR_DB
        x = area.left() + np.linspace(0, area.width(), len(share))
        y = area.bottom() - share * area.height() / 3
        outline = _polygon(np.r_[area.left(), x, area.right()],
                           np.r_[area.bottom(), y, area.bottom()])
        painter.setPen(Qt.PenStyle.NoPen)
        painter.setBrush(QBrush(LEVEL_COLOUR))
        painter.drawPolygon(outline)
        painter.setBrush(QBrush())


class SeePanel(QGroupBox):
    """The F0 view and the 'hear it' button (which the window connects to the stream)."""

    def __init__(self) -> None:
        super().__init__("See it, hear it")
        layout = QVBoxLayout(self)
        self.view = F0View()
        layout.addWidget(self.view, 1)
        row = QHBoxLayout()
        self.hear_button = QPushButton(f"Hear it: last {REPLAY_S:.0f} s converted, then not")
        self.hear_button.setToolTip("Plays on the monitor device (headphones), not the output")
        self.hear_label = QLabel()
        row.addWidget(self.hear_button)
        row.addWidget(self.hear_label, 1)
        layout.addLayout(row)

    def show_stream(self, live: LiveStream | None) -> None:
        self.view.show_stream(live)
        self.hear_button.setEnabled(live is not None)
        playing = live is not None and live.replay.playing
        self.hear_label.setText("playing on the monitor…" if playing else "")
