"""OSC over UDP for the controller: ``/rtconvert/<command> [value]``, a reply to every message.

Every datagram gets one reply per message in it, sent back to its sender:
``/rtconvert/status <JSON>`` after a command that worked, ``/rtconvert/error <message>``
for anything refused (malformed packets included). ``/rtconvert/subscribe [port]`` adds
the sender (at ``port``, default its own) to those sent ``/rtconvert/status`` whenever
the settings change (at most every ``STATUS_POLL_S``) and every ``STATUS_EVERY_S``.
With a token, every message's first argument must be it. One thread serves the socket,
one message at a time: a flood queues in the socket's buffer and never reaches the audio
threads, which run at real-time priority above this one.
"""

from __future__ import annotations

import json
import socket
import threading
import time
from typing import Any

from pythonosc.osc_message_builder import OscMessageBuilder
from pythonosc.osc_packet import OscPacket, ParseError

from ..errors import ControlError
from .controller import Controller

PREFIX = "/rtconvert/"
#: How often subscribers are checked for a changed status, and the longest they wait.
STATUS_POLL_S = 0.05
STATUS_EVERY_S = 1.0
#: Subscribers kept at most; the oldest is dropped for a new one.
MAX_SUBSCRIBERS = 16
#: Receive buffer asked of the kernel, so a burst waits in it instead of being dropped.
RECEIVE_BUFFER_BYTES = 1 << 20


def osc_message(address: str, *args: Any) -> bytes:
    """One OSC message as a datagram."""
    builder = OscMessageBuilder(address)
    for arg in args:
        builder.add_arg(arg)
    return builder.build().dgram


class OscServer:
    """Serves :class:`Controller` commands on a UDP port until :meth:`stop`.

    Parameters
    ----------
    controller : Controller
        Where every message goes.
    host, port : str, int
        Address to bind (port 0 picks a free one; see :attr:`port`).
    token : str, optional
        Required as the first argument of every message when given.
    """

    def __init__(self, controller: Controller, host: str, port: int,
                 token: str | None = None) -> None:
        self.controller, self.token = controller, token
        self._socket = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self._socket.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, RECEIVE_BUFFER_BYTES)
        try:
            self._socket.bind((host, port))
        except OSError as exc:
            self._socket.close()
            raise ControlError(f"cannot listen for OSC on udp://{host}:{port} ({exc.strerror}); "
                               "is another rtconvert running? pick --control-port") from None
        self._socket.settimeout(STATUS_POLL_S)
        self.port = self._socket.getsockname()[1]
        self.subscribers: dict[tuple[str, int], None] = {}
        self._stopping = False
        self._thread = threading.Thread(target=self._serve, name="rtconvert-osc", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        self._stopping = True
        self._thread.join()
        self._socket.close()

    def _serve(self) -> None:
        sent_version, sent_at = -1, 0.0
        while not self._stopping:
            try:
                data, sender = self._socket.recvfrom(65536)
            except TimeoutError:
                data = None
            except OSError:
                return
            if data is not None:
                for reply in self.handle(data, sender):
                    self._send(reply, sender)
            now = time.monotonic()
            changed = self.controller.version != sent_version
            if self.subscribers and ((changed and now - sent_at >= STATUS_POLL_S)
                                     or now - sent_at >= STATUS_EVERY_S):
                sent_version, sent_at = self.controller.version, now
                status = osc_message(PREFIX + "status", json.dumps(self.controller.status()))
                for subscriber in list(self.subscribers):
                    self._send(status, subscriber)

    def _send(self, datagram: bytes, address: tuple[str, int]) -> None:
        try:
            self._socket.sendto(datagram, address)
        except OSError:  # the peer's buffer is full or it went away: a reply is lost, not us
            pass

    def handle(self, data: bytes, sender: tuple[str, int]) -> list[bytes]:
        """The replies to one datagram (a message or a bundle of them)."""
        try:
            messages = [timed.message for timed in OscPacket(data).messages]
        except (ParseError, ValueError, IndexError, UnicodeDecodeError) as exc:
            return [osc_message(PREFIX + "error", f"malformed OSC packet of {len(data)} bytes "
                                                  f"({exc})")]
        replies = []
        for message in messages:
            try:
                replies.append(self._run(message.address, list(message.params), sender))
            except ControlError as exc:
                replies.append(osc_message(PREFIX + "error", f"{message.address}: {exc}"))
        return replies

    def _run(self, address: str, args: list[Any], sender: tuple[str, int]) -> bytes:
        if not address.startswith(PREFIX):
            raise ControlError(f"unknown address; use {PREFIX}<command>")
        if self.token is not None:
            if not args or args[0] != self.token:
                raise ControlError("a token is required as the first argument")
            args = args[1:]
        if len(args) > 1:
            raise ControlError(f"expected at most one argument, got {len(args)}")
        command, value = address[len(PREFIX):], args[0] if args else None
        if command in ("subscribe", "unsubscribe"):
            return self._subscribe(command, value, sender)
        status = self.controller.command(command, value)
        return osc_message(PREFIX + "status", json.dumps(status))

    def _subscribe(self, command: str, port: Any, sender: tuple[str, int]) -> bytes:
        if port is not None and (isinstance(port, bool) or not isinstance(port, int)
                                 or not 0 < port < 65536):
            raise ControlError(f"{command}: expected a UDP port, got {port!r}")
        subscriber = (sender[0], port or sender[1])
        self.subscribers.pop(subscriber, None)
        if command == "subscribe":
            self.subscribers[subscriber] = None
            while len(self.subscribers) > MAX_SUBSCRIBERS:
                del self.subscribers[next(iter(self.subscribers))]
        return osc_message(PREFIX + "status", json.dumps(self.controller.status()))
