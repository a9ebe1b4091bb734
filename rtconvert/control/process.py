"""The control servers in a process of their own, kept in step with the converter's controller.

Python runs one thread at a time per process. Serving a flood of messages in the
converter's own process would hold that lock for a fifth of the time, and whenever the
system paused the serving thread while it held the lock, the audio callback and the
engine's worker waited for it: 10 000 messages/s there made 7-16 dropouts in 10 s where
the same app without them had 0-2 on this busy 2-core machine, while the same flood sent
to a separate process did not (1-3). So the servers run in a child process, which parses,
validates (with a :class:`Controller` replica: the same code, the same emotions and
presets) and answers every message itself, and hands the converter only the fields the
messages changed, at most every ``FORWARD_S``. The converter's controller stays the one
that applies changes: it sends its settings, presets and stream figures back every
``SYNC_S`` and after each change, and the replica takes them unless it has a change of its
own still on the way.
"""

from __future__ import annotations

import dataclasses
import multiprocessing
import signal
import threading
import time
from multiprocessing.connection import Connection
from typing import Any

from ..errors import ControlError
from ..settings import Settings
from .controller import Controller
from .server import ControlOptions, ServerThread

#: How often the child hands a change on to the converter, at most (the engine reads the
#: settings once per 20 ms step; fewer wake-ups leave the audio threads the interpreter).
FORWARD_S = 0.01
#: How often the child looks for a change to hand on (it is its own process: cheap).
_CHILD_POLL_S = 0.001
#: How often the converter sends its state to the child, at least.
SYNC_S = 0.05
#: How long the child may take to start and bind its sockets.
START_TIMEOUT_S = 20.0
#: The stream figures the status carries beside the settings.
FIGURES = ("running", "input_db", "output_db", "latency_ms", "headroom_ms", "headroom_fixed",
           "load", "underruns", "overruns", "error")


class _Presets:
    """The presets as the replica sees them: names and settings, sent by the converter."""

    def __init__(self, presets: dict[str, dict[str, Any]]) -> None:
        self.presets = {name: Settings(**values) for name, values in presets.items()}

    def names(self) -> list[str]:
        return sorted(self.presets)


class ControlServers:
    """OSC and WebSocket servers for ``controller``, in a child process, until :meth:`close`.

    Parameters
    ----------
    controller : Controller
        The converter's controller: the child's changes are applied through it.
    options : ControlOptions, optional
        Where to listen (default: ``ControlOptions()``, 127.0.0.1:9417).

    Raises
    ------
    ControlError
        The port is taken (e.g. by another running converter), or the child did not start.
    """

    def __init__(self, controller: Controller, options: ControlOptions | None = None) -> None:
        self.controller, self.options = controller, options or ControlOptions()
        options = self.options
        context = multiprocessing.get_context("spawn")  # no fork of a process with threads
        self._connection, child = context.Pipe()
        self._process = context.Process(target=serve, name="rtconvert-control", daemon=True,
                                        args=(child, options, self._state(0)))
        self._process.start()
        child.close()
        try:
            if not self._connection.poll(START_TIMEOUT_S):
                raise EOFError(f"no answer within {START_TIMEOUT_S:g} s")
            kind, value = self._connection.recv()
        except (EOFError, OSError) as exc:  # e.g. a __main__ module the child cannot import
            self._process.kill()
            self._process.join()
            why = str(exc) or "it exited"
            raise ControlError(f"the control server's process did not start ({why}); run "
                               "rtconvert from a script or a module, not from stdin") from None
        if kind == "error":
            self._process.join()
            raise ControlError(value)
        self.port: int = value
        self._stopping = False
        self._bridge = threading.Thread(target=self._serve_bridge, name="rtconvert-control-bridge",
                                        daemon=True)
        self._bridge.start()

    def _state(self, applied: int) -> dict[str, Any]:
        """What the replica needs: settings, emotions, presets, figures, the last change applied."""
        controller = self.controller
        status = controller.status()
        presets = controller.presets
        saved = {}  # the app may save or delete one meanwhile: get, never index
        for name in presets.names() if presets is not None else ():
            settings = presets.presets.get(name)
            if settings is not None:
                saved[name] = dataclasses.asdict(settings)
        return {"settings": dataclasses.asdict(controller.settings),
                "emotions": controller.emotions, "presets": saved,
                "figures": {key: status[key] for key in FIGURES if key in status},
                "applied": applied}

    def _serve_bridge(self) -> None:
        """Apply the child's changes; send it the converter's state when it changes, and often."""
        applied, sent_version, sent_at = 0, -1, 0.0
        while not self._stopping:
            try:
                if self._connection.poll(FORWARD_S):
                    _, number, settings = self._connection.recv()
                    applied = number
                    try:
                        self.controller.apply(**settings)
                    except ControlError:  # e.g. the app loaded another model meanwhile
                        pass
                now = time.monotonic()
                if self.controller.version != sent_version or now - sent_at >= SYNC_S:
                    sent_version, sent_at = self.controller.version, now
                    self._connection.send(("state", self._state(applied)))
            except (EOFError, OSError):  # the child is gone
                return

    def describe(self) -> str:
        """One line saying where to send control messages."""
        host = self.options.host
        return (f"control: OSC udp://{host}:{self.port}/rtconvert/..., WebSocket "
                f"ws://{host}:{self.port}/ (rtconvert ctl --help)")

    def close(self) -> None:
        self._stopping = True
        self._bridge.join()
        try:
            self._connection.send(("stop", None))
        except OSError:
            pass
        self._process.join(5)
        if self._process.is_alive():
            self._process.kill()
            self._process.join()
        self._connection.close()


def serve(connection: Connection, options: ControlOptions, state: dict[str, Any]) -> None:
    """The child process: serve messages with a replica; trade changes with the converter."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C is for the converter to handle
    replica = Controller(tuple(state["emotions"]), Settings(**state["settings"]),
                         _Presets(state["presets"]))  # type: ignore[arg-type]
    replica.figures = state["figures"]
    try:
        servers = ServerThread(replica, options)
    except ControlError as exc:
        connection.send(("error", str(exc)))
        return
    connection.send(("ready", servers.port))
    forwarded, handed_on, base = 0, replica.version, dataclasses.asdict(replica.settings)
    forwarded_at = 0.0
    try:
        while True:
            if connection.poll(_CHILD_POLL_S):
                kind, state = connection.recv()
                if kind == "stop":
                    break
                replica.presets = _Presets(state["presets"])  # type: ignore[assignment]
                caught_up = state["applied"] >= forwarded
                taken = replica.adopt(Settings(**state["settings"]), tuple(state["emotions"]),
                                      state["figures"], handed_on if caught_up else None)
                if taken is not None:
                    handed_on, settings = taken
                    base = dataclasses.asdict(settings)
            now = time.monotonic()
            if replica.version != handed_on and now - forwarded_at >= FORWARD_S:
                # Changed by messages: hand on what they changed.
                handed_on, settings = replica.snapshot()
                current = dataclasses.asdict(settings)
                changes = {name: value for name, value in current.items() if value != base[name]}
                base = current
                if changes:  # only these fields: a change made meanwhile in the app stays
                    forwarded, forwarded_at = forwarded + 1, now
                    connection.send(("settings", forwarded, changes))
    except (EOFError, OSError):  # the converter is gone
        pass
    finally:
        servers.close()
