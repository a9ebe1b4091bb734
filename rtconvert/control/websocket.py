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

import http
import json
import re
import threading
import time
from typing import Any
from urllib.parse import parse_qs, urlsplit

from websockets.exceptions import ConnectionClosed
from websockets.http11 import Request, Response
from websockets.sync.server import Server, ServerConnection, serve

from ..errors import ControlError
from .controller import Controller
from .osc import STATUS_EVERY_S, STATUS_POLL_S

#: Origins allowed to connect: none (native clients, Companion), local files, localhost pages.
ORIGINS = [None, "null", "file://",
           re.compile(r"^https?://(localhost|127\.0\.0\.1|\[::1\])(:\d+)?$")]
#: Connections served at once, each on its own thread; more are closed at once.
MAX_CONNECTIONS = 32
#: The largest message accepted; commands are tiny.
MAX_MESSAGE_BYTES = 65536


def reply_to(controller: Controller, text: str | bytes) -> tuple[dict[str, Any], bool | None]:
    """The reply to one message, and True/False if it asks to (un)subscribe, else None."""
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
        status = controller.status() if subscribe is not None else \
            controller.command(command, message.get("value"))
    except ControlError as exc:
        return {"id": request_id, "ok": False, "error": str(exc)}, None
    return {"id": request_id, "ok": True, "status": status}, subscribe


class WebSocketServer:
    """Serves :class:`Controller` commands over WebSocket until :meth:`stop`.

    Parameters
    ----------
    controller : Controller
        Where every message goes.
    host, port : str, int
        Address to bind (port 0 picks a free one; see :attr:`port`).
    token : str, optional
        Required in the handshake when given.
    """

    def __init__(self, controller: Controller, host: str, port: int,
                 token: str | None = None) -> None:
        self.controller, self.token = controller, token
        self._connections = 0
        self._count_lock = threading.Lock()
        try:
            self._server: Server = serve(self._handle, host, port, origins=ORIGINS,
                                         process_request=self._check_token, compression=None,
                                         max_size=MAX_MESSAGE_BYTES, server_header=None)
        except OSError as exc:
            raise ControlError(f"cannot listen for WebSocket on tcp://{host}:{port} "
                               f"({exc.strerror}); is another rtconvert running? "
                               "pick --control-port") from None
        self.port = self._server.socket.getsockname()[1]
        self._thread = threading.Thread(target=self._server.serve_forever,
                                        name="rtconvert-websocket", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        self._server.shutdown()
        self._thread.join()

    def _check_token(self, connection: ServerConnection, request: Request) -> Response | None:
        if self.token is None:
            return None
        given = parse_qs(urlsplit(request.path).query).get("token", [None])[0]
        bearer = request.headers.get("Authorization", "")
        if given == self.token or bearer == f"Bearer {self.token}":
            return None
        return connection.respond(http.HTTPStatus.UNAUTHORIZED, "a token is required\n")

    def _handle(self, connection: ServerConnection) -> None:
        with self._count_lock:
            self._connections += 1
            crowded = self._connections > MAX_CONNECTIONS
        try:
            if crowded:
                connection.close(1013, "too many control connections")
                return
            self._serve(connection)
        finally:
            with self._count_lock:
                self._connections -= 1

    def _serve(self, connection: ServerConnection) -> None:
        subscribed, sent_version, sent_at = False, -1, 0.0
        while True:
            try:
                text = connection.recv(timeout=STATUS_POLL_S)
            except TimeoutError:
                text = None
            except ConnectionClosed:
                return
            try:
                if text is not None:
                    reply, subscribe = reply_to(self.controller, text)
                    subscribed = subscribed if subscribe is None else subscribe
                    connection.send(json.dumps(reply))
                now = time.monotonic()
                changed = self.controller.version != sent_version
                if subscribed and ((changed and now - sent_at >= STATUS_POLL_S)
                                   or now - sent_at >= STATUS_EVERY_S):
                    sent_version, sent_at = self.controller.version, now
                    connection.send(json.dumps({"event": "status",
                                                "status": self.controller.status()}))
            except ConnectionClosed:
                return
