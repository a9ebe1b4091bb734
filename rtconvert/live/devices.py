"""Audio devices: listing, finding one by index or name, checking a rate, rescanning."""

from __future__ import annotations

import atexit
from collections.abc import Iterator
from contextlib import contextmanager

import sounddevice as sd

from ..errors import AudioDeviceError

Device = int | str | None


#: Set once a stream's server or device died under it: PortAudio can then neither close
#: that stream nor terminate (it waits for the dead stream for ever).
_holding_dead_stream = False


#: What to do once a device or server died under a stream (see ``refresh_devices``).
RESTART_ADVICE = ("restart rtconvert to use audio again: PortAudio cannot rescan devices in a "
                  "process that held a stream whose device or server went away")


@contextmanager
def portaudio(failed: str, advice: str = "") -> Iterator[None]:
    """Turn a PortAudio error inside the block into AudioDeviceError: ``failed``, PortAudio's
    own words, then ``advice`` (what to do). The one translation of PortAudio's errors."""
    try:
        yield
    except sd.PortAudioError as exc:
        raise AudioDeviceError(f"{failed} ({exc})" + (f"; {advice}" if advice else "")) from exc


def check_alive() -> None:
    """Raise AudioDeviceError (saying to restart) if a stream died under this process."""
    if _holding_dead_stream:
        raise AudioDeviceError(f"an audio device or the JACK server went away; {RESTART_ADVICE}")


def check_host_api(wanted: str, available: list[str]) -> None:
    """Raise AudioDeviceError if no host API's name contains ``wanted``, naming what exists.

    PortAudio lists JACK only when a JACK server ran as it started: a missing JACK host
    API is a JACK server that was not running.
    """
    if any(wanted.lower() in name.lower() for name in available):
        return
    if "jack" in wanted.lower():
        raise AudioDeviceError("no JACK server is running (PortAudio found none when rtconvert "
                               "started); start one, e.g. `jackd -d alsa` or qjackctl, then run "
                               "rtconvert again")
    raise AudioDeviceError(f"no host API matches {wanted!r}; host APIs: {', '.join(available)}")


def refresh_devices() -> None:
    """Re-scan audio devices (PortAudio only enumerates them when it starts).

    Raises
    ------
    AudioDeviceError
        After a device died under a stream: only a new process can rescan then.
    """
    check_alive()
    sd._terminate()
    sd._initialize()


def forget_dead_stream() -> None:
    """Note that a stream died under us (see ``refresh_devices``); exit without terminating."""
    global _holding_dead_stream
    _holding_dead_stream = True
    atexit.unregister(sd._exit_handler)  # its Pa_Terminate would hang the exit


def list_devices() -> str:
    """Host APIs and devices, as ``rtconvert devices`` prints them."""
    lines = []
    for index, api in enumerate(sd.query_hostapis()):
        lines.append(f"host API {index}: {api['name']}")
        for device_index in api["devices"]:
            device = sd.query_devices(device_index)
            lines.append(f"  [{device_index}] {device['name']}: {device['max_input_channels']} in, "
                         f"{device['max_output_channels']} out, "
                         f"default {device['default_samplerate']:.0f} Hz")
    return "\n".join(lines)


def find_device(name_or_index: Device, kind: str, host_api: str | None = None) -> int | None:
    """Resolve a device given by index or by (part of) its name; None means the default.

    Raises
    ------
    AudioDeviceError
        Naming the devices that would do when none matches.
    """
    check_alive()
    channel_key = f"max_{kind}_channels"
    candidates = [(i, d) for i, d in enumerate(sd.query_devices()) if d[channel_key] > 0]
    if host_api is not None:
        apis = sd.query_hostapis()
        check_host_api(host_api, [api["name"] for api in apis])
        candidates = [(i, d) for i, d in candidates
                      if host_api.lower() in apis[d["hostapi"]]["name"].lower()]
    if name_or_index is None:
        if host_api is None:
            try:
                sd.query_devices(kind=kind)
                return None
            except (sd.PortAudioError, ValueError):
                pass  # no default: say which devices there are
        elif candidates:
            return candidates[0][0]
    else:
        text = str(name_or_index)
        if text.isdigit() and any(i == int(text) for i, _ in candidates):
            return int(text)
        for i, device in candidates:
            if text.lower() in device["name"].lower():
                return i
    names = ", ".join(f"[{i}] {d['name']}" for i, d in candidates) or "none"
    wanted = f"{kind} device {name_or_index!r}" if name_or_index is not None \
        else f"default {kind} device"
    raise AudioDeviceError(f"no {wanted}"
                           f"{f' on {host_api}' if host_api else ''}; {kind} devices: {names}")



def describe_device(index: int | None, kind: str) -> str:
    """"name (host API)" of a device index, or of the default ``kind`` device for None."""
    try:
        device = sd.query_devices(index, kind)
        api = sd.query_hostapis(device["hostapi"])["name"]
    except (sd.PortAudioError, ValueError):
        return f"the default {kind} device" if index is None else f"device {index}"
    return f"{device['name']} ({api})"


def device_choices(kind: str) -> list[tuple[int, str]]:
    """(index, "name (host API)") of every device with ``kind`` ("input"/"output") channels."""
    apis = sd.query_hostapis()
    return [(i, f"{d['name']} ({apis[d['hostapi']]['name']})")
            for i, d in enumerate(sd.query_devices()) if d[f"max_{kind}_channels"] > 0]


def negotiate_rate(rate: int | None, input_device: int | None, output_device: int | None,
                   monitor_device: int | None = None) -> int:
    """``rate``, or the output device's default; checked on every device.

    Raises
    ------
    AudioDeviceError
        Naming the device that cannot run at it and the rate to pick instead.
    """
    rate = rate or int(sd.query_devices(output_device, "output")["default_samplerate"])
    checks = [("input", input_device, sd.check_input_settings),
              ("output", output_device, sd.check_output_settings)]
    if monitor_device is not None:
        checks.append(("monitor", monitor_device, sd.check_output_settings))
    for role, device, check in checks:
        info = sd.query_devices(device, "input" if role == "input" else "output")
        with portaudio(f"the {role} device {info['name']!r} cannot run at {rate} Hz",
                       f"pick {info['default_samplerate']:.0f} Hz, its default"):
            check(device=device, samplerate=rate, channels=1, dtype="float32")
    return rate
