"""Global hotkeys (Ctrl+Alt+key, heard whichever window has focus) where the desktop allows them.

X11 lets a client grab a key on the root window (python-xlib); Windows has
``RegisterHotKey``. Wayland lets no application take keys from the others, and macOS
only one with the accessibility permission: there :func:`unsupported_reason` says so and
points to the control API, which the desktop's own shortcut settings can call
(``rtconvert ctl emotion angry``). A key already taken by another program is left to it.
"""

from __future__ import annotations

import os
import select
import sys
import threading
from collections.abc import Callable

from ..errors import ControlError
from ..settings import choices
from .controller import Controller

#: Shown to the user with the keys.
MODIFIERS = "Ctrl+Alt"
_CONTROL_API = ("bind keys in the desktop's own shortcut settings to commands such as "
                "`rtconvert ctl emotion angry`, or use a stream deck through OSC/WebSocket")


try:  # the errors python-xlib raises when it cannot open or keep a display
    from Xlib.error import ConnectionClosedError, DisplayError
    XError: tuple[type[Exception], ...] = (DisplayError, ConnectionClosedError)
except ImportError:  # not on X11 (python-xlib is installed on Linux only)
    XError = ()


def unsupported_reason() -> str | None:
    """None where global hotkeys work here; otherwise why not, and what to use instead."""
    if sys.platform == "win32":
        return None
    if sys.platform == "darwin":
        return ("macOS gives global hotkeys only to apps with accessibility permission: "
                f"{_CONTROL_API}")
    if os.environ.get("WAYLAND_DISPLAY") or os.environ.get("XDG_SESSION_TYPE") == "wayland":
        return f"Wayland does not let applications take global hotkeys: {_CONTROL_API}"
    if not os.environ.get("DISPLAY"):
        return f"no X11 display, so no global hotkeys: {_CONTROL_API}"
    return None


class GlobalHotkeys:
    """Calls ``actions[key]`` when Ctrl+Alt+key is pressed anywhere, until :meth:`stop`.

    Parameters
    ----------
    actions : dict of str to callable
        Keys by name ("1", "b", "minus", "equal", ...), each with what to call; the calls
        come from the hotkeys' own thread.

    Raises
    ------
    ControlError
        Global hotkeys are impossible here (:func:`unsupported_reason`).
    """

    def __init__(self, actions: dict[str, Callable[[], object]]) -> None:
        reason = unsupported_reason()
        if reason is not None:
            raise ControlError(reason)
        self.actions = actions
        self.taken: list[str] = []  # keys another program had grabbed first
        self._stopping = False
        self._ready = threading.Event()
        self._error: Exception | None = None
        target = self._windows_loop if sys.platform == "win32" else self._x11_loop
        self._thread = threading.Thread(target=target, name="rtconvert-hotkeys", daemon=True)
        self._thread.start()
        self._ready.wait(5)
        if self._error is not None:
            raise ControlError(f"global hotkeys are unavailable ({self._error}): {_CONTROL_API}")

    def stop(self) -> None:
        self._stopping = True
        if sys.platform == "win32" and self._thread.ident is not None:
            import ctypes
            ctypes.windll.user32.PostThreadMessageW(self._thread.ident, 0x0012, 0, 0)  # WM_QUIT
        self._thread.join(2)

    def _x11_loop(self) -> None:
        try:
            from Xlib import XK, X, error
            from Xlib.display import Display
            display = Display()
            root = display.screen().root
            by_code: dict[int, Callable[[], object]] = {}
            modifiers = X.ControlMask | X.Mod1Mask
            for key, action in self.actions.items():
                code = display.keysym_to_keycode(XK.string_to_keysym(key))
                catch = error.CatchError(error.BadAccess)
                for lock in (0, X.LockMask, X.Mod2Mask, X.LockMask | X.Mod2Mask):  # Caps, NumLock
                    root.grab_key(code, modifiers | lock, True, X.GrabModeAsync,
                                  X.GrabModeAsync, onerror=catch)
                display.sync()
                if catch.get_error():
                    self.taken.append(key)
                else:
                    by_code[code] = action
        except (ImportError, OSError, XError) as exc:  # no python-xlib, a display refusing us
            self._error = exc
            self._ready.set()
            return
        self._ready.set()
        while not self._stopping:
            readable, _, _ = select.select([display.fileno()], [], [], 0.1)
            while readable and display.pending_events():
                event = display.next_event()
                if event.type == X.KeyPress and event.detail in by_code:
                    by_code[event.detail]()
        display.close()

    def _windows_loop(self) -> None:  # pragma: no cover - Windows only
        import ctypes
        from ctypes import wintypes
        user32 = ctypes.windll.user32
        mod_alt, mod_control, mod_norepeat, wm_hotkey = 0x1, 0x2, 0x4000, 0x0312
        by_id = {}
        for number, (key, action) in enumerate(self.actions.items(), start=1):
            vk = {"minus": 0xBD, "equal": 0xBB}.get(key, ord(key.upper()))
            if user32.RegisterHotKey(None, number, mod_alt | mod_control | mod_norepeat, vk):
                by_id[number] = action
            else:
                self.taken.append(key)
        self._ready.set()
        message = wintypes.MSG()
        while user32.GetMessageW(ctypes.byref(message), None, 0, 0) > 0:
            if message.message == wm_hotkey and message.wParam in by_id:
                by_id[message.wParam]()
        for number in by_id:
            user32.UnregisterHotKey(None, number)


def controller_actions(controller: Controller) -> dict[str, Callable[[], object]]:
    """Ctrl+Alt+1..9 the model's emotions in order (neutral first), 0 bypass, minus/equal
    intensity down/up; refused changes (e.g. a key past the last emotion) are ignored."""

    def command(name: str, value: object) -> None:
        try:
            controller.command(name, value)
        except ControlError:
            pass

    def emotion(index: int) -> None:
        emotions = choices(controller.emotions)
        if index < len(emotions):
            command("emotion", emotions[index])

    actions: dict[str, Callable[[], object]] = {str(i + 1): (lambda i=i: emotion(i))
                                                for i in range(9)}
    actions["0"] = lambda: command("bypass", "toggle")
    actions["minus"] = lambda: command("intensity", "down")
    actions["equal"] = lambda: command("intensity", "up")
    return actions
