"""Remote and hotkey control of a running converter, all through one :class:`Controller`.

controller  Controller: parses, validates and applies every change; the status it reports
process     ControlServers: the servers in a child process, in step with the converter
server      ServerThread, ControlOptions: OSC (UDP) and WebSocket (TCP) on one port
osc         OscProtocol: ``/rtconvert/<command> [value]``
websocket   WebSocketHandler: ``{"command": ..., "value": ...}`` JSON messages
client      send_command: one command over the WebSocket API
ctl         ``rtconvert ctl`` (started by rtconvert.cli.launcher without the converter's imports)
midi        MIDI mappings (learnable) and inputs: JACK MIDI ports, system MIDI (mido)
hotkeys     global hotkeys where the desktop allows them (X11, Windows)
"""

from .controller import COMMANDS, Controller
from .process import ControlServers
from .server import DEFAULT_PORT, ControlOptions

__all__ = ["COMMANDS", "DEFAULT_PORT", "ControlOptions", "ControlServers", "Controller"]
