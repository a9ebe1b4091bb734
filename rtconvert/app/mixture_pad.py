"""The app's mixture pad: emotions at their places on the valence/arousal plane, and a dot.

Drag the dot (or move it with the arrow keys) and the emotion becomes the mixture at that
point (:func:`rtconvert.circumplex.weights_at`): near an emotion's name, that emotion; between
two, both; toward the centre, less of everything (neutral). The intensity slider still
scales the whole.
"""

from __future__ import annotations

import math

from PyQt6.QtCore import QPointF, QRectF, Qt, pyqtSignal
from PyQt6.QtGui import QColor, QKeyEvent, QMouseEvent, QPainter, QPaintEvent, QPen
from PyQt6.QtWidgets import QSizePolicy, QWidget

from ..circumplex import ANGLES_DEG, position, weights_at
from ..errors import ConfigError
from ..settings import NEUTRAL, mixture_text, parse_mixture

#: How far an arrow key moves the dot (the circle's radius is 1).
KEY_STEP = 0.05
#: Blank around the circle, in pixels (the emotions' names go there).
MARGIN = 52
#: Names of emotions closer than this to the previous one (angry, fearful) go further out.
CROWDED_DEG = 25.0


class MixturePad(QWidget):
    """Emits ``moved`` with the mixture's text (``happy=0.6,surprised=0.4``) as the dot moves."""

    moved = pyqtSignal(str)

    def __init__(self, emotions: tuple[str, ...]) -> None:
        super().__init__()
        self.setMinimumSize(300, 300)
        self.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Expanding)
        self.setFocusPolicy(Qt.FocusPolicy.StrongFocus)
        self.setToolTip("Drag the dot, or click here and use the arrow keys: valence across, "
                        "arousal up; the centre is neutral")
        self.dot = (0.0, 0.0)  # (valence, arousal), inside the unit circle
        self._emitted = ""
        self.set_emotions(emotions)

    def set_emotions(self, emotions: tuple[str, ...]) -> None:
        """The model's emotions (without neutral): those the circumplex places are shown."""
        self.emotions = tuple(e for e in emotions if e in ANGLES_DEG)
        self.update()

    def move_dot(self, valence: float, arousal: float) -> None:
        """Put the dot at a point (kept inside the circle) and emit the mixture there."""
        radius = math.hypot(valence, arousal)
        if radius > 1.0:
            valence, arousal = valence / radius, arousal / radius
        self.dot = (valence, arousal)
        self._emitted = mixture_text(weights_at(valence, arousal, self.emotions))
        self.update()
        self.moved.emit(self._emitted)

    def show_mixture(self, emotion: str) -> None:
        """Place the dot at the weighted mean of a mixture's places, emitting nothing; the
        mixture the dot itself last made leaves it where it is."""
        if emotion == self._emitted:
            return
        try:
            weights = parse_mixture(emotion, self.emotions)
        except ConfigError:  # an emotion the circumplex does not place: the dot stays
            return
        self.dot = (sum(w * position(e)[0] for e, w in weights),
                    sum(w * position(e)[1] for e, w in weights))
        self._emitted = ""
        self.update()

    # Geometry: the circle is centred, arousal up.
    def _scale(self) -> float:
        return max(1.0, (min(self.width(), self.height()) - 2 * MARGIN) / 2)

    def to_widget(self, valence: float, arousal: float) -> QPointF:
        """The pixel of a point of the plane."""
        return QPointF(self.width() / 2 + valence * self._scale(),
                       self.height() / 2 - arousal * self._scale())

    def to_plane(self, point: QPointF) -> tuple[float, float]:
        """The point of the plane under a pixel."""
        return ((point.x() - self.width() / 2) / self._scale(),
                (self.height() / 2 - point.y()) / self._scale())

    def paintEvent(self, event: QPaintEvent) -> None:
        painter = QPainter(self)
        painter.setRenderHint(QPainter.RenderHint.Antialiasing)
        centre, r = self.to_widget(0.0, 0.0), self._scale()
        painter.setPen(QPen(QColor("#9aa0a6"), 1))
        painter.drawEllipse(centre, r, r)
        painter.drawLine(self.to_widget(-1, 0), self.to_widget(1, 0))
        painter.drawLine(self.to_widget(0, -1), self.to_widget(0, 1))
        painter.setPen(QColor("#80868b"))  # the axes' ends, inside the circle
        for (x, y), text in (((0.62, -0.1), "pleasant"), ((-0.95, -0.1), "unpleasant"),
                             ((0.04, 0.85), "excited"), ((0.04, -0.92), "calm")):
            painter.drawText(self.to_widget(x, y), text)
        painter.setPen(QColor("#202124"))
        painter.drawEllipse(centre, 3, 3)
        painter.drawText(centre + QPointF(5, -5), NEUTRAL)
        previous = -math.inf
        for angle, emotion in sorted((ANGLES_DEG[e], e) for e in self.emotions):
            painter.drawEllipse(self.to_widget(*position(emotion)), 3, 3)
            out = 1.32 if angle - previous < CROWDED_DEG else 1.13
            previous = angle
            x, y = math.cos(math.radians(angle)), math.sin(math.radians(angle))
            anchor = self.to_widget(x * out, y * out)
            box = QRectF(0, 0, 90, 16)
            box.moveCenter(anchor)  # names right of the circle start there, left ones end there
            if x > 0.3:
                box.moveLeft(anchor.x() - 12)
            elif x < -0.3:
                box.moveRight(anchor.x() + 12)
            align = (Qt.AlignmentFlag.AlignLeft if x > 0.3 else Qt.AlignmentFlag.AlignRight
                     if x < -0.3 else Qt.AlignmentFlag.AlignHCenter)
            painter.drawText(box, align | Qt.AlignmentFlag.AlignVCenter, emotion)
        painter.setBrush(QColor("#1a73e8"))
        painter.setPen(Qt.PenStyle.NoPen)
        painter.drawEllipse(self.to_widget(*self.dot), 7, 7)

    def mousePressEvent(self, event: QMouseEvent) -> None:
        self.move_dot(*self.to_plane(event.position()))

    def mouseMoveEvent(self, event: QMouseEvent) -> None:
        if event.buttons() & Qt.MouseButton.LeftButton:
            self.move_dot(*self.to_plane(event.position()))

    def keyPressEvent(self, event: QKeyEvent) -> None:
        steps = {Qt.Key.Key_Left: (-KEY_STEP, 0.0), Qt.Key.Key_Right: (KEY_STEP, 0.0),
                 Qt.Key.Key_Up: (0.0, KEY_STEP), Qt.Key.Key_Down: (0.0, -KEY_STEP)}
        step = steps.get(Qt.Key(event.key()))
        if step is None:
            super().keyPressEvent(event)
            return
        self.move_dot(self.dot[0] + step[0], self.dot[1] + step[1])
