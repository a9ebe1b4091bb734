"""Convert one recording to several emotions with `rtconvert convert` and plot F0 and spectrograms.

    python scripts/plot_conversion.py INPUT.flac docs/conversion.png

Prints, per emotion, the measured shift of the voiced log-F0 mean next to the bundle's.
"""

from __future__ import annotations

import subprocess
import sys
import tempfile
from pathlib import Path

import matplotlib
import numpy as np

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402

from rtconvert.bundle import load_bundle  # noqa: E402
from rtconvert.config import FeatureConfig  # noqa: E402
from rtconvert.dsp.features import analyze  # noqa: E402
from rtconvert.engine.prosody import CENTS_PER_LOG  # noqa: E402
from rtconvert.offline.audiofile import load_audio  # noqa: E402

SHOWN = ("happy", "sad", "angry")


def main(source: Path, figure: Path) -> None:
    config, bundle = FeatureConfig(), load_bundle()
    work = Path(tempfile.mkdtemp())
    signals = {"neutral (input)": load_audio(source, config.sample_rate).samples}
    for emotion in bundle.emotions:
        out = work / f"{emotion}.wav"
        subprocess.run(["rtconvert", "convert", str(source), str(out), "--emotion", emotion,
                        "--intensity", "1"], check=True, capture_output=True)
        signals[emotion] = load_audio(out, config.sample_rate).samples
    f0 = {name: analyze(x, config).f0_hz for name, x in signals.items()}
    source_mean = np.mean(np.log(f0["neutral (input)"][f0["neutral (input)"] > 0]))
    print("| emotion | F0 mean shift measured (cents) | bundle's strong shift (cents) |")
    print("|---|---:|---:|")
    for emotion in bundle.emotions:
        voiced = f0[emotion][f0[emotion] > 0]
        measured = (np.mean(np.log(voiced)) - source_mean) * CENTS_PER_LOG
        expected = bundle.prosody[emotion]["strong"].delta_lf0 * CENTS_PER_LOG
        print(f"| {emotion} | {measured:+.0f} | {expected:+.0f} |")

    shown = ["neutral (input)", *SHOWN]
    fig, axes = plt.subplots(len(shown) + 1, 1, figsize=(9, 2.1 * (len(shown) + 1)), sharex=True)
    frame_s = config.frame_period_ms / 1000
    for name in shown:
        contour = np.where(f0[name] > 0, f0[name], np.nan)
        axes[0].plot(np.arange(len(contour)) * frame_s, contour, label=name, lw=1.2)
    axes[0].set_ylabel("F0 (Hz)")
    axes[0].legend(loc="upper right", fontsize=8, ncol=4)
    axes[0].set_title(f"{source.name}: neutral take converted at intensity 1 (strong)")
    for axis, name in zip(axes[1:], shown):
        axis.specgram(signals[name], NFFT=1024, Fs=config.sample_rate, noverlap=768,
                      cmap="magma", vmin=-140)
        axis.set_ylim(0, 6000)
        axis.set_ylabel(f"{name}\nHz", fontsize=8)
    axes[-1].set_xlabel("time (s)")
    fig.tight_layout()
    fig.savefig(figure, dpi=90)
    print(f"wrote {figure}")


if __name__ == "__main__":
    main(Path(sys.argv[1]), Path(sys.argv[2]))
