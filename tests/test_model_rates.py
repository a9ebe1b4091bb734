"""Bundles at 16 and 48 kHz model rates, exported for real: they convert a file and stream."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import soundfile
import soxr
from helpers import JACK_PERIOD, JACK_RATE, needs_jackd

from rtconvert.bench.loopback import Feeder
from rtconvert.bundle import load_bundle, write_bundle
from rtconvert.cli.commands import main
from rtconvert.config import FeatureConfig
from rtconvert.live.stream import LiveConfig, LiveStream
from rtconvert.modelio import Layout
from rtconvert.settings import Settings

MODEL_RATES = (16000, 48000)


@pytest.fixture(scope="module", params=MODEL_RATES, ids=lambda rate: f"{rate // 1000}k")
def rate_bundle(request, tiny_run, tmp_path_factory) -> Path:
    """The tiny run's recipe as a bundle at another model rate.

    Training extracts at the corpus rate, so the generator here keeps its initial weights
    (a fixed seed); the normalisation of the extra or fewer aperiodicity bands repeats the
    first band's. Export's own graph, metadata and parity check build it.
    """
    import torch

    from export.onnx_export import PARITY_TOLERANCE, bundle_metadata, onnx_bytes, parity_error
    from training.checkpoint import CHECKPOINT_NAME, load_checkpoint
    from training.prepare import STATS_NAME
    from training.train import build_generator

    rate = request.param
    config = load_checkpoint(tiny_run / CHECKPOINT_NAME)["config"]
    stats = json.loads((tiny_run / STATS_NAME).read_text())
    features = FeatureConfig.from_dict({**stats["feature_config"], "sample_rate": rate})
    stats["feature_config"] = features.to_dict()
    for key in ("bap_mean", "bap_std"):
        stats[key] = [stats[key][0]] * features.n_bap
    torch.manual_seed(0)
    generator = build_generator(config, Layout(features.n_mcep, features.n_bap)).eval()
    path = tmp_path_factory.mktemp("rate-bundles") / f"tiny{rate // 1000}k"
    write_bundle(path, onnx_bytes(generator),
                 bundle_metadata(generator, stats, {**config, "name": path.name}, 0, "test"))
    assert parity_error(generator, path) <= PARITY_TOLERANCE
    return path


def test_the_bundle_loads_at_its_rate(rate_bundle):
    bundle = load_bundle(rate_bundle)
    assert bundle.features.sample_rate in MODEL_RATES
    assert bundle.features.n_bap == (1 if bundle.features.sample_rate == 16000 else 5)


def test_a_file_converts_at_the_file_rate(rate_bundle, speech_file, tmp_path):
    samples, rate = soundfile.read(speech_file)
    out = tmp_path / "happy.wav"
    assert main(["convert", str(speech_file), str(out), "--emotion", "happy", "--intensity",
                 "1", "--model", str(rate_bundle)]) == 0
    converted, out_rate = soundfile.read(out)
    assert out_rate == rate and len(converted) == len(samples)
    assert np.all(np.isfinite(converted))
    level = np.sqrt(np.mean(converted ** 2)) / np.sqrt(np.mean(samples ** 2))
    assert 0.1 < level < 10  # speech came out, neither silence nor a blow-up


@needs_jackd
def test_the_bundle_streams_on_jack(rate_bundle, jack_server, speech, feature_config,
                                    tmp_path):
    """Speech played into the live stream by a second client comes back, converted."""
    bundle = load_bundle(rate_bundle)
    played, recorded = tmp_path / "feed.wav", tmp_path / "back.wav"
    feed = soxr.resample(np.tile(speech, 2), feature_config.sample_rate, JACK_RATE, "HQ")
    soundfile.write(played, feed, JACK_RATE, subtype="FLOAT")
    live = LiveStream(bundle, LiveConfig(host_api="JACK", block=JACK_PERIOD),
                      Settings(emotion=bundle.emotions[0], intensity=1.0))
    live.start()
    try:
        Feeder(played, recorded, *live.jack_ports()).play()
        assert live.active and live.status.error is None
    finally:
        live.stop()
    back = soundfile.read(recorded)[0]
    delay = round(live.latency_s * JACK_RATE)
    source, converted = feed[:len(feed) - delay], back[delay:len(feed)]
    assert np.sqrt(np.mean(converted ** 2)) > 0.1 * np.sqrt(np.mean(source ** 2))
    assert np.all(np.isfinite(converted))
