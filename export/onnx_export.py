"""Export a training run's generator as an rtconvert bundle (ONNX graph + validated metadata).

Usage::

    rtconvert-export --run-dir runs/default --output rtconvert/models/default

The graph is the generator's streaming step (``training.models.Generator.step``): new
frames laid out as ``rtconvert.modelio`` says, the condition and the convolution state
in; the frame changes and the next state out. Whole-utterance inference is the same
graph with all frames at once and a zero state. The generator exported is the one with
the best validation score (the last one if the run never validated). After writing, the
bundle is loaded back through ``rtconvert.bundle`` and ONNX Runtime is checked against
PyTorch (max abs error <= 1e-4).
"""

from __future__ import annotations

import argparse
import io
import json
import sys
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import nn

from rtconvert.bundle import GRAPH_INPUTS, GRAPH_OUTPUTS, load_bundle, write_bundle
from rtconvert.cli.entry import ArgumentParser, existing_file, existing_folder, run_command
from rtconvert.config import FeatureConfig
from rtconvert.errors import BundleError, ConfigError
from rtconvert.modelio import Layout
from rtconvert.onnx_session import open_session
from training.checkpoint import CHECKPOINT_NAME, best_generator, load_checkpoint
from training.models import Generator
from training.prepare import STATS_NAME
from training.train import build_generator

OPSET = 17
PARITY_TOLERANCE = 1e-4
RAVDESS_LICENCE = (
    "Trained on RAVDESS (Livingstone & Russo 2018, PLoS ONE 13(5): e0196391), released under "
    "CC BY-NC-SA 4.0: this model inherits its non-commercial, share-alike terms.")


class _Step(nn.Module):
    """The exported signature: (mcep, condition, state) -> (delta, next_state)."""

    def __init__(self, generator: Generator) -> None:
        super().__init__()
        self.generator = generator

    def forward(self, mcep, condition, state):
        return self.generator.step(mcep, condition, state)


def onnx_bytes(generator: Generator) -> bytes:
    """The generator's step as an ONNX graph (opset 17, any number of frames)."""
    generator.eval()
    example = (torch.zeros(1, generator.n_inputs, 4), torch.zeros(1, generator.n_emotions),
               generator.initial_state())
    buffer = io.BytesIO()
    torch.onnx.export(_Step(generator), example, buffer, input_names=list(GRAPH_INPUTS),
                      output_names=list(GRAPH_OUTPUTS), opset_version=OPSET,
                      dynamic_axes={"features": {2: "n_frames"}, "delta": {2: "n_frames"}},
                      dynamo=False)
    return buffer.getvalue()


def bundle_metadata(generator: Generator, stats: dict[str, Any], config: dict[str, Any],
                    step: int, licence: str) -> dict[str, Any]:
    """Everything the runtime needs besides the graph (see rtconvert.bundle)."""
    emotions, scale = config["data"]["emotions"], config["data"]["intensity_scale"]
    # An emotion or intensity the training data lacks gets no prosody shift, and is listed.
    unshifted = {"delta_lf0": 0.0, "sigma_ratio": 1.0, "delta_c0_db": 0.0}
    prosody = {e: {i: {k: stats["prosody"].get(e, {}).get(i, unshifted)[k] for k in unshifted}
                   for i in scale} for e in emotions}
    missing = [f"{e}/{i}" for e in emotions for i in scale
               if i not in stats["prosody"].get(e, {})]
    prior = stats["lf0_prior"]["all"]
    return {
        "name": Path(config.get("name", "model")).name,
        "created": datetime.now(timezone.utc).isoformat(timespec="seconds"),
        "feature_config": stats["feature_config"],
        "emotions": list(emotions),
        "intensity_scale": dict(scale),
        "latency_profile": config["data"]["profile"],
        "denoise": config["data"].get("denoise", False),  # runs from before it: none
        "model": {"n_inputs": generator.n_inputs, "n_outputs": generator.n_outputs,
                  "n_emotions": generator.n_emotions, "lookahead_frames": generator.lookahead,
                  "receptive_field_frames": generator.receptive_field,
                  "state_size": generator.state_size, "opset": OPSET,
                  "n_parameters": sum(p.numel() for p in generator.parameters()),
                  "generator_params": config["generator_params"]},
        "normalization": {**{k: stats[k] for k in ("mcep_mean", "mcep_std", "bap_mean",
                                                    "bap_std", "c0_scale")},
                          "speaker_mcep": config["data"]["speaker_mcep"]},
        "prosody": prosody,
        "lf0_prior": {"mean": prior["mean"], "std": prior["std"]},
        "c0_prior": stats["c0_prior"],
        "training": {"speakers": stats["speakers"], "n_utterances": stats["n_utterances"],
                     "valid_speakers": stats.get("valid_speakers", []),
                     "dev_speakers": stats.get("dev_speakers", []),
                     "sentences": config["data"].get("sentences"), "steps": step,
                     "domains_without_data": missing,
                     "data": config["data"], "loss": config["loss"], "train": config["train"]},
        "license": licence,
    }


def parity_error(generator: Generator, bundle_path: Path, n_frames: int = 300,
                 seed: int = 0) -> float:
    """Max abs difference between PyTorch's whole-sequence output and ONNX Runtime stepped
    through uneven chunks with its state, on random inputs."""
    bundle = load_bundle(bundle_path)
    rng = np.random.default_rng(seed)
    x = rng.standard_normal((1, generator.n_inputs, n_frames)).astype(np.float32)
    condition = np.zeros((1, generator.n_emotions), dtype=np.float32)
    condition[0, min(1, generator.n_emotions - 1)] = 0.8
    with torch.no_grad():
        expected = generator(torch.from_numpy(x), torch.from_numpy(condition))[0].numpy()
    session = open_session(bundle.model_path)
    state = np.zeros((1, bundle.state_size), dtype=np.float32)
    future = np.repeat(x[:, :, -1:], generator.lookahead, axis=2)
    stream, pieces, start = np.concatenate([x, future], axis=2), [], 0
    while start < stream.shape[2]:
        n = int(rng.integers(1, 12))
        delta, state = session.run(None, {"features": stream[:, :, start:start + n],
                                          "condition": condition, "state": state})
        pieces.append(delta[0])
        start += n
    streamed = np.concatenate(pieces, axis=1)[:, generator.lookahead:]
    return float(np.max(np.abs(streamed - expected)))


def export_run(run_dir: Path, output: Path, licence: str = RAVDESS_LICENCE) -> tuple[Path, float]:
    """Export ``run_dir``'s best generator as a bundle at ``output``; returns the parity error."""
    state = load_checkpoint(run_dir / CHECKPOINT_NAME)
    config = state["config"]
    stats = json.loads((run_dir / STATS_NAME).read_text())
    features = FeatureConfig.from_dict(stats["feature_config"])
    generator = build_generator(config, Layout(features.n_mcep, features.n_bap))
    step, weights = best_generator(state)
    generator.load_state_dict(weights)
    generator.eval()
    metadata = bundle_metadata(generator, stats, {**config, "name": output.name}, step, licence)
    write_bundle(output, onnx_bytes(generator), metadata)
    error = parity_error(generator, output)
    if error > PARITY_TOLERANCE:
        raise BundleError(f"{output}: ONNX Runtime differs from PyTorch by {error:.2e} "
                           f"(> {PARITY_TOLERANCE})")
    return output, error


def main(argv: list[str] | None = None) -> int:
    parser = ArgumentParser(prog="rtconvert-export", description=__doc__,
                            formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--run-dir", type=Path, required=True)
    parser.add_argument("--output", type=Path, required=True, help="bundle folder to write")
    args = parser.parse_args(argv)
    existing_folder(args.run_dir, "--run-dir")
    for name in (CHECKPOINT_NAME, STATS_NAME):
        existing_file(args.run_dir / name, f"--run-dir {args.run_dir} is not a training run:")
    if args.output.exists() and not args.output.is_dir():
        raise ConfigError(f"--output {args.output}: is a file, expected a bundle folder")
    path, error = export_run(args.run_dir, args.output)
    size = sum(f.stat().st_size for f in path.iterdir())
    print(f"{path}: {size / 1e6:.2f} MB, ONNX Runtime vs PyTorch max abs error {error:.1e}")
    return 0


if __name__ == "__main__":  # python -m, as the console script: one error path
    sys.exit(run_command("rtconvert-export", main))
