"""The controller's WebSocket JSON API: one reply per message, status events for subscribers.

A message is a JSON object ``{"command": "intensity", "value": 0.6, "id": 7}`` (``id``
optional, echoed back). The reply is ``{"id": 7, "ok": true, "status": {...}}`` or
``{"id": 7, "ok": false, "error": "..."}`` -- malformed JSON and unknown commands
included. ``{"command": "subscribe"}`` makes the connection receive
``{"event": "status", "status": {...}}`` whenever the settings change (at most every
``STATUS_POLL_S``) and every ``STATUS_EVERY_S``. With a token, the handshake must carry it
(``ws://host:port/?token=T`` or ``Authorization: Bearer T``). Pages from other web sites
are refused (their browsers send an ``Origin`` header), so a web page cannot steer the
converter through a browser on the same machine.
"""

from __future__ import annotations

import asyncio
import http
import json
import re
from typing import Any
from urllib.parse import parse_qs, urlsplit

from websockets.asyncio.server import Server, ServerConnection, serve
from websockets.exceptions import ConnectionClosed
from websockets.http11 import Request, Response

from ..errors import ControlError
from .controller import Controller
from .osc import STATUS_EVERY_S, STATUS_POLL_S

#: Origins allowed to connect: none (native clients, Companion), local files, localhost pages.
ORIGINS = [None, "null", "file://",
           re.compile(r"^https?://(localhost|127\.0\.0\.1|\[::1\])(:\d+)?$")]
#: Connections served at once; more are closed at once.
MAX_CONNECTIONS = 32
#: The largest message accepted; commands are tiny.
MAX_MESSAGE_BYTES = 65536


def reply_to(controller: Controller, text: str | bytes) -> tuple[str, bool | None]:
    """The JSON reply to one message, and True/False if it asks to (un)subscribe, else None."""
    request_id = None
    try:
        if isinstance(text, bytes):
            raise ControlError("expected a JSON text message, got binary data")
        try:
            message = json.loads(text)
        except ValueError as exc:
            raise ControlError(f"malformed JSON ({exc})") from None
        if not isinstance(message, dict):
            raise ControlError('expected a JSON object like {"command": "emotion", "value": "sad"}')
        request_id = message.get("id")
        command = message.get("command")
        if not isinstance(command, str):
            raise ControlError('the message has no "command" string')
        subscribe = {"subscribe": True, "unsubscribe": False}.get(command)
        if subscribe is None:
            controller.command(command, message.get("value"))
    except ControlError as exc:
        return json.dumps({"id": request_id, "ok": False, "error": str(exc)}), None
    # The status is spliced in as controller.status_json() made it, not encoded again.
    head = json.dumps({"id": request_id, "ok": True})[:-1]
    return f'{head}, "status": {controller.status_json()}}}', subscribe


class WebSocketHandler:
    """Serves one controller's WebSocket connections on the control servers' event loop.

    Parameters
    ----------
    controller : Controller
        Where every message goes.
    token : str, optional
        Required in the handshake when given.
    """

    def __init__(self, controller: Controller, token: str | None = None) -> None:
        self.controller, self.token = controller, token
        self.connections = 0

    async def serve(self, host: str, port: int) -> Server:
        """Start listening; raises OSError when the address is taken."""
        return await serve(self._serve, host, port, origins=ORIGINS,
                           process_request=self._check_token, compression=None,
                           max_size=MAX_MESSAGE_BYTES, server_header=None)

    def _check_token(self, connection: ServerConnection, request: Request) -> Response | None:
        if self.token is None:
            return None
        given = parse_qs(urlsplit(request.path).query).get("token", [None])[0]
        bearer = request.headers.get("Authorization", "")
        if given == self.token or bearer == f"Bearer {self.token}":
            return None
        return connection.respond(http.HTTPStatus.UNAUTHORIZED, "a token is required\n")

    async def _serve(self, connection: ServerConnection) -> None:
        if self.connections >= MAX_CONNECTIONS:
            await connection.close(1013, "too many control connections")
            return
        self.connections += 1
        events: asyncio.Task | None = None
        try:
            async for text in connection:
                reply, subscribe = reply_to(self.controller, text)
                await connection.send(reply)
                if subscribe and events is None:
                    events = asyncio.create_task(self._events(connection))
                elif subscribe is False and events is not None:
                    events.cancel()
                    events = None
        except ConnectionClosed:
            pass
        finally:
            self.connections -= 1
            if events is not None:
                events.cancel()

    async def _events(self, connection: ServerConnection) -> None:
        """Status events to a subscribed connection until it unsubscribes or closes."""
        sent_version, sent_at = -1, 0.0
        loop = asyncio.get_running_loop()
        while True:
            await asyncio.sleep(STATUS_POLL_S)
            now = loop.time()
            if self.controller.version != sent_version or now - sent_at >= STATUS_EVERY_S:
                sent_version, sent_at = self.controller.version, now
                message: Any = f'{{"event": "status", "status": {self.controller.status_json()}}}'
                try:
                    await connection.send(message)
                except ConnectionClosed:
                    return
