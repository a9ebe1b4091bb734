"""Export: ONNX parity with PyTorch, bundle validation, and running without torch."""

import json
import shutil
import subprocess
import sys

import numpy as np
import pytest

from helpers import BLOCK_TORCH

from export.onnx_export import export_run
from rtconvert.bundle import FORMAT_VERSION, load_bundle
from rtconvert.errors import BundleError
from rtconvert.model import IdentityConverter, OnnxConverter, convert_utterance


def test_onnx_runtime_matches_pytorch(tiny_run, tmp_path):
    _, error = export_run(tiny_run, tmp_path / "bundle")
    assert error <= 1e-4


def test_bundle_describes_itself(tiny_bundle):
    bundle = load_bundle(tiny_bundle)
    assert bundle.features.sample_rate == 24000 and bundle.features.frame_period_ms == 5.0
    assert bundle.emotions == ("calm", "happy", "sad", "angry", "fearful", "disgust", "surprised")
    assert bundle.lookahead_frames == 2
    assert bundle.prosody["happy"]["strong"].delta_lf0 > 0  # espeak 'happy' is pitched up
    assert bundle.prosody["angry"]["strong"].sigma_ratio == 1.0  # no data: no shift
    assert "angry/strong" in bundle.metadata["training"]["domains_without_data"]
    assert "CC BY-NC-SA 4.0" in bundle.licence
    assert bundle.metadata["training"]["valid_speakers"] == ["RAVDESS_03", "RAVDESS_04"]


def test_whole_utterance_equals_streamed_frames(tiny_bundle):
    bundle = load_bundle(tiny_bundle)
    rng = np.random.default_rng(0)
    mcep = bundle.mcep_mean + bundle.mcep_std * rng.standard_normal((240, 36))
    whole, streamed = OnnxConverter(bundle), OnnxConverter(bundle)
    for converter in (whole, streamed):
        converter.set_condition(np.array([0, 1.0, 0, 0, 0, 0, 0]))
    expected = whole.process(mcep)
    pieces, start = [], 0
    while start < len(mcep):
        n = int(rng.integers(1, 12))
        pieces.append(streamed.process(mcep[start:start + n]))
        start += n
    np.testing.assert_allclose(np.concatenate(pieces), expected, atol=1e-4)


def test_zero_condition_and_identity_converter_return_the_input(tiny_bundle):
    bundle = load_bundle(tiny_bundle)
    mcep = np.random.default_rng(1).standard_normal((50, 36))
    converter = OnnxConverter(bundle)
    np.testing.assert_allclose(convert_utterance(converter, mcep), mcep, atol=1e-6)
    np.testing.assert_array_equal(convert_utterance(IdentityConverter(36, 2), mcep), mcep)


def _broken_copy(tiny_bundle, tmp_path, edit_metadata=None, model_bytes=None, keep_sha=False):
    path = tmp_path / "broken"
    shutil.copytree(tiny_bundle, path)
    metadata = json.loads((path / "metadata.json").read_text())
    if edit_metadata:
        edit_metadata(metadata)
    if model_bytes is not None:
        (path / "model.onnx").write_bytes(model_bytes)
        if not keep_sha:
            import hashlib
            metadata["model_sha256"] = hashlib.sha256(model_bytes).hexdigest()
    (path / "metadata.json").write_text(json.dumps(metadata))
    return path


@pytest.mark.parametrize("edit, message", [
    (lambda m: m.update(format_version=FORMAT_VERSION + 1), "format_version is 2, this rtconvert reads version 1"),
    (lambda m: m.update(format="something-else"), "not an rtconvert bundle"),
    (lambda m: m["normalization"].update(mcep_mean=[0.0] * 24), r"mcep_mean has shape \(24,\), expected \(36,\)"),
    (lambda m: m["prosody"].pop("sad"), "metadata.prosody.sad.normal.delta_lf0 is missing"),
    (lambda m: m["model"].update(n_emotions=5), "n_emotions is 5, but 7 emotions"),
    (lambda m: m["model"].update(state_size=10), "input state has size"),
    (lambda m: m["feature_config"].update(sample_rate=1000), "feature_config: sample_rate is 1000"),
    (lambda m: m.pop("license"), "metadata.license is missing"),
    (lambda m: m["model"].update(n_features="35"), "n_features is '35', expected int"),
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
from rtconvert.model import OnnxConverter, convert_utterance
bundle = load_bundle(sys.argv[1])
converter = OnnxConverter(bundle)
converter.set_condition(np.eye(len(bundle.emotions))[1])
out = convert_utterance(converter, np.tile(bundle.mcep_mean, (100, 1)))
assert out.shape == (100, bundle.features.n_mcep) and np.isfinite(out).all()
assert "torch" not in sys.modules
print("ok")
"""


def test_bundle_runs_without_torch(tiny_bundle):
    result = subprocess.run([sys.executable, "-c", RUN_WITHOUT_TORCH, str(tiny_bundle)],
                            capture_output=True, text=True)
    assert result.returncode == 0 and result.stdout.strip() == "ok", result.stderr


@pytest.mark.skipif(not (__import__("rtconvert.bundle").bundle.default_bundle_path()
                         / "model.onnx").is_file(), reason="no default model shipped yet")
def test_default_bundle_runs_without_torch():
    from rtconvert.bundle import default_bundle_path

    result = subprocess.run([sys.executable, "-c", RUN_WITHOUT_TORCH, str(default_bundle_path())],
                            capture_output=True, text=True)
    assert result.returncode == 0 and result.stdout.strip() == "ok", result.stderr
