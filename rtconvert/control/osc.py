"""OSC over UDP for the controller: ``/rtconvert/<command> [value]``, a reply to every message.

``/rtconvert/mix`` also takes name, weight pairs: ``/rtconvert/mix happy 0.6 surprised 0.4``.

Every datagram gets one reply per message in it, sent back to its sender:
``/rtconvert/status <JSON>`` after a command that worked, ``/rtconvert/error <message>``
for anything refused (malformed packets included). ``/rtconvert/subscribe [port]`` adds
the sender (at ``port``, default its own) to those sent ``/rtconvert/status`` whenever
the settings change (at most every ``STATUS_POLL_S``) and every ``STATUS_EVERY_S``.
With a token, every message's first argument must be it. The protocol runs on the
control servers' event loop (:mod:`.server`), one message at a time: a flood waits in
the socket's buffer.
"""

from __future__ import annotations

import asyncio
import struct
from typing import Any

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


def _padded(text: str) -> bytes:
    data = text.encode()
    return data + b"\0" * (4 - len(data) % 4)


def osc_message(address: str, *args: str | float) -> bytes:
    """One OSC message as a datagram; arguments are strings, floats (float32) or ints."""
    tags, payload = ",", b""
    for arg in args:
        if isinstance(arg, str):
            tags, payload = tags + "s", payload + _padded(arg)
        elif isinstance(arg, int) and not isinstance(arg, bool):
            tags, payload = tags + "i", payload + struct.pack(">i", arg)
        else:
            tags, payload = tags + "f", payload + struct.pack(">f", arg)
    return _padded(address) + _padded(tags) + payload


class OscProtocol(asyncio.DatagramProtocol):
    """Answers OSC datagrams with :class:`Controller` commands.

    Parameters
    ----------
    controller : Controller
        Where every message goes.
    token : str, optional
        Required as the first argument of every message when given.
    """

    def __init__(self, controller: Controller, token: str | None = None) -> None:
        self.controller, self.token = controller, token
        self.subscribers: dict[tuple[str, int], None] = {}
        self.transport: asyncio.DatagramTransport | None = None

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport  # type: ignore[assignment]

    def datagram_received(self, data: bytes, sender: tuple[str, int]) -> None:
        for reply in self.handle(data, sender):
            self._send(reply, sender)

    def _send(self, datagram: bytes, address: tuple[str, int]) -> None:
        if self.transport is not None and not self.transport.is_closing():
            self.transport.sendto(datagram, address)

    async def broadcast(self) -> None:
        """Send the status to subscribers when it changed, and at least every ``STATUS_EVERY_S``."""
        sent_version, sent_at = -1, 0.0
        loop = asyncio.get_running_loop()
        while True:
            await asyncio.sleep(STATUS_POLL_S)
            now = loop.time()
            if self.subscribers and (self.controller.version != sent_version
                                     or now - sent_at >= STATUS_EVERY_S):
                sent_version, sent_at = self.controller.version, now
                status = osc_message(PREFIX + "status", self.controller.status_json())
                for subscriber in list(self.subscribers):
                    self._send(status, subscriber)

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
        command = address[len(PREFIX):]
        if command == "mix" and len(args) > 1:  # name, weight, name, weight, ...
            if len(args) % 2:
                raise ControlError("expected name, weight pairs")
            args = [",".join(f"{name}={weight}" for name, weight in zip(args[::2], args[1::2]))]
        if len(args) > 1:
            raise ControlError(f"expected at most one argument, got {len(args)}")
        value = args[0] if args else None
        if command in ("subscribe", "unsubscribe"):
            self._subscribe(command, value, sender)
        else:
            self.controller.command(command, value)
        return osc_message(PREFIX + "status", self.controller.status_json())

    def _subscribe(self, command: str, port: Any, sender: tuple[str, int]) -> None:
        if port is not None and (isinstance(port, bool) or not isinstance(port, int)
                                 or not 0 < port < 65536):
            raise ControlError(f"{command}: expected a UDP port, got {port!r}")
        subscriber = (sender[0], port or sender[1])
        self.subscribers.pop(subscriber, None)
        if command == "subscribe":
            self.subscribers[subscriber] = None
            while len(self.subscribers) > MAX_SUBSCRIBERS:
                del self.subscribers[next(iter(self.subscribers))]
