"""Global hotkeys: Xvfb and XTest key presses; what the app says where there are none."""

from __future__ import annotations

import os
import shutil
import subprocess

import pytest
from helpers import wait_for

from rtconvert.control import Controller
from rtconvert.control.hotkeys import GlobalHotkeys, controller_actions, unsupported_reason
from rtconvert.errors import ControlError
from rtconvert.settings import NEUTRAL


@pytest.mark.parametrize("environment, words", [
    ({"WAYLAND_DISPLAY": "wayland-0", "DISPLAY": ":0"}, "Wayland does not let applications"),
    ({"XDG_SESSION_TYPE": "wayland"}, "Wayland does not let applications"),
    ({}, "no X11 display"),
])
def test_where_there_are_no_global_hotkeys_the_reason_points_to_the_control_api(
        monkeypatch, environment, words):
    for name in ("WAYLAND_DISPLAY", "XDG_SESSION_TYPE", "DISPLAY"):
        monkeypatch.delenv(name, raising=False)
    for name, value in environment.items():
        monkeypatch.setenv(name, value)
    reason = unsupported_reason()
    assert words in reason and "rtconvert ctl emotion angry" in reason
    with pytest.raises(ControlError, match=words):
        GlobalHotkeys({})


@pytest.fixture
def x_display(monkeypatch):
    """A private Xvfb display, made this process's DISPLAY."""
    if shutil.which("Xvfb") is None:
        pytest.skip("Xvfb is not installed (apt-get install xvfb)")
    pytest.importorskip("Xlib")
    read, write = os.pipe()
    server = subprocess.Popen(["Xvfb", "-displayfd", str(write), "-nolisten", "tcp"],
                              pass_fds=[write], stdout=subprocess.DEVNULL,
                              stderr=subprocess.DEVNULL)
    os.close(write)
    with os.fdopen(read) as announced:  # Xvfb picks a free display and writes its number
        number = announced.readline().strip()
    if not number:
        server.kill()
        pytest.fail("Xvfb did not start")
    monkeypatch.delenv("WAYLAND_DISPLAY", raising=False)
    monkeypatch.delenv("XDG_SESSION_TYPE", raising=False)
    monkeypatch.setenv("DISPLAY", f":{number}")
    yield
    server.terminate()
    server.wait(timeout=10)


def press(keys: tuple[str, ...]) -> None:
    """Press and release ``keys`` together through XTest, as a keyboard would."""
    from Xlib import XK, X
    from Xlib.display import Display
    from Xlib.ext import xtest

    display = Display()
    codes = [display.keysym_to_keycode(XK.string_to_keysym(key)) for key in keys]
    for code in codes:
        xtest.fake_input(display, X.KeyPress, code)
    for code in reversed(codes):
        xtest.fake_input(display, X.KeyRelease, code)
    display.sync()
    display.close()


def test_ctrl_alt_keys_drive_the_controller_from_any_window(x_display):
    emotions = ("happy", "sad", "angry")
    controller = Controller(emotions)
    hotkeys = GlobalHotkeys(controller_actions(controller))
    try:
        assert hotkeys.taken == []
        press(("Control_L", "Alt_L", "3"))  # neutral is 1, so 3 is the second emotion
        assert wait_for(lambda: controller.settings.emotion == emotions[1])
        press(("Control_L", "Alt_L", "0"))
        assert wait_for(lambda: controller.settings.bypass)
        press(("Control_L", "Alt_L", "equal"))
        assert wait_for(lambda: controller.settings.intensity == 0.6)
        # Keys that must change nothing, each followed by a marker key that changes something:
        # X delivers keys in order, so once the marker is seen the key before it was heard.
        for ignored in (("Control_L", "Alt_L", "9"),  # past the last emotion
                        ("3",)):  # without the modifiers the key is not ours
            before = (controller.version, controller.settings)
            press(ignored)
            press(("Control_L", "Alt_L", "minus"))
            assert wait_for(lambda before=before: controller.version != before[0])
            assert controller.version == before[0] + 1, ignored  # the marker only
            assert controller.settings.emotion == before[1].emotion
            assert controller.settings.intensity < before[1].intensity
        press(("Control_L", "Alt_L", "1"))
        assert wait_for(lambda: controller.settings.emotion == NEUTRAL)
    finally:
        hotkeys.stop()
