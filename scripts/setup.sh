#!/usr/bin/env bash
# Set up rtconvert on a fresh Debian machine with Python 3.11.
#   scripts/setup.sh          runtime: system audio libraries + .venv with `pip install -e .`
#   scripts/setup.sh --dev    also training and test tools (torch CPU, JACK, espeak-ng, pytest)
# On success it leaves .venv/.setup-stamp (and with --dev also .venv/.setup-dev-stamp, as the dev
# set-up includes the runtime): the Makefile runs it again only when they are older than
# pyproject.toml or this script.
# As root it installs the system packages itself; otherwise it prints what to install.
set -euo pipefail
cd "$(dirname "$0")/.."

dev=0
[ "${1:-}" = "--dev" ] && dev=1

packages=(libportaudio2 libjack-jackd2-0 libsndfile1 espeak-ng
          libegl1 libgl1 libxkbcommon0 libfontconfig1 libglib2.0-0 libdbus-1-3
          # Qt's xcb platform plugin (the app on X11): what `ldd libqxcb.so` asks for. A
          # minimal Debian lacks icccm and keysyms, and Qt then aborts instead of opening.
          libxcb1 libx11-xcb1 libxcb-icccm4 libxcb-keysyms1 libxcb-cursor0 libxcb-xinerama0
          libxcb-randr0 libxcb-shape0 libxcb-render0 libxcb-render-util0 libxcb-image0
          libxcb-shm0 libxcb-sync1 libxcb-util1 libxcb-xfixes0 libxcb-xkb1 libxkbcommon-x11-0)
# xvfb: the X11 global-hotkey test; PipeWire (headless) and its tools: the virtual microphone's
[ $dev = 1 ] && packages+=(jackd2 sox xvfb
                           pipewire pipewire-pulse wireplumber pulseaudio-utils dbus-daemon)

missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
  if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
    echo "installing system packages: ${missing[*]}"
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
  else
    echo "missing system packages; install them first:" >&2
    echo "  sudo apt-get install ${missing[*]}" >&2
    exit 1
  fi
fi

python=${PYTHON:-python3}
[ -x .venv/bin/python ] || "$python" -m venv .venv
pip() { .venv/bin/python -m pip "$@"; }
pip install -q --upgrade "pip" "setuptools<81" wheel
if [ $dev = 1 ]; then
  # The CPU wheel that lies on these machines; an unpinned torch would pull a CUDA build.
  pip install -q torch==2.13.0
  pip install -q -e ".[train,dev]"
else
  pip install -q -e .
fi
touch .venv/.setup-stamp
if [ $dev = 1 ]; then touch .venv/.setup-dev-stamp; fi
echo "rtconvert is installed in .venv ($(.venv/bin/python --version))"
