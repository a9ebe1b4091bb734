"""Whether the app can open a window here, asked before Qt is: Qt aborts when it cannot."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Mapping

from ..errors import RtconvertError

#: Qt platforms that need no display server.
HEADLESS_PLATFORMS = ("offscreen", "minimal", "vnc", "linuxfb", "eglfs", "minimalegl",
                      "vkkhrdisplay")
NO_DISPLAY_ADVICE = "`rtconvert run` converts the microphone without a window"
_OPEN_APPLICATION = "from PyQt6.QtWidgets import QApplication; QApplication([])"


def check_display(environ: Mapping[str, str] | None = None) -> None:
    """Raise RtconvertError if Qt cannot open a window here, naming why and the way out.

    On Linux without ``DISPLAY`` and ``WAYLAND_DISPLAY`` it says so at once; otherwise a
    child process opens a QApplication first (Qt aborts the process when the display
    cannot be reached or its platform plugin does not load) and its message is passed on.
    """
    environ = dict(os.environ if environ is None else environ)
    platform = environ.get("QT_QPA_PLATFORM", "").split(":")[0].split(";")[0]
    if platform in HEADLESS_PLATFORMS or not sys.platform.startswith("linux"):
        return
    if not environ.get("DISPLAY") and not environ.get("WAYLAND_DISPLAY"):
        raise RtconvertError(f"no display to open the app on (DISPLAY and WAYLAND_DISPLAY are "
                             f"unset); {NO_DISPLAY_ADVICE}")
    probe = subprocess.run([sys.executable, "-c", _OPEN_APPLICATION], capture_output=True,
                           text=True, env=environ, timeout=60, check=False)
    if probe.returncode != 0:
        lines = [line for line in probe.stderr.splitlines() if line.strip()]
        reason = next((line for line in lines if "display" in line.lower() or "plugin" in line),
                      lines[0] if lines else f"exit code {probe.returncode}")
        raise RtconvertError(f"the app cannot open a window ({reason.strip()}); if a library "
                             f"is missing, scripts/setup.sh installs what Qt needs; "
                             f"{NO_DISPLAY_ADVICE}")
