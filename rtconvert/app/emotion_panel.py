"""The app's emotion panel: a button per emotion, on the number keys, the bypass button and the
mixture pad."""

from __future__ import annotations

from PyQt6.QtCore import pyqtSignal
from PyQt6.QtGui import QKeySequence, QShortcut
from PyQt6.QtWidgets import QButtonGroup, QGridLayout, QGroupBox, QPushButton

from ..settings import Settings
from .mixture_pad import MixturePad

BYPASS_KEY = "B"
#: Emotion buttons per row; the number keys 1-9 choose the first nine.
BUTTONS_PER_ROW = 4


class EmotionPanel(QGroupBox):
    """Emits ``changed`` with the controls a button or key asks for (``{"emotion": "sad"}``).

    Its shortcuts work while the window it is in is active.
    """

    changed = pyqtSignal(dict)

    def __init__(self, emotions: tuple[str, ...]) -> None:
        super().__init__()
        self.grid = QGridLayout(self)
        self.buttons = QButtonGroup(self)
        self.buttons.idClicked.connect(lambda i: self.changed.emit({"emotion": self.emotions[i]}))
        self._shortcuts: list[QShortcut] = []
        self.bypass_button = QPushButton(f"Bypass (A/B)  [{BYPASS_KEY}]")
        self.bypass_button.setCheckable(True)
        self.bypass_button.toggled.connect(lambda on: self.changed.emit({"bypass": on}))
        QShortcut(QKeySequence(BYPASS_KEY), self, activated=self.bypass_button.toggle)
        self.pad = MixturePad(emotions)
        self.pad.moved.connect(lambda text: self.changed.emit({"emotion": text}))
        self.fill(emotions)

    def fill(self, emotions: tuple[str, ...]) -> None:
        """One button per emotion (neutral first), the first nine on the number keys."""
        self.emotions = emotions
        for button in self.buttons.buttons():
            self.buttons.removeButton(button)
            button.deleteLater()
        for shortcut in self._shortcuts:
            shortcut.setEnabled(False)
            shortcut.deleteLater()
        self._shortcuts = []
        for i, emotion in enumerate(emotions):
            key = f"  [{i + 1}]" if i < 9 else ""
            button = QPushButton(f"{emotion.capitalize()}{key}")
            button.setCheckable(True)
            self.buttons.addButton(button, i)
            self.grid.addWidget(button, i // BUTTONS_PER_ROW, i % BUTTONS_PER_ROW)
            if i < 9:
                self._shortcuts.append(QShortcut(
                    QKeySequence(str(i + 1)), self,
                    activated=lambda e=emotion: self.changed.emit({"emotion": e})))
        rows = (len(emotions) + BUTTONS_PER_ROW - 1) // BUTTONS_PER_ROW
        self.grid.addWidget(self.bypass_button, rows, 0, 1, BUTTONS_PER_ROW)
        self.grid.addWidget(self.pad, rows + 1, 0, 1, BUTTONS_PER_ROW)
        self.pad.set_emotions(emotions)
        self.setTitle(f"Emotion (keys 1–{min(9, len(emotions))}, bypass {BYPASS_KEY})")

    def show_settings(self, settings: Settings) -> None:
        """Check the emotion and bypass buttons as ``settings`` has them, applying nothing."""
        if settings.emotion in self.emotions:
            self.buttons.button(self.emotions.index(settings.emotion)).setChecked(True)
        else:  # a mixture (set remotely or by a preset): no button is it
            self.buttons.setExclusive(False)
            checked = self.buttons.checkedButton()
            if checked is not None:
                checked.setChecked(False)
            self.buttons.setExclusive(True)
        self.pad.show_mixture(settings.emotion)
        self.bypass_button.blockSignals(True)
        self.bypass_button.setChecked(settings.bypass)
        self.bypass_button.blockSignals(False)
