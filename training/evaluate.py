"""Evaluate a model bundle on the validation speakers against real emotional takes.

Usage::

    rtconvert-evaluate --bundle rtconvert/models/default --root ../shared/data -o eval.md

For each validation speaker, every neutral take is converted to every emotion at
intensity 1 and compared with the same speaker's real strong takes of the same sentence:
mel-cepstral distortion of the features the pipeline synthesises from (DTW-aligned,
c0 excluded, ``10/ln10 * sqrt(2 * sum)``), log-F0 RMSE in cents on frames voiced in
both, and the
accuracy of a speech-emotion classifier (softmax regression on utterance statistics,
trained on the training speakers' real takes) on the re-analysed synthesised audio. The same numbers are given for the
unconverted source ("zero effort") and for an F0-only baseline (WORLD resynthesis with
only the log-F0 mean/std moved, spectrum untouched).
"""

from __future__ import annotations

import argparse
import sys
from collections import defaultdict
from pathlib import Path

import numpy as np

from rtconvert.audiofile import load_audio
from rtconvert.bundle import Bundle, load_bundle
from rtconvert.features import WorldFeatures, analyze, synthesize
from rtconvert.model import OnnxConverter, convert_utterance
from rtconvert.prosody import CENTS_PER_LOG, log_f0_stats, shift_log_f0, voiced_log_f0

from .corpus import Utterance
from .dataset import dtw_path
from .index import corpus_folders, resolve, scan
from .stats import speech_mask
from .validate import MCD_SCALE

N_CLASSIFIER_CEPSTRA = 16


def utterance_features(features: WorldFeatures) -> np.ndarray:
    """Classifier input: log-F0 mean/std, voicing rate, mean/std of c1..c16 over voiced frames."""
    voiced = features.f0_hz > 0
    lf0 = np.log(features.f0_hz[voiced]) if voiced.sum() > 1 else np.zeros(2)
    mcep = features.mcep[voiced if voiced.sum() > 1 else slice(None), 1:1 + N_CLASSIFIER_CEPSTRA]
    return np.concatenate([[lf0.mean(), lf0.std(), voiced.mean()], mcep.mean(0), mcep.std(0)])


class SoftmaxClassifier:
    """Multinomial logistic regression on standardised features, trained by gradient descent."""

    def fit(self, x: np.ndarray, labels: list[str], steps: int = 3000, lr: float = 0.5,
            l2: float = 1e-3) -> "SoftmaxClassifier":
        self.classes = sorted(set(labels))
        y = np.array([self.classes.index(label) for label in labels])
        self.mean, self.std = x.mean(0), x.std(0) + 1e-9
        z = (x - self.mean) / self.std
        self.w = np.zeros((z.shape[1], len(self.classes)))
        self.b = np.zeros(len(self.classes))
        onehot = np.eye(len(self.classes))[y]
        for _ in range(steps):
            p = self._probabilities(z)
            self.w -= lr * (z.T @ (p - onehot) / len(z) + l2 * self.w)
            self.b -= lr * (p - onehot).mean(0)
        return self

    def _probabilities(self, z: np.ndarray) -> np.ndarray:
        logits = z @ self.w + self.b
        e = np.exp(logits - logits.max(1, keepdims=True))
        return e / e.sum(1, keepdims=True)

    def predict(self, x: np.ndarray) -> list[str]:
        p = self._probabilities((x - self.mean) / self.std)
        return [self.classes[i] for i in p.argmax(1)]


def shifted_f0(f0_hz: np.ndarray, bundle: Bundle, emotion: str) -> np.ndarray:
    """The source F0 moved by the emotion's strong shift, relative to the utterance's own stats."""
    voiced = f0_hz > 0
    stats = log_f0_stats(voiced_log_f0(f0_hz))
    shift = bundle.prosody[emotion]["strong"]
    lf0 = shift_log_f0(np.log(np.maximum(f0_hz, 1e-3)), voiced, stats, shift.delta_lf0,
                       shift.sigma_ratio, 1.0)
    return np.where(voiced, np.exp(lf0), 0.0)


def compare(converted: WorldFeatures, target: WorldFeatures) -> tuple[float, float]:
    """MCD (dB) and log-F0 RMSE (cents) after DTW alignment on c1.."""
    path = dtw_path(converted.mcep[:, 1:], target.mcep[:, 1:])
    a, b = converted.mcep[path[:, 0], 1:], target.mcep[path[:, 1], 1:]
    mcd = float(np.mean(MCD_SCALE * np.sqrt(np.sum((a - b) ** 2, axis=1))))
    fa, fb = converted.f0_hz[path[:, 0]], target.f0_hz[path[:, 1]]
    both = (fa > 0) & (fb > 0)
    rmse = float(np.sqrt(np.mean((np.log(fa[both] / fb[both]) * CENTS_PER_LOG) ** 2)))
    return mcd, rmse


def _trim(features: WorldFeatures) -> WorldFeatures:
    """Leading and trailing silence off, so that DTW aligns speech with speech."""
    speech = np.flatnonzero(speech_mask(features.mcep[:, 0]))
    return features.slice(max(0, speech[0] - 5), speech[-1] + 6)


def evaluate(bundle: Bundle, root: Path) -> str:
    config = bundle.features
    utterances = [u for u in scan(root)[0] if u.corpus == "RAVDESS"]
    valid = set(bundle.metadata["training"]["valid_speakers"])
    folders = corpus_folders(root)
    cache: dict[str, WorldFeatures] = {}

    def features_of(u: Utterance) -> WorldFeatures:
        if u.filepath not in cache:
            audio = load_audio(resolve(root, u.filepath, folders), config.sample_rate)
            cache[u.filepath] = analyze(audio.samples, config)
        return cache[u.filepath]

    train_rows = [u for u in utterances if u.speaker not in valid]
    classifier = SoftmaxClassifier().fit(
        np.stack([utterance_features(features_of(u)) for u in train_rows]),
        [u.emotion for u in train_rows])
    valid_rows = [u for u in utterances if u.speaker in valid]
    real_accuracy = np.mean([p == u.emotion for u, p in zip(valid_rows, classifier.predict(
        np.stack([utterance_features(features_of(u)) for u in valid_rows])))])

    results: dict[str, dict[str, list]] = defaultdict(lambda: defaultdict(list))
    converter = OnnxConverter(bundle)
    for source in [u for u in valid_rows if u.emotion == "neutral"]:
        src = features_of(source)
        for emotion in bundle.emotions:
            converter.reset()
            converter.set_condition(np.eye(len(bundle.emotions))[bundle.emotions.index(emotion)])
            f0 = shifted_f0(src.f0_hz, bundle, emotion)
            systems = {
                "zero_effort": src,
                "f0_only": WorldFeatures(f0, src.mcep, src.bap),
                "converted": WorldFeatures(f0, convert_utterance(converter, src.mcep), src.bap),
            }
            for name, feats in systems.items():
                # The classifier hears the audio: it gets the re-analysed resynthesis.
                heard = feats if name == "zero_effort" else analyze(synthesize(feats, config),
                                                                     config)
                predicted = classifier.predict(utterance_features(heard)[None])[0]
                results[emotion][f"{name}_hit"].append(predicted == emotion)
                targets = [u for u in valid_rows if u.speaker == source.speaker
                           and u.sentence == source.sentence and u.emotion == emotion
                           and u.intensity == 3]
                for target in targets:
                    mcd, rmse = compare(_trim(feats), _trim(features_of(target)))
                    results[emotion][f"{name}_mcd"].append(mcd)
                    results[emotion][f"{name}_f0"].append(rmse)
    return format_report(results, real_accuracy, sorted(valid))


def format_report(results, real_accuracy: float, speakers: list[str]) -> str:
    names = ("zero_effort", "f0_only", "converted")
    lines = [f"Validation speakers: {', '.join(speakers)}. Classifier accuracy on their real "
             f"speech (8 classes incl. neutral): {100 * real_accuracy:.1f} %.", "",
             "| emotion | MCD dB zero / F0-only / converted | log-F0 RMSE cents zero / F0-only / "
             "converted | classifier hit % zero / F0-only / converted |",
             "|---|---|---|---|"]
    means = defaultdict(list)
    for emotion, r in results.items():
        cells = []
        for metric, fmt, scale in (("mcd", "{:.2f}", 1), ("f0", "{:.0f}", 1), ("hit", "{:.0f}", 100)):
            values = [scale * float(np.mean(r[f"{n}_{metric}"])) for n in names]
            for n, v in zip(names, values):
                means[(n, metric)].append(v)
            cells.append(" / ".join(fmt.format(v) for v in values))
        lines.append(f"| {emotion} | " + " | ".join(cells) + " |")
    cells = []
    for metric, fmt in (("mcd", "{:.2f}"), ("f0", "{:.0f}"), ("hit", "{:.0f}")):
        cells.append(" / ".join(fmt.format(np.mean(means[(n, metric)])) for n in names))
    lines.append("| **mean** | " + " | ".join(cells) + " |")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="rtconvert-evaluate", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--bundle", type=Path, default=None, help="default: the shipped model")
    parser.add_argument("--root", type=Path, default=Path("../shared/data"))
    parser.add_argument("-o", "--output", type=Path, default=None)
    args = parser.parse_args(argv)
    report = evaluate(load_bundle(args.bundle), args.root)
    print(report)
    if args.output:
        args.output.write_text(report + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
