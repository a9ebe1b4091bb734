"""Train the emotion generator from a config file, resuming from the last checkpoint.

Usage::

    rtconvert-train --config training/conf/default.yaml --run-dir runs/default [--set KEY=VALUE ...]
    torchrun --nproc_per_node=4 -m training.train ...   # several GPUs, DistributedDataParallel

Runs on the CPU by default and on a GPU when one is present. Writes to the run folder:
``config.yaml`` (resolved), ``stats.json``, ``checkpoint.pt`` (atomic, every
``checkpoint_every`` steps; it also keeps the generator with the best validation score),
``log.csv``, ``losses.png`` and ``samples/`` (validation audio), each written atomically
(:mod:`rtconvert.files`): a killed run leaves whole files, old or new. Re-running the same
command resumes.
"""

from __future__ import annotations

import argparse
import csv
import os
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np
import torch
import yaml
from torch import distributed
from torch.nn.parallel import DistributedDataParallel
from tqdm import tqdm

from rtconvert.cli.entry import ArgumentParser, run_command
from rtconvert.errors import ConfigError
from rtconvert.files import atomic_output, write_text
from rtconvert.modelio import Layout

from .checkpoint import (
    CHECKPOINT_NAME,
    best_generator,
    load_checkpoint,
    restore_rng_state,
    rng_state,
    save_checkpoint,
)
from .config import load_config
from .dataset import Mixing, mixing_partners, sample_batch
from .losses import (
    classification_loss,
    converted_inputs,
    discriminator_loss,
    generator_adversarial_loss,
    lf0_correlation_loss,
    masked_l1,
    smoothness_loss,
    speech_weights,
    statistics_loss,
)
from .models import Discriminator, EmotionClassifier, Generator
from .prepare import CONFIG_NAME, Data, prepare_data
from .validate import plot_losses, validate

LOSS_NAMES = ("g_parallel", "g_smoothness", "g_statistics", "g_lf0_correlation",
              "g_classification", "g_adversarial", "g_total", "d_loss")


def _distributed() -> tuple[int, int, torch.device]:
    """Rank, world size and device; initialises the process group under torchrun."""
    world_size = int(os.environ.get("WORLD_SIZE", "1"))
    rank = int(os.environ.get("RANK", "0"))
    if torch.cuda.is_available():
        local_rank = int(os.environ.get("LOCAL_RANK", "0"))
        torch.cuda.set_device(local_rank)
        device = torch.device("cuda", local_rank)
    else:
        device = torch.device("cpu")
    if world_size > 1:
        distributed.init_process_group("nccl" if device.type == "cuda" else "gloo")
    return rank, world_size, device


def build_generator(config: dict[str, Any], layout: Layout) -> Generator:
    """The generator a config describes; its input and output sizes follow the features."""
    return Generator(layout.n_inputs, layout.n_outputs, len(config["data"]["emotions"]),
                     **config["generator_params"])


class Trainer:
    """The generator, its critics (classifier, discriminator), their optimisers, the step loop."""

    def __init__(self, config: dict[str, Any], run_dir: Path, data: Data, rank: int,
                 world_size: int, device: torch.device) -> None:
        self.config, self.run_dir, self.data = config, run_dir, data
        self.rank, self.world_size, self.device = rank, world_size, device
        train, layout = config["train"], data.layout
        n_classes = len(data.conditions.classes)
        torch.manual_seed(train["seed"])
        self.generator = build_generator(config, layout).to(device)
        self.classifier = EmotionClassifier(layout.n_inputs, n_classes,
                                            **config["classifier_params"]).to(device)
        self.discriminator = Discriminator(layout.n_inputs, n_classes,
                                           **config["discriminator_params"]).to(device)
        opt = config["optimizer"]
        betas = tuple(opt["betas"])
        self.g_optimizer = torch.optim.Adam(self.generator.parameters(), opt["lr_generator"],
                                            betas=betas)
        self.d_optimizer = torch.optim.Adam(self.discriminator.parameters(),
                                            opt["lr_discriminator"], betas=betas)
        self.c_optimizer = torch.optim.Adam(self.classifier.parameters(), opt["lr_classifier"])
        self.rng = np.random.default_rng(train["seed"] + rank)
        self.mixing = (Mixing(train["mix_fraction"],
                              mixing_partners(data.train_takes, data.train_pairs), layout.voiced)
                       if train["mix_fraction"] > 0 else None)
        self.step = 0
        self.classifier_step = 0
        self.best: dict[str, Any] | None = None
        self.history: list[dict[str, float]] = []
        path = run_dir / CHECKPOINT_NAME
        if path.is_file():
            self._restore(load_checkpoint(path))
        elif train["init_from"] is not None:
            self._start_from(Path(train["init_from"]) / CHECKPOINT_NAME)
        self.g, self.d = self.generator, self.discriminator
        if world_size > 1:
            ids = [device.index] if device.type == "cuda" else None
            self.g = DistributedDataParallel(self.generator, device_ids=ids)
            self.d = DistributedDataParallel(self.discriminator, device_ids=ids)

    _MODULES = ("generator", "discriminator", "classifier", "g_optimizer", "d_optimizer",
                "c_optimizer")

    def _restore(self, state: dict[str, Any]) -> None:
        for name in self._MODULES:
            getattr(self, name).load_state_dict(state[name])
        self.step, self.classifier_step = state["step"], state["classifier_step"]
        self.history, self.best = state["history"], state["best"]
        restore_rng_state(state["rng"][self.rank], self.rng)

    def _start_from(self, path: Path) -> None:
        """Fine-tune: begin with another run's shipped generator (same sizes; lookahead may
        differ, as it only delays the output)."""
        try:
            self.generator.load_state_dict(best_generator(load_checkpoint(path))[1])
        except RuntimeError as exc:
            raise ConfigError(f"train.init_from {path.parent}: its generator has other sizes "
                              f"than this config's ({str(exc).splitlines()[-1].strip()})") from exc

    def save(self) -> None:
        rngs = [None] * self.world_size
        if self.world_size > 1:
            distributed.all_gather_object(rngs, rng_state(self.rng))
        else:
            rngs = [rng_state(self.rng)]
        if self.rank == 0:
            save_checkpoint(self.run_dir / CHECKPOINT_NAME, {
                "step": self.step, "classifier_step": self.classifier_step,
                "config": self.config, "history": self.history, "best": self.best, "rng": rngs,
                **{name: getattr(self, name).state_dict() for name in self._MODULES}})

    def _batch(self) -> dict[str, torch.Tensor]:
        train = self.config["train"]
        batch = sample_batch(self.data.train_takes, self.data.train_pairs, train["batch_size"],
                             train["segment_frames"], self.data.conditions, self.rng,
                             self.mixing)
        return {k: torch.from_numpy(v).to(self.device) for k, v in batch.__dict__.items()}

    def classifier_step_(self) -> float:
        """One update of the emotion classifier on real segments (neutral sources included)."""
        t = self._batch()
        x = torch.cat([t["real"], t["source"]])
        labels = torch.cat([t["label"], torch.zeros_like(t["label"])])
        loss = classification_loss(self.classifier(x), labels)
        self.c_optimizer.zero_grad(set_to_none=True)
        loss.backward()
        self.c_optimizer.step()
        return float(loss.detach())

    def train_step(self) -> dict[str, float]:
        """One discriminator and one generator update."""
        loss, layout = self.config["loss"], self.data.layout
        t = self._batch()
        weights = torch.ones(layout.n_outputs, device=self.device)
        weights[layout.lf0] = loss["weight_lf0"]
        weights[layout.c0_out] = loss["weight_c0"]
        weights[layout.bap_out] = loss["weight_bap"]
        # Nothing changes outside speech (the runtime fades changes out there too).
        speech = speech_weights(t["source"], layout, self.data.norm.c0_scale)
        mask = t["mask"] * weights[None, :, None] * speech

        delta = self.g(t["source"], t["condition"]) * speech
        converted = converted_inputs(t["source"], delta, t["shift"], speech, layout)
        d_loss = torch.zeros((), device=self.device)
        adversarial = torch.zeros((), device=self.device)
        if loss["lambda_adversarial"] > 0:
            d_loss = discriminator_loss(self.d(t["real"], t["label"]),
                                        self.d(converted.detach(), t["label"]))
            self.d_optimizer.zero_grad(set_to_none=True)
            d_loss.backward()
            self.d_optimizer.step()
            adversarial = generator_adversarial_loss(self.d(converted, t["label"]))
        parallel = masked_l1(delta, t["target"], mask)
        smooth = torch.ones(layout.n_outputs, device=self.device)
        smooth[layout.lf0] = loss["smoothness_lf0"]
        smoothness = smoothness_loss(delta, smooth)
        statistics = statistics_loss(converted, t["aligned"], layout)
        correlation = lf0_correlation_loss(converted, t["aligned"], layout)
        classification = classification_loss(self.classifier(converted), t["heard_as"])
        total = (loss["lambda_parallel"] * parallel + loss["lambda_smoothness"] * smoothness
                 + loss["lambda_statistics"] * statistics
                 + loss["lambda_lf0_correlation"] * correlation
                 + loss["lambda_classification"] * classification
                 + loss["lambda_adversarial"] * adversarial)
        self.g_optimizer.zero_grad(set_to_none=True)
        total.backward()
        self.g_optimizer.step()
        values = (parallel, smoothness, statistics, correlation, classification, adversarial,
                  total, d_loss)
        return {name: float(v.detach()) for name, v in zip(LOSS_NAMES, values)}

    def run(self, progress: bool = True) -> None:
        train = self.config["train"]
        self._train_classifier(progress)
        self.classifier.eval()
        for parameter in self.classifier.parameters():
            parameter.requires_grad_(False)
        bar = tqdm(total=train["steps"], initial=self.step, disable=not progress or self.rank,
                   desc="training", unit="step")
        sums: dict[str, float] = {}
        while self.step < train["steps"]:
            for name, value in self.train_step().items():
                sums[name] = sums.get(name, 0.0) + value
            self.step += 1
            bar.update(1)
            if self.step % train["log_every"] == 0:
                row = {"step": self.step, **{k: v / train["log_every"] for k, v in sums.items()}}
                self.history.append(row)
                bar.set_postfix(g=f"{row['g_total']:.3f}")
                sums = {}
            if self.step % train["validate_every"] == 0 or self.step == train["steps"]:
                self.validate()
            if self.step % train["checkpoint_every"] == 0 or self.step == train["steps"]:
                self.save()
        bar.close()

    def _train_classifier(self, progress: bool) -> None:
        steps = self.config["train"]["classifier_steps"]
        if self.classifier_step >= steps:
            return
        self.classifier.train()
        for _ in tqdm(range(self.classifier_step, steps), disable=not progress or self.rank,
                      desc="classifier", unit="step"):
            self.classifier_step_()
            self.classifier_step += 1
        self.save()

    def validate(self) -> None:
        if self.rank != 0:
            return
        self.generator.eval()
        scores = validate(self.generator, self.classifier, self.data,
                          self.run_dir / "samples" / f"{self.step:06d}", self.device)
        self.generator.train()
        self.history.append({"step": self.step, **scores})
        if self.best is None or scores["valid_score"] > self.best["score"]:
            self.best = {"step": self.step, "score": scores["valid_score"],
                         "generator": {k: v.detach().clone()
                                       for k, v in self.generator.state_dict().items()}}
        self._write_log()

    def _write_log(self) -> None:
        names = ["step", *LOSS_NAMES] + sorted({k for row in self.history for k in row}
                                                - {"step", *LOSS_NAMES})
        with atomic_output(self.run_dir / "log.csv") as partial, \
                open(partial, "w", newline="") as handle:
            writer = csv.DictWriter(handle, fieldnames=names)
            writer.writeheader()
            writer.writerows(self.history)
        plot_losses(self.history, self.run_dir / "losses.png")


def main(argv: list[str] | None = None) -> int:
    parser = ArgumentParser(prog="rtconvert-train", description=__doc__,
                            formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--config", type=Path, default=Path("training/conf/default.yaml"))
    parser.add_argument("--run-dir", type=Path, required=True)
    parser.add_argument("--set", dest="overrides", nargs="*", default=[],
                        metavar="KEY=VALUE", help="override config keys, e.g. train.steps=100")
    parser.add_argument("--no-progress", action="store_true")
    args = parser.parse_args(argv)

    rank, world_size, device = _distributed()
    run_dir = args.run_dir
    saved = run_dir / CONFIG_NAME
    if saved.is_file():  # resuming: the run's own config wins over the file given
        config = load_config(saved, args.overrides, saved_run=True)
    else:
        config = load_config(args.config, args.overrides)
    if device.type == "cpu":
        torch.set_num_threads(config["train"]["threads"])
    source = config["train"]["init_from"]
    if (source is not None and not (run_dir / CHECKPOINT_NAME).is_file()
            and not (Path(source) / CHECKPOINT_NAME).is_file()):
        raise ConfigError(f"train.init_from {source} holds no {CHECKPOINT_NAME} (train that run "
                          "first, e.g. the default before the low model)")
    run_dir.mkdir(parents=True, exist_ok=True)
    started = time.perf_counter()
    data = prepare_data(config, run_dir, progress=not args.no_progress and rank == 0)
    if rank == 0:  # only once the data checks passed: a failed start leaves no config behind
        write_text(saved, yaml.safe_dump(config, sort_keys=False))
    trainer = Trainer(config, run_dir, data, rank, world_size, device)
    trainer.run(progress=not args.no_progress)
    if rank == 0:
        print(f"{run_dir}: step {trainer.step} after {time.perf_counter() - started:.0f} s; "
              f"best validation score {trainer.best['score']:.4f} at step {trainer.best['step']}")
    if world_size > 1:
        distributed.destroy_process_group()
    return 0


if __name__ == "__main__":  # python -m training.train, torchrun -m training.train
    sys.exit(run_command("rtconvert-train", main))
