"""The app's status panel: level meters, latency, load, dropouts, and the loopback measurement."""

from __future__ import annotations

import json
import sys
import tempfile
from pathlib import Path

from PyQt6.QtCore import QProcess, pyqtSignal
from PyQt6.QtWidgets import (
    QFormLayout,
    QGroupBox,
    QHBoxLayout,
    QLabel,
    QProgressBar,
    QPushButton,
)

from ..live.stream import LiveStream
from ..profiles import LatencyProfile

METER_FLOOR_DB = -60


def _meter() -> QProgressBar:
    meter = QProgressBar()
    meter.setRange(METER_FLOOR_DB, 0)
    meter.setFormat("%v dB")
    return meter


def profile_text(profile: LatencyProfile) -> str:
    """A latency profile's name and timing, as the pickers and the status show it."""
    return (f"{profile.name}: {1000 * profile.step_s:g} ms steps, "
            f"{1000 * profile.analysis_lookahead_s:g} ms analysis lookahead")


def limiter_text(reduction_db: float, limited_samples: int) -> str:
    """The limiter readout: its current gain reduction and the samples it bent so far."""
    now = f"{-reduction_db:.1f} dB gain reduction" if reduction_db < -0.05 else "not limiting"
    return f"{now} ({limited_samples} samples soft-clipped since Start)"


class StatusPanel(QGroupBox):
    """Shows a LiveStream's status (``show``, polled by the window) and measures the round trip.

    The measurement runs ``rtconvert bench --loopback`` in its own process; the panel emits
    ``measured`` with an error message, empty when it worked.
    """

    measured = pyqtSignal(str)

    def __init__(self) -> None:
        super().__init__("Status")
        form = QFormLayout(self)
        self.input_meter, self.output_meter = _meter(), _meter()
        self.latency_label, self.load_label, self.underrun_label = QLabel(), QLabel(), QLabel()
        self.profile_label, self.limiter_label = QLabel(), QLabel()
        self.measured_label = QLabel("not measured")
        self.measure_button = QPushButton("Measure (JACK loopback)")
        form.addRow("Input level", self.input_meter)
        form.addRow("Output level", self.output_meter)
        form.addRow("Latency profile", self.profile_label)
        form.addRow("Latency", self.latency_label)
        row = QHBoxLayout()
        row.addWidget(self.measured_label, 1)
        row.addWidget(self.measure_button)
        form.addRow("Measured round trip", row)
        form.addRow("Processing load", self.load_label)
        form.addRow("Underruns / overruns", self.underrun_label)
        form.addRow("Limiter", self.limiter_label)
        self.process = QProcess(self)
        self.process.finished.connect(self._finished)
        self._folder = tempfile.TemporaryDirectory()  # removed with the panel
        self._result_file = Path(self._folder.name) / "loopback.json"

    def show_status(self, live: LiveStream | None) -> None:
        if live is None:
            for meter in (self.input_meter, self.output_meter):
                meter.setValue(METER_FLOOR_DB)
            for label in (self.profile_label, self.latency_label, self.load_label,
                          self.underrun_label, self.limiter_label):
                label.setText("—")
            return
        status = live.status
        self.input_meter.setValue(max(METER_FLOOR_DB, round(status.input_db)))
        self.output_meter.setValue(max(METER_FLOOR_DB, round(status.output_db)))
        # One reading of the headroom (the worker moves it): the numbers shown add up.
        headroom = 1000 * live.headroom_s
        algorithmic = 1000 * live.engine.algorithmic_latency_s(live.config.block)
        through = algorithmic + headroom
        round_trip = through + 1000 * sum(live.server_latency_s)
        self.profile_label.setText(f"{profile_text(live.engine.profile)}, "
                                   f"{live.config.block}-sample blocks")
        self.latency_label.setText(f"{through:.1f} ms through rtconvert ({algorithmic:.1f} "
                                   f"algorithmic + {headroom:.1f} headroom), {round_trip:.1f} ms "
                                   "with the devices' buffers")
        self.load_label.setText(f"{100 * status.load:.0f} % (real-time factor {status.load:.2f})")
        self.underrun_label.setText(f"{live.underruns} / {status.input_overflows}")
        self.limiter_label.setText(limiter_text(status.limiter_db, status.limited_samples))

    def measure(self, block: int, model: Path, latency: str) -> None:
        """Start the loopback measurement (the live stream must be stopped: it opens its own)."""
        self.measure_button.setEnabled(False)
        self.measured_label.setText("measuring…")
        self._result_file.unlink(missing_ok=True)
        self.process.start(sys.executable, [
            "-m", "rtconvert.cli.commands", "bench", "--loopback", "--seconds", "3",
            "--block", str(block),
            "--model", str(model), "--latency", latency, "--json", str(self._result_file)])

    def _finished(self, exit_code: int, _status: object = None) -> None:
        self.measure_button.setEnabled(True)
        if exit_code == 0 and self._result_file.is_file():
            result = json.loads(self._result_file.read_text())
            underruns = result["underruns"]
            self.measured_label.setText(
                f"{result['end_to_end_latency_ms']:.1f} ms end to end "
                f"({underruns} underrun{'' if underruns == 1 else 's'})")
            self.measured.emit("")
        else:
            error = bytes(self.process.readAllStandardError()).decode().strip()
            self.measured_label.setText("not measured")
            self.measured.emit(error.splitlines()[-1] if error else "the measurement failed")

    def cancel(self) -> None:
        self.process.kill()
        self.process.waitForFinished(3000)
