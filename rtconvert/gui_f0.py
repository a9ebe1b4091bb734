"""The app's 'see it, hear it' panel: input and output F0 of the last seconds, the output level, A/B replay."""

from __future__ import annotations

import math

import numpy as np
from PyQt6.QtCore import QPointF, QRectF, Qt
from PyQt6.QtGui import QColor, QPainter, QPainterPath, QPen
from PyQt6.QtWidgets import QGroupBox, QHBoxLayout, QLabel, QPushButton, QVBoxLayout, QWidget

from .f0trace import TRACE_S
from .live import LiveStream
from .replay import REPLAY_S

#: The F0 axis (log scale), Hz.
F0_RANGE_HZ = (60.0, 600.0)
F0_GRID_HZ = (100, 200, 400)
LEVEL_FLOOR_DB = -60.0
INPUT_COLOUR, OUTPUT_COLOUR, LEVEL_COLOUR = QColor("#8a8a8a"), QColor("#d9480f"), QColor("#cfe3f6")
#: Output levels kept, one per UI refresh (50 ms): the same seconds as the F0 trace.
LEVEL_POINTS = round(TRACE_S / 0.05)


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

    def _y(self, f0_hz: float, area: QRectF) -> float:
        low, high = (math.log(f) for f in F0_RANGE_HZ)
        share = (math.log(min(max(f0_hz, F0_RANGE_HZ[0]), F0_RANGE_HZ[1])) - low) / (high - low)
        return area.bottom() - share * area.height()

    def paintEvent(self, _event: object) -> None:
        painter = QPainter(self)
        painter.setRenderHint(QPainter.RenderHint.Antialiasing)
        area = QRectF(self.rect()).adjusted(34, 6, -6, -6)
        painter.fillRect(area, QColor("white"))
        self._paint_levels(painter, area)
        painter.setPen(QPen(QColor("#e6e6e6")))
        for hz in F0_GRID_HZ:
            y = self._y(hz, area)
            painter.drawLine(QPointF(area.left(), y), QPointF(area.right(), y))
            painter.setPen(QPen(QColor("#666")))
            painter.drawText(QRectF(0, y - 8, 30, 16), Qt.AlignmentFlag.AlignRight, f"{hz}")
            painter.setPen(QPen(QColor("#e6e6e6")))
        frames = round(1000 * TRACE_S / self.frame_period_ms)
        for row, colour in ((0, INPUT_COLOUR), (1, OUTPUT_COLOUR)):
            painter.setPen(QPen(colour, 2.0))
            painter.drawPath(self._contour(self.f0[row], frames, area))
        painter.setPen(QPen(QColor("#444")))
        painter.drawText(area.adjusted(4, 2, -4, -2), Qt.AlignmentFlag.AlignTop
                         | Qt.AlignmentFlag.AlignRight, "F0 Hz: input grey, output orange")
        painter.end()

    def _contour(self, f0_hz: np.ndarray, frames: int, area: QRectF) -> QPainterPath:
        """Voiced stretches as lines, newest frame at the right edge."""
        path = QPainterPath()
        start = frames - len(f0_hz)
        drawing = False
        for i, hz in enumerate(f0_hz):
            if hz <= 0:
                drawing = False
                continue
            point = QPointF(area.left() + (start + i) / frames * area.width(), self._y(hz, area))
            path.lineTo(point) if drawing else path.moveTo(point)
            drawing = True
        return path

    def _paint_levels(self, painter: QPainter, area: QRectF) -> None:
        path = QPainterPath(QPointF(area.left(), area.bottom()))
        for i, db in enumerate(self.levels_db):
            share = (db - LEVEL_FLOOR_DB) / -LEVEL_FLOOR_DB
            path.lineTo(area.left() + i / (len(self.levels_db) - 1) * area.width(),
                        area.bottom() - share * area.height() / 3)
        path.lineTo(area.right(), area.bottom())
        painter.fillPath(path, LEVEL_COLOUR)


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
