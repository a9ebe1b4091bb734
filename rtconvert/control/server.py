"""The control servers of a running converter: OSC on UDP and WebSocket on TCP, on one port number."""

from __future__ import annotations

import ipaddress
import socket
from dataclasses import dataclass

from ..errors import ControlError
from .controller import Controller
from .osc import OscServer
from .websocket import WebSocketServer

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


class ControlServers:
    """OSC and WebSocket servers for ``controller``, running until :meth:`close`.

    Raises
    ------
    ControlError
        The port is taken (e.g. by another running converter), or the options are unsafe.
    """

    def __init__(self, controller: Controller, options: ControlOptions = ControlOptions()) -> None:
        self.options = options
        self.websocket = WebSocketServer(controller, options.host, options.port, options.token)
        try:
            # Port 0: the OSC server takes the number the WebSocket server was given.
            self.osc = OscServer(controller, options.host, self.websocket.port, options.token)
        except ControlError:
            self.websocket.stop()
            raise

    @property
    def port(self) -> int:
        return self.websocket.port

    def describe(self) -> str:
        """One line saying where to send control messages."""
        host = self.options.host
        return (f"control: OSC udp://{host}:{self.port}/rtconvert/..., WebSocket "
                f"ws://{host}:{self.port}/ (rtconvert ctl --help)")

    def close(self) -> None:
        self.osc.stop()
        self.websocket.stop()
