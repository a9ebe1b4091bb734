"""``rtconvert ctl``'s side: one command to a running converter over its WebSocket API."""

from __future__ import annotations

import json
from typing import Any
from urllib.parse import quote

from websockets.exceptions import InvalidStatus, WebSocketException
from websockets.sync.client import connect

from ..errors import ControlError
from .server import DEFAULT_HOST, DEFAULT_PORT

#: How long to wait for the converter to connect and answer.
TIMEOUT_S = 5.0


def send_command(command: str, value: Any = None, host: str = DEFAULT_HOST,
                 port: int = DEFAULT_PORT, token: str | None = None,
                 timeout_s: float = TIMEOUT_S) -> dict[str, Any]:
    """Send one command; returns the converter's status after it.

    Raises
    ------
    ControlError
        No converter answers at ``host:port``, the token is wrong, or it refused the
        command (its own message, e.g. the emotions it knows).
    """
    uri = f"ws://{host}:{port}/" + (f"?token={quote(token)}" if token else "")
    try:
        with connect(uri, open_timeout=timeout_s, close_timeout=1, compression=None,
                     proxy=None) as connection:
            connection.send(json.dumps({"command": command, "value": value}))
            reply = json.loads(connection.recv(timeout=timeout_s))
    except InvalidStatus as exc:
        raise ControlError(f"the converter at {host}:{port} refused the connection "
                           f"({exc.response.status_code}: wrong or missing --token?)") from None
    except (OSError, TimeoutError, WebSocketException) as exc:
        raise ControlError(f"no rtconvert answers on {host}:{port} ({exc}); start `rtconvert "
                           "run` or `rtconvert gui`, or give its --port") from None
    if not reply.get("ok"):
        raise ControlError(reply.get("error", "the converter refused the command"))
    return reply["status"]


def format_status(command: str, status: dict[str, Any]) -> str:
    """What ``rtconvert ctl`` prints: one line after a change, the whole status for ``status``."""
    gate = "off" if status["gate_db"] is None else f"{status['gate_db']:g} dB"
    line = (f"{status['emotion']} at intensity {status['intensity']:g}, bypass "
            f"{'on' if status['bypass'] else 'off'}, gate {gate}, gains "
            f"{status['input_gain_db']:+g}/{status['output_gain_db']:+g} dB")
    if command != "status":
        return line
    lines = [line, f"emotions: {', '.join(status['emotions'])}",
             f"presets: {', '.join(status['presets']) or 'none'}"]
    if status["running"]:
        lines.append(f"streaming: in {status['input_db']:g} dB, out {status['output_db']:g} dB, "
                     f"latency {status['latency_ms']:g} ms, load {100 * status['load']:.0f} %, "
                     f"underruns {status['underruns']}, overruns {status['overruns']}")
    else:
        lines.append("not streaming")
    return "\n".join(lines)
