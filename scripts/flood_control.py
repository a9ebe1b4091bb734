"""Flood the app's control server (OSC + WebSocket, valid and malformed) while it streams on JACK.

    jackd -R -d dummy -r 48000 -p 256 &
    QT_QPA_PLATFORM=offscreen python scripts/flood_control.py --seconds 10 --rate 10000

The app runs here with its event loop, converting speech that a second JACK client
process plays in; a third process sends ``--rate`` messages per second, half over OSC
and half over one WebSocket connection, half of them (at random) malformed or refused, and
counts the replies, per transport: WebSocket runs on TCP, so every message gets its reply;
OSC runs on UDP, where the operating system may drop datagrams under a flood (counted, as
the host's doing). Prints one JSON line: underruns, overruns and xruns during the flood
(and the stream's own late blocks in its second half, once the headroom had adapted, beside
the conversions the host held up and the JACK cycles it ran late then),
messages sent and replies received by kind and transport, and the longest gap between two
ticks of a 20 ms UI timer (the app's responsiveness).
"""

from __future__ import annotations

import argparse
import itertools
import json
import math
import random
import socket
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

#: Malformed or refused messages; the sender expects an error reply to each.
BAD_OSC = (b"garbage", b"/rtconvert/intensity\x00\x00\x00\x00,f\x00", b"")
BAD_JSON = ("{nope", "[]", '{"command": 5}', '{"command": "intensity", "value": NaN}',
            '{"command": "emotion", "value": "no-such-emotion"}',
            '{"command": "intensity", "value": 7}', '{"command": "volume", "value": 1}')


def _osc_messages(emotions: list[str]) -> tuple[list[bytes], list[bytes]]:
    from rtconvert.control.osc import osc_message

    good = [osc_message("/rtconvert/intensity", random.random()) for _ in range(50)]
    good += [osc_message("/rtconvert/emotion", e) for e in emotions]
    bad = list(BAD_OSC) + [osc_message("/rtconvert/intensity", math.nan),
                           osc_message("/rtconvert/intensity", 1.5),
                           osc_message("/rtconvert/emotion", "no-such-emotion"),
                           osc_message("/rtconvert/gate", 12.0),
                           osc_message("/nowhere", 1), osc_message("/rtconvert/bypass", "maybe")]
    return good, bad


def _ws_frame(text: str) -> bytes:
    """A client's text frame, masked with a zero key (valid, and the payload stays as is)."""
    payload = text.encode()
    size = bytes([0x80 | len(payload)]) if len(payload) < 126 else \
        bytes([0x80 | 126]) + len(payload).to_bytes(2, "big")
    return b"\x81" + size + b"\0\0\0\0" + payload


class _WebSocketCounter:
    """A bare WebSocket client: prebuilt frames out, replies counted as ok or error.

    The flood's sender is the test rig, not what is under test: framing by hand keeps its
    own load on the shared cores at a fraction of a full client library's.
    """

    def __init__(self, port: int) -> None:
        self.socket = socket.create_connection(("127.0.0.1", port))
        self.socket.sendall(f"GET / HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nUpgrade: websocket\r\n"
                            "Connection: Upgrade\r\nSec-WebSocket-Key: cnRjb252ZXJ0LWZsb29kIQ==\r\n"
                            "Sec-WebSocket-Version: 13\r\n\r\n".encode())
        self.buffer = b""
        while b"\r\n\r\n" not in self.buffer:
            self.buffer += self.socket.recv(4096)
        head, self.buffer = self.buffer.split(b"\r\n\r\n", 1)
        if b" 101 " not in head.split(b"\r\n")[0]:
            raise OSError(f"no WebSocket handshake: {head[:100]!r}")
        self.socket.settimeout(0.5)

    def replies(self) -> list[bool]:
        """Read what has come; one bool per complete reply (True: ok)."""
        try:
            self.buffer += self.socket.recv(1 << 16)
        except TimeoutError:
            return []
        found, data, at = [], self.buffer, 0
        while len(data) - at >= 2:
            size, header = data[at + 1] & 0x7F, 2
            if size == 126:
                if len(data) - at < 4:
                    break
                size, header = int.from_bytes(data[at + 2:at + 4], "big"), 4
            if len(data) - at < header + size:
                break
            if data[at] & 0x0F == 1:  # a text frame: our reply
                found.append(b'"ok": true' in data[at + header:at + header + 40])
            at += header + size
        self.buffer = data[at:]
        return found


def send(port: int, seconds: float, rate: int, emotions: list[str]) -> dict:
    """The flooding process: ``rate`` messages/s for ``seconds``; returns counts."""
    counts = {f"{transport}_{what}": 0 for transport in ("ws", "udp")
              for what in ("sent_good", "sent_bad", "ok", "errors")}
    lock = threading.Lock()
    udp = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    udp.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 1 << 22)
    udp.settimeout(0.5)
    ws = _WebSocketCounter(port)
    osc_pools = _osc_messages(emotions)
    json_pools = ([_ws_frame(json.dumps({"command": "intensity",
                                         "value": round(random.random(), 3)}))
                   for _ in range(50)], [_ws_frame(text) for text in BAD_JSON])
    done = threading.Event()

    def count(transport: str, oks: list[bool]) -> None:
        with lock:
            good = sum(oks)
            counts[f"{transport}_ok"] += good
            counts[f"{transport}_errors"] += len(oks) - good

    def read_udp() -> None:
        while not done.is_set():
            try:
                data, _ = udp.recvfrom(65536)
            except TimeoutError:
                continue
            count("udp", [not data.startswith(b"/rtconvert/error")])

    def read_ws() -> None:
        while not done.is_set():
            count("ws", ws.replies())

    readers = [threading.Thread(target=f, daemon=True) for f in (read_udp, read_ws)]
    for reader in readers:
        reader.start()
    batch, started = max(2, rate // 200), time.monotonic()  # a batch every 5 ms
    n_batches = round(seconds * rate / batch)
    for i in range(n_batches):
        frames = []
        for j in range(batch):
            bad = random.random() < 0.5
            transport = "udp" if j % 2 else "ws"
            if transport == "udp":
                udp.sendto(random.choice(osc_pools[bad]), ("127.0.0.1", port))
            else:
                frames.append(random.choice(json_pools[bad]))
            counts[f"{transport}_sent_{'bad' if bad else 'good'}"] += 1
        ws.socket.sendall(b"".join(frames))
        delay = started + (i + 1) * batch / rate - time.monotonic()
        if delay > 0:
            time.sleep(delay)
    counts["send_s"] = round(time.monotonic() - started, 2)

    def answered(transport: str) -> int:
        return counts[f"{transport}_ok"] + counts[f"{transport}_errors"]

    # Every WebSocket reply comes (TCP), however long a busy machine takes: wait for them.
    # UDP replies that have not come once the WebSocket's are in and the UDP count stands
    # still for a second were dropped.
    deadline, last_udp, still_since = time.monotonic() + 120, -1, time.monotonic()
    while time.monotonic() < deadline:
        if answered("udp") != last_udp:
            last_udp, still_since = answered("udp"), time.monotonic()
        ws_done = answered("ws") >= counts["ws_sent_good"] + counts["ws_sent_bad"]
        udp_done = answered("udp") >= counts["udp_sent_good"] + counts["udp_sent_bad"] \
            or time.monotonic() - still_since > 1.0
        if ws_done and udp_done:
            break
        time.sleep(0.05)
    counts["answered_s"] = round(time.monotonic() - started, 2)
    done.set()
    for reader in readers:
        reader.join()
    ws.socket.close()
    return counts


def run_app(seconds: float, rate: int) -> dict:
    """The app streaming on JACK with its control server, flooded by a child process."""
    import soundfile
    from PyQt6.QtCore import QTimer
    from PyQt6.QtWidgets import QApplication

    from rtconvert.app.main import MainWindow
    from rtconvert.bench.loopback import Feeder
    from rtconvert.bench.timing import bench_speech
    from rtconvert.bundle import load_bundle
    from rtconvert.control import ControlOptions
    from rtconvert.presets import PresetStore

    app = QApplication(sys.argv[:1])
    folder = Path(tempfile.mkdtemp())
    bundle = load_bundle()
    window = MainWindow(bundle, PresetStore(folder / "presets.json"), ControlOptions(port=0))
    window.show()
    port = window.control_panel.servers.port
    window.start_stream()
    live = window.live
    speech = folder / "speech.wav"
    soundfile.write(speech, bench_speech(seconds + 3, 48000), 48000, subtype="FLOAT")
    feeder = Feeder(speech, folder / "back.wav", *live.jack_ports())
    ticks: list[float] = []
    timer = QTimer()
    timer.timeout.connect(lambda: ticks.append(time.monotonic()))
    timer.start(20)
    result: dict = {}

    def flood() -> None:
        try:
            measure()
        except (OSError, ValueError, subprocess.CalledProcessError) as exc:  # report, and quit
            result.update(error=repr(exc))
        QTimer.singleShot(0, app.quit)

    def measure() -> None:
        status = live.status
        before = status.late_blocks, status.output_underflows, status.input_overflows
        player = threading.Thread(target=lambda: result.update(xruns=feeder.play()["xruns"]))
        started = status.callbacks
        player.start()
        # The flood starts once the stream has played a second of the speech.
        while (status.callbacks - started) * live.config.block < live.rate:
            time.sleep(0.1)  # seldom: each look takes the interpreter lock the audio needs
        sender = subprocess.Popen(
            [sys.executable, __file__, "--send-to", str(port), "--seconds", str(seconds),
             "--rate", str(rate), "--emotions", ",".join(window.emotions)],
            stdout=subprocess.PIPE, text=True)
        halfway = status.callbacks + round(seconds / 2 * live.rate / live.config.block)
        while status.callbacks < halfway and sender.poll() is None:
            time.sleep(0.1)
        at_halfway = status.late_blocks, status.held_up, status.output_underflows
        out, _ = sender.communicate()
        if sender.returncode:
            raise subprocess.CalledProcessError(sender.returncode, "flood sender")
        result.update(json.loads(out.strip().splitlines()[-1]))
        result.update(late_blocks_second_half=status.late_blocks - at_halfway[0],
                      held_up_second_half=status.held_up - at_halfway[1],
                      xruns_second_half=status.output_underflows - at_halfway[2])
        player.join()
        result.update(late_blocks=status.late_blocks - before[0],
                      device_underflows=status.output_underflows - before[1],
                      underruns=live.underruns - before[0] - before[1],
                      overruns=status.input_overflows - before[2])

    thread = threading.Thread(target=flood, daemon=True)
    QTimer.singleShot(0, thread.start)
    app.exec()
    gaps = [b - a for a, b in itertools.pairwise(ticks)]
    shown = window.intensity_label.text() == f"{window.settings.intensity:.2f}"
    result.update(ui_max_gap_ms=round(1000 * max(gaps), 1),
                  ui_ticks_per_s=round(len(ticks) / (ticks[-1] - ticks[0]), 1),
                  settings_shown=shown)
    window.close()
    return result


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=10.0)
    parser.add_argument("--rate", type=int, default=10000, help="messages per second, in all")
    parser.add_argument("--send-to", type=int, help=argparse.SUPPRESS)  # the flooding child
    parser.add_argument("--emotions", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.send_to:
        result = send(args.send_to, args.seconds, args.rate, args.emotions.split(","))
    else:
        result = run_app(args.seconds, args.rate)
    print(json.dumps(result), flush=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
