"""The model bundle: an ONNX generator plus the metadata the runtime needs, validated on load.

A bundle is a folder holding ``model.onnx`` and ``metadata.json``. ``export/`` writes
it through :func:`write_bundle`; everything else reads it through :func:`load_bundle`,
which names the file, the field, what it expected and what it found when a bundle is
wrong, and checks every value the runtime uses (finite, in range, consistent).
"""

from __future__ import annotations

import hashlib
import json
import math
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from .config import FeatureConfig
from .errors import BundleError, ConfigError
from .files import write_bytes
from .modelio import EmotionShift, Layout, Normalization
from .settings import NEUTRAL  # a model cannot list it among its emotions

if TYPE_CHECKING:
    from .profiles import LatencyProfile

FORMAT = "rtconvert-bundle"
FORMAT_VERSION = 2
MODEL_FILE = "model.onnx"
METADATA_FILE = "metadata.json"
#: Names of the ONNX graph's inputs and outputs (see training.models.Generator.step).
GRAPH_INPUTS = ("features", "condition", "state")
GRAPH_OUTPUTS = ("delta", "next_state")
#: Most future frames a generator may read: each costs a frame period of latency.
MAX_LOOKAHEAD_FRAMES = 8
#: The folder under ``rtconvert/models`` of the bundle shipped for each latency profile:
#: the low-latency model was trained on that profile's analysis and has one frame of lookahead.
SHIPPED_BUNDLES = {"balanced": "default", "low": "low"}


@dataclass(frozen=True)
class Bundle:
    """A loaded, validated model bundle."""

    path: Path
    metadata: dict[str, Any]
    features: FeatureConfig
    emotions: tuple[str, ...]  # order of the generator's condition vector
    normalization: Normalization
    prosody: dict[str, dict[str, EmotionShift]]  # emotion -> corpus intensity -> shift
    intensity_scale: dict[str, float]  # corpus intensity -> the generator's intensity
    lf0_prior: tuple[float, float]  # neutral log-F0 mean and std of an average speaker
    c0_prior: float  # mean voiced energy (c0) of an average speaker
    lookahead_frames: int
    state_size: int
    latency_profile: str  # the profile whose streaming analysis the model was trained on
    denoise: bool = False  # trained on noise-suppressed speech: the engine suppresses noise too

    @property
    def model_path(self) -> Path:
        return self.path / MODEL_FILE

    @property
    def licence(self) -> str:
        return self.metadata["license"]

    @property
    def layout(self) -> Layout:
        return Layout(self.features.n_mcep, self.features.n_bap)


def default_bundle_path(profile: str = "balanced") -> Path:
    """The bundle shipped inside the package for a latency profile (``SHIPPED_BUNDLES``)."""
    return Path(str(resources.files("rtconvert") / "models" / SHIPPED_BUNDLES[profile]))


def load_for_latency(model: str | Path | None, latency: str | None
                     ) -> tuple[Bundle, LatencyProfile]:
    """The bundle a command runs and the latency profile it runs it with.

    ``model`` defaults to the shipped bundle of ``latency`` (``SHIPPED_BUNDLES``);
    ``latency`` defaults to the profile the bundle was trained on. An explicit model
    runs with an explicit profile all the same (the engine reports the latency).
    """
    from .profiles import PROFILES

    bundle = load_bundle(model if model is not None else default_bundle_path(latency or "balanced"))
    return bundle, PROFILES[latency or bundle.latency_profile]


def _sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def write_bundle(directory: str | Path, onnx_bytes: bytes, metadata: dict[str, Any]) -> Path:
    """Write a bundle folder; adds format, version and the graph's checksum to the metadata."""
    directory = Path(directory)
    directory.mkdir(parents=True, exist_ok=True)
    full = {"format": FORMAT, "format_version": FORMAT_VERSION, **metadata,
            "model_sha256": hashlib.sha256(onnx_bytes).hexdigest()}
    write_bytes(directory / MODEL_FILE, onnx_bytes)
    write_bytes(directory / METADATA_FILE, json.dumps(full, indent=1).encode())
    return directory


class _Reader:
    """Typed access to metadata fields with messages that name the bundle and the field."""

    def __init__(self, name: str, data: dict[str, Any]) -> None:
        self.name, self.data = name, data

    def fail(self, dotted: str, problem: str) -> BundleError:
        return BundleError(f"bundle {self.name}: metadata.{dotted} {problem}")

    def get(self, dotted: str, kind: type | tuple[type, ...]) -> Any:
        node: Any = self.data
        for part in dotted.split("."):
            if not isinstance(node, dict) or part not in node:
                raise self.fail(dotted, "is missing")
            node = node[part]
        if not isinstance(node, kind) or isinstance(node, bool) and kind is not bool:
            raise self.fail(dotted, f"is {node!r}, expected {getattr(kind, '__name__', kind)}")
        return node

    def number(self, dotted: str, low: float = -math.inf, high: float = math.inf,
               low_open: bool = False) -> float:
        """A finite number in [low, high] (or (low, high] with ``low_open``)."""
        value = float(self.get(dotted, (int, float)))
        if not math.isfinite(value) or value < low or value > high or (low_open and value == low):
            bound = f"{'(' if low_open else '['}{low}, {high}]"
            raise self.fail(dotted, f"is {value}, expected a finite number in {bound}")
        return value

    def integer(self, dotted: str, low: int, high: int) -> int:
        value = self.get(dotted, int)
        if not low <= value <= high:
            raise self.fail(dotted, f"is {value}, expected {low}..{high}")
        return value

    def vector(self, dotted: str, length: int, positive: bool = False) -> np.ndarray:
        values = np.asarray(self.get(dotted, list), dtype=np.float64)
        if values.shape != (length,) or not np.isfinite(values).all():
            raise self.fail(dotted,
                            f"has shape {values.shape}, expected ({length},) finite numbers")
        if positive and np.any(values <= 0):
            raise self.fail(dotted, "has values <= 0, expected positive numbers")
        return values


def _read_metadata(path: Path) -> dict[str, Any]:
    name = str(path)
    if not path.is_dir():
        raise BundleError(f"bundle {name}: no such folder")
    for required in (METADATA_FILE, MODEL_FILE):
        if not (path / required).is_file():
            raise BundleError(f"bundle {name}: {required} is missing")
    try:
        metadata = json.loads((path / METADATA_FILE).read_text())
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise BundleError(f"bundle {name}: {METADATA_FILE} is not valid JSON ({exc})") from exc
    found = metadata.get("format") if isinstance(metadata, dict) else None
    if found != FORMAT:
        raise BundleError(f"bundle {name}: {METADATA_FILE} is not an rtconvert bundle "
                          f"(metadata.format is {found!r})")
    version = metadata.get("format_version")
    if version != FORMAT_VERSION:
        raise BundleError(f"bundle {name}: metadata.format_version is {version!r}, this "
                          f"rtconvert reads version {FORMAT_VERSION}; re-export the model")
    return metadata


def _emotions(read: _Reader) -> tuple[str, ...]:
    emotions = tuple(read.get("emotions", list))
    if not emotions or not all(isinstance(e, str) and e.strip() for e in emotions):
        raise read.fail("emotions", f"is {list(emotions)}, expected a list of names")
    if len(set(emotions)) != len(emotions):
        raise read.fail("emotions", f"names an emotion twice: {list(emotions)}")
    if NEUTRAL in emotions:
        raise read.fail("emotions", f"lists {NEUTRAL!r}, which means no change")
    return emotions


def _prosody(read: _Reader, emotions: tuple[str, ...], intensities: list[str]
             ) -> dict[str, dict[str, EmotionShift]]:
    prosody = {}
    for emotion in emotions:
        if emotion not in read.get("prosody", dict):
            raise read.fail(f"prosody.{emotion}", "is missing: the emotion has no prosody "
                            "statistics (re-export with statistics that cover it)")
        prosody[emotion] = {i: EmotionShift.measured(
            read.number(f"prosody.{emotion}.{i}.delta_lf0", -2.0, 2.0),
            read.number(f"prosody.{emotion}.{i}.sigma_ratio", 0.0, 10.0, low_open=True),
            read.number(f"prosody.{emotion}.{i}.delta_c0_db", -60.0, 60.0))
            for i in intensities}
    return prosody


def _profile(read: _Reader) -> str:
    from .profiles import PROFILES

    name = read.get("latency_profile", str)
    if name not in PROFILES:
        raise read.fail("latency_profile", f"is {name!r}, expected one of {sorted(PROFILES)}")
    return name


def load_bundle(path: str | Path | None = None, check_graph: bool = True) -> Bundle:
    """Load and validate a bundle folder (the shipped default if ``path`` is None).

    Raises
    ------
    BundleError
        If a file is missing, the metadata is malformed or of another format version,
        a field is missing, out of range or inconsistent, the checksum differs, or the
        ONNX graph does not load or does not have the inputs and outputs the metadata
        describes.
    """
    path = Path(path) if path is not None else default_bundle_path()
    name = str(path)
    read = _Reader(name, _read_metadata(path))
    try:
        features = FeatureConfig.from_dict(read.get("feature_config", dict))
    except (ConfigError, TypeError) as exc:
        raise BundleError(f"bundle {name}: metadata.feature_config: {exc}") from exc
    layout = Layout(features.n_mcep, features.n_bap)
    emotions = _emotions(read)
    for key, expected in (("n_inputs", layout.n_inputs), ("n_outputs", layout.n_outputs),
                          ("n_emotions", len(emotions))):
        if read.get(f"model.{key}", int) != expected:
            raise read.fail(f"model.{key}", f"is {read.get(f'model.{key}', int)}, but the "
                            f"feature configuration and emotion list need {expected}")
    scale = read.get("intensity_scale", dict)
    intensities = sorted(scale, key=lambda i: read.number(f"intensity_scale.{i}", 0, 1, True))
    if not intensities:
        raise read.fail("intensity_scale", "is empty")
    n_mcep, n_bap = features.n_mcep, features.n_bap
    bundle = Bundle(
        path=path, metadata=read.data, features=features, emotions=emotions,
        normalization=Normalization(
            read.vector("normalization.mcep_mean", n_mcep),
            read.vector("normalization.mcep_std", n_mcep, positive=True),
            read.vector("normalization.bap_mean", n_bap),
            read.vector("normalization.bap_std", n_bap, positive=True),
            read.number("normalization.c0_scale", 0.0, 100.0, low_open=True),
            # Absent in bundles from before speaker-relative spectra: the corpus mean.
            "speaker_mcep" in read.get("normalization", dict)
            and read.get("normalization.speaker_mcep", bool)),
        prosody=_prosody(read, emotions, intensities),
        intensity_scale={i: float(scale[i]) for i in intensities},
        lf0_prior=(read.number("lf0_prior.mean", math.log(20), math.log(2000)),
                   read.number("lf0_prior.std", 0.0, 2.0, low_open=True)),
        c0_prior=read.number("c0_prior", -100.0, 100.0),
        lookahead_frames=read.integer("model.lookahead_frames", 0, MAX_LOOKAHEAD_FRAMES),
        state_size=read.integer("model.state_size", 0, 10 ** 8),
        latency_profile=_profile(read),
        # Absent in bundles from before the noise suppressor: trained without it.
        denoise="denoise" in read.data and read.get("denoise", bool))
    read.get("license", str)
    if _sha256(bundle.model_path) != read.get("model_sha256", str):
        raise BundleError(f"bundle {name}: {MODEL_FILE} does not match metadata.model_sha256 "
                          "(the graph was changed or truncated)")
    if check_graph:
        _check_graph(bundle)
    return bundle


def _check_graph(bundle: Bundle) -> None:
    """The ONNX graph loads in ONNX Runtime and has the inputs/outputs the metadata says."""
    from .onnx_session import open_session

    session = open_session(bundle.model_path)
    inputs = {i.name: i.shape for i in session.get_inputs()}
    outputs = {o.name: o.shape for o in session.get_outputs()}
    name = str(bundle.path)
    if tuple(inputs) != GRAPH_INPUTS or not set(GRAPH_OUTPUTS) <= set(outputs):
        raise BundleError(f"bundle {name}: {MODEL_FILE} has inputs {list(inputs)} and outputs "
                          f"{sorted(outputs)}, expected {list(GRAPH_INPUTS)} and "
                          f"{list(GRAPH_OUTPUTS)}")
    layout, shapes = bundle.layout, {**inputs, **outputs}
    expected = {"features": layout.n_inputs, "condition": len(bundle.emotions),
                "state": bundle.state_size, "delta": layout.n_outputs}
    for tensor, size in expected.items():
        found = shapes[tensor][1]
        if found != size:
            raise BundleError(f"bundle {name}: {MODEL_FILE} tensor {tensor} has size {found} "
                              f"on axis 1, the metadata and features need {size}")
