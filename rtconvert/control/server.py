"""The control servers' event loop: OSC on UDP and WebSocket on TCP, one port number, one thread."""

from __future__ import annotations

import asyncio
import ipaddress
import socket
import threading
from dataclasses import dataclass

from ..errors import ControlError
from .controller import Controller
from .osc import RECEIVE_BUFFER_BYTES, OscProtocol
from .websocket import WebSocketHandler

#: The port number both servers listen on by default (UDP for OSC, TCP for WebSocket).
DEFAULT_PORT = 9417
DEFAULT_HOST = "127.0.0.1"


@dataclass(frozen=True)
class ControlOptions:
    """Where the control servers listen; ``enabled=False`` runs none."""

    host: str = DEFAULT_HOST  # another address needs a token
    port: int = DEFAULT_PORT  # 0: any free port (tests)
    token: str | None = None
    enabled: bool = True

    def __post_init__(self) -> None:
        if not 0 <= self.port < 65536:
            raise ControlError(f"control port {self.port} is out of range 1..65535")
        if self.enabled and self.token is None and not is_loopback(self.host):
            raise ControlError(f"listening on {self.host} lets other machines control the "
                               "converter: give a --control-token")


def is_loopback(host: str) -> bool:
    """Whether ``host`` (a name or an address) resolves only to this machine."""
    try:
        addresses = {info[4][0] for info in socket.getaddrinfo(host, None)}
    except socket.gaierror as exc:
        raise ControlError(f"cannot resolve control host {host!r} ({exc})") from None
    return all(ipaddress.ip_address(a.split("%")[0]).is_loopback for a in addresses)


class ServerThread:
    """OSC and WebSocket servers for ``controller`` on one event loop thread, until :meth:`close`.

    One thread serves both, one message at a time. The converter runs it in a process of
    its own (:class:`~rtconvert.control.process.ControlServers`); tests may run it here.

    Raises
    ------
    ControlError
        The port is taken (e.g. by another running converter), or the options are unsafe.
    """

    def __init__(self, controller: Controller, options: ControlOptions = ControlOptions()) -> None:
        self.options = options
        self.osc = OscProtocol(controller, options.token)
        self.websocket = WebSocketHandler(controller, options.token)
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._loop.run_forever, name="rtconvert-control",
                                        daemon=True)
        self._thread.start()
        try:
            self.port = asyncio.run_coroutine_threadsafe(self._start(), self._loop).result()
        except BaseException:
            self._halt()
            raise

    async def _start(self) -> int:
        host, port = self.options.host, self.options.port
        try:
            self._websocket = await self.websocket.serve(host, port)
            # Port 0: the OSC server takes the number the WebSocket server was given.
            port = self._websocket.sockets[0].getsockname()[1]
        except OSError as exc:
            raise ControlError(f"cannot listen for WebSocket on tcp://{host}:{port} "
                               f"({exc.strerror}); is another rtconvert running? pick "
                               "--control-port") from None
        try:
            self._udp, _ = await asyncio.get_running_loop().create_datagram_endpoint(
                lambda: self.osc, local_addr=(host, port))
        except OSError as exc:
            self._websocket.close()
            raise ControlError(f"cannot listen for OSC on udp://{host}:{port} ({exc.strerror}); "
                               "is another rtconvert running? pick --control-port") from None
        self._udp.get_extra_info("socket").setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF,
                                                      RECEIVE_BUFFER_BYTES)
        self._broadcast = asyncio.create_task(self.osc.broadcast())
        return port

    async def _stop(self) -> None:
        self._broadcast.cancel()
        self._udp.close()
        self._websocket.close()
        await self._websocket.wait_closed()

    def describe(self) -> str:
        """One line saying where to send control messages."""
        host = self.options.host
        return (f"control: OSC udp://{host}:{self.port}/rtconvert/..., WebSocket "
                f"ws://{host}:{self.port}/ (rtconvert ctl --help)")

    def close(self) -> None:
        asyncio.run_coroutine_threadsafe(self._stop(), self._loop).result(timeout=10)
        self._halt()

    def _halt(self) -> None:
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join()
        self._loop.close()
