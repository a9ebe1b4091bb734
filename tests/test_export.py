"""Export: ONNX parity with PyTorch, the bundle's self-description and validation, torch-free."""

import hashlib
import json
import shutil
import subprocess
import sys

import numpy as np
import pytest
from helpers import BLOCK_TORCH

from export.onnx_export import export_run
from rtconvert.bundle import FORMAT_VERSION, default_bundle_path, load_bundle
from rtconvert.dsp.features import WorldFeatures
from rtconvert.engine.generator import IdentityConverter, OnnxConverter
from rtconvert.errors import BundleError
from rtconvert.modelio import SpeakerLevels

SPEAKER = SpeakerLevels(np.log(120.0), 0.2, -6.0, np.zeros(36))


def random_frames(bundle, n_frames, seed=0):
    rng = np.random.default_rng(seed)
    norm = bundle.normalization
    f0 = np.where(rng.random(n_frames) > 0.3, 120 * np.exp(0.2 * rng.standard_normal(n_frames)), 0)
    mcep = norm.mcep_mean + norm.mcep_std * rng.standard_normal((n_frames, len(norm.mcep_mean)))
    bap = norm.bap_mean + norm.bap_std * rng.standard_normal((n_frames, len(norm.bap_mean)))
    return WorldFeatures(f0, mcep, bap)


def test_onnx_runtime_matches_pytorch(tiny_run, tmp_path):
    _, error = export_run(tiny_run, tmp_path / "bundle")
    assert error <= 1e-4


def test_bundle_describes_itself(tiny_bundle):
    bundle = load_bundle(tiny_bundle)
    assert bundle.features.sample_rate == 24000 and bundle.features.frame_period_ms == 5.0
    assert bundle.emotions == ("calm", "happy", "sad", "angry", "fearful", "disgust", "surprised")
    assert bundle.intensity_scale == {"normal": 0.5, "strong": 1.0}
    assert bundle.lookahead_frames == 2
    assert bundle.prosody["happy"]["strong"].delta_lf0 > 0  # espeak 'happy' is pitched up
    assert bundle.prosody["angry"]["strong"].sigma_ratio == 1.0  # no data: no shift
    assert "angry/strong" in bundle.metadata["training"]["domains_without_data"]
    assert "CC BY-NC-SA 4.0" in bundle.licence
    assert bundle.metadata["training"]["valid_speakers"] == ["RAVDESS_04"]
    assert bundle.metadata["training"]["dev_speakers"] == ["RAVDESS_03"]
    assert bundle.normalization.speaker_mcep  # trained on spectra relative to the speaker's


def test_whole_utterance_equals_streamed_frames(tiny_bundle):
    bundle = load_bundle(tiny_bundle)
    frames = random_frames(bundle, 240)
    whole, streamed = OnnxConverter(bundle), OnnxConverter(bundle)
    for converter in (whole, streamed):
        converter.set_condition(np.array([0, 1.0, 0, 0, 0, 0, 0]))
    expected = whole.process(frames, SPEAKER)
    pieces, start, rng = [], 0, np.random.default_rng(0)
    while start < frames.n_frames:
        n = int(rng.integers(1, 12))
        pieces.append(streamed.process(frames.slice(start, start + n), SPEAKER))
        start += n
    for name in ("mcep", "bap", "lf0_residual"):
        np.testing.assert_allclose(np.concatenate([getattr(p, name) for p in pieces]),
                                   getattr(expected, name), atol=1e-4)
    assert np.abs(expected.mcep).max() > 0


def test_zero_condition_and_identity_converter_change_nothing(tiny_bundle):
    bundle = load_bundle(tiny_bundle)
    frames = random_frames(bundle, 50, seed=1)
    for converter in (OnnxConverter(bundle), IdentityConverter(36, 3, 2)):
        changes = converter.process(frames, SPEAKER)
        for name in ("mcep", "bap", "lf0_residual"):
            assert np.abs(getattr(changes, name)).max() < 1e-6, (converter, name)


def _broken_copy(tiny_bundle, tmp_path, edit_metadata=None, model_bytes=None, keep_sha=False):
    path = tmp_path / "broken"
    shutil.copytree(tiny_bundle, path)
    metadata = json.loads((path / "metadata.json").read_text())
    if edit_metadata:
        edit_metadata(metadata)
    if model_bytes is not None:
        (path / "model.onnx").write_bytes(model_bytes)
        if not keep_sha:
            metadata["model_sha256"] = hashlib.sha256(model_bytes).hexdigest()
    (path / "metadata.json").write_text(json.dumps(metadata))
    return path


def _set(section, key, value):
    return lambda m: m[section].update({key: value})


@pytest.mark.parametrize("edit, message", [
    (lambda m: m.update(format_version=FORMAT_VERSION + 1),
     f"format_version is {FORMAT_VERSION + 1}, this rtconvert reads version {FORMAT_VERSION}"),
    (lambda m: m.update(format_version=1), "format_version is 1, .* re-export the model"),
    (lambda m: m.update(format="something-else"), "not an rtconvert bundle"),
    (_set("normalization", "mcep_mean", [0.0] * 24),
     r"mcep_mean has shape \(24,\), expected \(36,\)"),
    (_set("normalization", "mcep_std", [0.0] * 36), "mcep_std has values <= 0"),
    (_set("normalization", "c0_scale", float("nan")), "c0_scale is nan, expected a finite"),
    (lambda m: m["prosody"].pop("sad"), "prosody.sad is missing: the emotion has no prosody"),
    (lambda m: m["prosody"]["sad"]["strong"].update(sigma_ratio=0.0), "sigma_ratio is 0.0"),
    (lambda m: m["prosody"]["sad"]["strong"].update(sigma_ratio=-1), "sigma_ratio is -1.0"),
    (lambda m: m["prosody"]["sad"]["normal"].update(delta_lf0=float("inf")), "delta_lf0 is inf"),
    (lambda m: m.update(emotions=["happy", "sad", "happy", "a", "b", "c", "d"]),
     "names an emotion twice"),
    (lambda m: m.update(emotions=["neutral", "sad", "happy", "a", "b", "c", "d"]),
     "lists 'neutral'"),
    (_set("model", "n_emotions", 5),
     "n_emotions is 5, but the feature configuration and emotion list need 7"),
    (_set("model", "lookahead_frames", -3), r"lookahead_frames is -3, expected 0..8"),
    (_set("model", "lookahead_frames", 9), r"lookahead_frames is 9, expected 0..8"),
    (_set("model", "state_size", 10), "tensor state has size"),
    (_set("feature_config", "sample_rate", 1000), "feature_config: sample_rate is 1000"),
    (_set("feature_config", "sample_rate", 16000), "n_inputs is 41, but .* need 39"),
    (lambda m: m["intensity_scale"].update(strong=0), r"intensity_scale.strong is 0.0, expected"),
    (lambda m: m.pop("license"), "metadata.license is missing"),
    (_set("model", "n_inputs", "41"), "n_inputs is .41., expected int"),
    (_set("normalization", "speaker_mcep", "yes"), "speaker_mcep is 'yes', expected bool"),
])
def test_bad_metadata_names_the_field(tiny_bundle, tmp_path, edit, message):
    with pytest.raises(BundleError, match=message):
        load_bundle(_broken_copy(tiny_bundle, tmp_path, edit))


def test_missing_files(tiny_bundle, tmp_path):
    for name in ("model.onnx", "metadata.json"):
        path = tmp_path / name
        shutil.copytree(tiny_bundle, path)
        (path / name).unlink()
        with pytest.raises(BundleError, match=f"{name} is missing"):
            load_bundle(path)
    with pytest.raises(BundleError, match="no such folder"):
        load_bundle(tmp_path / "absent")


def test_corrupt_graph(tiny_bundle, tmp_path):
    truncated = (tiny_bundle / "model.onnx").read_bytes()[:5000]
    with pytest.raises(BundleError, match="does not match metadata.model_sha256"):
        load_bundle(_broken_copy(tiny_bundle, tmp_path / "a", model_bytes=truncated, keep_sha=True))
    with pytest.raises(BundleError, match="ONNX Runtime cannot load the graph"):
        load_bundle(_broken_copy(tiny_bundle, tmp_path / "b", model_bytes=truncated))


def test_unparsable_metadata(tiny_bundle, tmp_path):
    path = tmp_path / "bad-json"
    shutil.copytree(tiny_bundle, path)
    (path / "metadata.json").write_text("{not json")
    with pytest.raises(BundleError, match="metadata.json is not valid JSON"):
        load_bundle(path)


RUN_WITHOUT_TORCH = BLOCK_TORCH + """
import numpy as np
from rtconvert.bundle import load_bundle
from rtconvert.settings import Settings
from rtconvert.engine.engine import Engine
from rtconvert.offline.fileconvert import convert_signal
bundle = load_bundle(sys.argv[1])
t = np.arange(24000) / 24000
voice = 0.1 * sum(np.sin(2 * np.pi * 140 * k * t) / k for k in range(1, 20))
settings = Settings(emotion=bundle.emotions[1], intensity=1.0)
out = convert_signal(Engine(bundle, 24000, settings), voice)
assert out.shape == voice.shape and np.isfinite(out).all()
assert "torch" not in sys.modules
print("ok")
"""


@pytest.mark.parametrize("which", ["tiny", "balanced", "low"])
def test_bundle_runs_without_torch(request, which):
    # A shipped bundle must be there: a missing one fails here.
    path = request.getfixturevalue("tiny_bundle") if which == "tiny" else default_bundle_path(which)
    result = subprocess.run([sys.executable, "-c", RUN_WITHOUT_TORCH, str(path)],
                            capture_output=True, text=True, check=False)
    assert result.returncode == 0 and result.stdout.strip() == "ok", result.stderr
