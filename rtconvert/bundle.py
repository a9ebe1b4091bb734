"""The model bundle: an ONNX generator plus the metadata the runtime needs, validated on load.

A bundle is a folder holding ``model.onnx`` and ``metadata.json``. ``export/`` writes
it through :func:`write_bundle`; everything else reads it through :func:`load_bundle`,
which names the file, the field, what it expected and what it found when a bundle is
wrong.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import Any

import numpy as np

from .config import FeatureConfig
from .errors import BundleError, ConfigError

FORMAT = "rtconvert-bundle"
FORMAT_VERSION = 1
MODEL_FILE = "model.onnx"
METADATA_FILE = "metadata.json"
INTENSITIES = ("normal", "strong")
#: Names of the ONNX graph's inputs and outputs (see training.models.Generator.step).
GRAPH_INPUTS = ("mcep", "condition", "state")
GRAPH_OUTPUTS = ("delta", "next_state")


@dataclass(frozen=True)
class ProsodyShift:
    """An emotion's speaker-relative shift at one corpus intensity."""

    delta_lf0: float  # mean log-F0 shift, natural log units
    sigma_ratio: float  # log-F0 standard deviation ratio
    delta_c0_db: float  # energy shift of voiced frames in dB


@dataclass(frozen=True)
class Bundle:
    """A loaded, validated model bundle."""

    path: Path
    metadata: dict[str, Any]
    features: FeatureConfig
    emotions: tuple[str, ...]  # order of the generator's condition vector
    mcep_mean: np.ndarray  # (n_mcep,)
    mcep_std: np.ndarray  # (n_mcep,)
    prosody: dict[str, dict[str, ProsodyShift]]  # emotion -> intensity -> shift
    intensity_scale: dict[str, float]  # corpus intensity -> the generator's intensity
    lf0_prior: tuple[float, float]  # neutral log-F0 mean and std of an average speaker
    lookahead_frames: int
    state_size: int
    first_coefficient: int  # the generator converts mcep[:, first_coefficient:]

    @property
    def model_path(self) -> Path:
        return self.path / MODEL_FILE

    @property
    def licence(self) -> str:
        return self.metadata["license"]


def default_bundle_path() -> Path:
    """The bundle shipped inside the package."""
    return Path(str(resources.files("rtconvert") / "models" / "default"))


def _sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def write_bundle(directory: str | Path, onnx_bytes: bytes, metadata: dict[str, Any]) -> Path:
    """Write a bundle folder; adds format, version and the graph's checksum to the metadata."""
    directory = Path(directory)
    directory.mkdir(parents=True, exist_ok=True)
    (directory / MODEL_FILE).write_bytes(onnx_bytes)
    full = {"format": FORMAT, "format_version": FORMAT_VERSION, **metadata,
            "model_sha256": hashlib.sha256(onnx_bytes).hexdigest()}
    (directory / METADATA_FILE).write_text(json.dumps(full, indent=1))
    return directory


class _Reader:
    """Typed access to metadata fields with messages that name the bundle and the field."""

    def __init__(self, name: str, data: dict[str, Any]) -> None:
        self.name, self.data = name, data

    def get(self, dotted: str, kind: type | tuple[type, ...]) -> Any:
        node: Any = self.data
        for part in dotted.split("."):
            if not isinstance(node, dict) or part not in node:
                raise BundleError(f"bundle {self.name}: metadata.{dotted} is missing")
            node = node[part]
        if not isinstance(node, kind) or isinstance(node, bool) and kind is not bool:
            raise BundleError(f"bundle {self.name}: metadata.{dotted} is {node!r}, "
                              f"expected {getattr(kind, '__name__', kind)}")
        return node

    def vector(self, dotted: str, length: int) -> np.ndarray:
        values = np.asarray(self.get(dotted, list), dtype=np.float64)
        if values.shape != (length,) or not np.isfinite(values).all():
            raise BundleError(f"bundle {self.name}: metadata.{dotted} has shape {values.shape}, "
                              f"expected ({length},) finite numbers")
        return values


def load_bundle(path: str | Path | None = None, check_graph: bool = True) -> Bundle:
    """Load and validate a bundle folder (the shipped default if ``path`` is None).

    Raises
    ------
    BundleError
        If a file is missing, the metadata is malformed or of another format version,
        a field is missing or inconsistent, the checksum differs, or the ONNX graph does
        not load or does not have the inputs and outputs the metadata describes.
    """
    path = Path(path) if path is not None else default_bundle_path()
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
    if not isinstance(metadata, dict) or metadata.get("format") != FORMAT:
        raise BundleError(f"bundle {name}: {METADATA_FILE} is not an rtconvert bundle "
                          f"(metadata.format is {metadata.get('format') if isinstance(metadata, dict) else None!r})")
    read = _Reader(name, metadata)
    version = read.get("format_version", int)
    if version != FORMAT_VERSION:
        raise BundleError(f"bundle {name}: metadata.format_version is {version}, this rtconvert "
                          f"reads version {FORMAT_VERSION}; re-export the model")
    try:
        features = FeatureConfig.from_dict(read.get("feature_config", dict))
    except (ConfigError, TypeError) as exc:
        raise BundleError(f"bundle {name}: metadata.feature_config: {exc}") from exc
    emotions = tuple(read.get("emotions", list))
    n_features = read.get("model.n_features", int)
    first = read.get("model.first_coefficient", int)
    if first + n_features != features.n_mcep:
        raise BundleError(f"bundle {name}: metadata.model converts {n_features} coefficients "
                          f"from c{first}, but feature_config.n_mcep is {features.n_mcep}")
    if read.get("model.n_emotions", int) != len(emotions):
        raise BundleError(f"bundle {name}: metadata.model.n_emotions is "
                          f"{metadata['model']['n_emotions']}, but {len(emotions)} emotions are listed")
    prosody = {e: {i: ProsodyShift(float(read.get(f"prosody.{e}.{i}.delta_lf0", (int, float))),
                                   float(read.get(f"prosody.{e}.{i}.sigma_ratio", (int, float))),
                                   float(read.get(f"prosody.{e}.{i}.delta_c0_db", (int, float))))
                   for i in INTENSITIES} for e in emotions}
    scale = {i: float(read.get(f"intensity_scale.{i}", (int, float))) for i in INTENSITIES}
    if not 0.0 < scale[INTENSITIES[0]] < scale[INTENSITIES[1]] <= 1.0:
        raise BundleError(f"bundle {name}: metadata.intensity_scale is {scale}, expected "
                          f"0 < {INTENSITIES[0]} < {INTENSITIES[1]} <= 1")
    bundle = Bundle(
        path=path, metadata=metadata, features=features, emotions=emotions,
        mcep_mean=read.vector("normalization.mcep_mean", features.n_mcep),
        mcep_std=read.vector("normalization.mcep_std", features.n_mcep),
        prosody=prosody, intensity_scale=scale,
        lf0_prior=(float(read.get("lf0_prior.mean", float)), float(read.get("lf0_prior.std", float))),
        lookahead_frames=read.get("model.lookahead_frames", int),
        state_size=read.get("model.state_size", int), first_coefficient=first)
    read.get("license", str)
    if np.any(bundle.mcep_std <= 0):
        raise BundleError(f"bundle {name}: metadata.normalization.mcep_std has non-positive values")
    checksum = read.get("model_sha256", str)
    if _sha256(bundle.model_path) != checksum:
        raise BundleError(f"bundle {name}: {MODEL_FILE} does not match metadata.model_sha256 "
                          "(the graph was changed or truncated)")
    if check_graph:
        _check_graph(bundle, n_features)
    return bundle


def _check_graph(bundle: Bundle, n_features: int) -> None:
    """The ONNX graph loads in ONNX Runtime and has the inputs/outputs the metadata says."""
    from .model import open_session

    session = open_session(bundle.model_path)
    inputs = {i.name: i.shape for i in session.get_inputs()}
    outputs = {o.name for o in session.get_outputs()}
    name = str(bundle.path)
    if tuple(inputs) != GRAPH_INPUTS or not set(GRAPH_OUTPUTS) <= outputs:
        raise BundleError(f"bundle {name}: {MODEL_FILE} has inputs {list(inputs)} and outputs "
                          f"{sorted(outputs)}, expected {list(GRAPH_INPUTS)} and {list(GRAPH_OUTPUTS)}")
    expected = {"mcep": n_features, "condition": len(bundle.emotions), "state": bundle.state_size}
    for input_name, size in expected.items():
        found = inputs[input_name][1]
        if found != size:
            raise BundleError(f"bundle {name}: {MODEL_FILE} input {input_name} has size {found} "
                              f"on axis 1, metadata says {size}")
