"""Train the conditional CycleGAN from a config file, resuming from the last checkpoint.

Usage::

    rtconvert-train --config training/conf/default.yaml --run-dir runs/default [--set train.steps=100]
    torchrun --nproc_per_node=4 -m training.train ...   # several GPUs, DistributedDataParallel

Runs on the CPU by default and on a GPU when one is present. Writes to the run folder:
``config.yaml`` (resolved), ``stats.json``, ``checkpoint.pt`` (atomic, every
``checkpoint_every`` steps), ``log.csv``, ``losses.png`` and ``samples/`` (validation
audio every ``validate_every`` steps). Re-running the same command resumes.
"""

from __future__ import annotations

import argparse
import csv
import json
import os
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch
import yaml
from torch import distributed
from torch.nn.parallel import DistributedDataParallel
from tqdm import tqdm

from rtconvert.config import FeatureConfig

from .checkpoint import CHECKPOINT_NAME, load_checkpoint, restore_rng_state, rng_state, save_checkpoint
from .config import load_config
from .dataset import load_takes, parallel_pairs, sample_batch
from .extract import cache_dir, extract
from .index import scan
from .losses import discriminator_loss, generator_adversarial_loss, l1
from .models import Discriminator, Generator
from .stats import compute_statistics
from .validate import plot_losses, validate

LOSS_NAMES = ("d_loss", "g_adversarial", "g_cycle", "g_parallel", "g_total")


@dataclass
class Data:
    train_takes: list
    train_pairs: list
    valid_takes: list
    valid_pairs: list
    stats: dict[str, Any]
    feature_dir: Path


def prepare_data(config: dict[str, Any], run_dir: Path, progress: bool) -> Data:
    """Extract (or reuse) features, split speakers, compute statistics on the training ones."""
    data = config["data"]
    features = FeatureConfig()
    utterances = [u for u in scan(data["root"])[0] if u.corpus in data["corpora"]]
    report = extract(utterances, data["root"], data["cache"], features, progress=progress)
    failed = {line.split(": ", 1)[0] for line in report.failures}
    utterances = [u for u in utterances if u.filepath not in failed]
    valid_speakers = set(data["valid_speakers"])
    train = [u for u in utterances if u.speaker not in valid_speakers]
    valid = [u for u in utterances if u.speaker in valid_speakers]
    if not train or not valid:
        raise ValueError(f"speaker split left {len(train)} training and {len(valid)} validation "
                         f"utterances; valid_speakers={sorted(valid_speakers)}")
    directory = cache_dir(data["cache"], features)
    stats_path = run_dir / "stats.json"
    if stats_path.is_file():
        stats = json.loads(stats_path.read_text())
    else:
        stats = compute_statistics(directory, train)
        stats["valid_speakers"] = sorted(valid_speakers)
        stats_path.write_text(json.dumps(stats, indent=1))
    mean, std = np.array(stats["mcep_mean"]), np.array(stats["mcep_std"])
    train_takes = load_takes(directory, train, mean, std)
    valid_takes = load_takes(directory, valid, mean, std)
    return Data(train_takes, parallel_pairs(train_takes), valid_takes,
                parallel_pairs(valid_takes), stats, directory)


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


class Trainer:
    """One generator, one discriminator, their optimisers and the step loop."""

    def __init__(self, config: dict[str, Any], run_dir: Path, data: Data, rank: int,
                 world_size: int, device: torch.device) -> None:
        self.config, self.run_dir, self.data = config, run_dir, data
        self.rank, self.world_size, self.device = rank, world_size, device
        train = config["train"]
        torch.manual_seed(train["seed"])
        self.generator = Generator(**config["generator_params"]).to(device)
        self.discriminator = Discriminator(**config["discriminator_params"]).to(device)
        opt = config["optimizer"]
        self.g_optimizer = torch.optim.Adam(self.generator.parameters(), opt["lr_generator"],
                                            betas=tuple(opt["betas"]))
        self.d_optimizer = torch.optim.Adam(self.discriminator.parameters(),
                                            opt["lr_discriminator"], betas=tuple(opt["betas"]))
        self.rng = np.random.default_rng(train["seed"] + rank)
        self.step = 0
        self.history: list[dict[str, float]] = []
        path = run_dir / CHECKPOINT_NAME
        if path.is_file():
            self._restore(load_checkpoint(path))
        self.g, self.d = self.generator, self.discriminator
        if world_size > 1:
            ids = [device.index] if device.type == "cuda" else None
            self.g = DistributedDataParallel(self.generator, device_ids=ids)
            self.d = DistributedDataParallel(self.discriminator, device_ids=ids)

    def _restore(self, state: dict[str, Any]) -> None:
        self.generator.load_state_dict(state["generator"])
        self.discriminator.load_state_dict(state["discriminator"])
        self.g_optimizer.load_state_dict(state["g_optimizer"])
        self.d_optimizer.load_state_dict(state["d_optimizer"])
        self.step, self.history = state["step"], state["history"]
        restore_rng_state(state["rng"][self.rank], self.rng)

    def save(self) -> None:
        rngs = [None] * self.world_size
        if self.world_size > 1:
            distributed.all_gather_object(rngs, rng_state(self.rng))
        else:
            rngs = [rng_state(self.rng)]
        if self.rank == 0:
            save_checkpoint(self.run_dir / CHECKPOINT_NAME, {
                "step": self.step, "config": self.config, "history": self.history,
                "generator": self.generator.state_dict(),
                "discriminator": self.discriminator.state_dict(),
                "g_optimizer": self.g_optimizer.state_dict(),
                "d_optimizer": self.d_optimizer.state_dict(), "rng": rngs})

    def train_step(self) -> dict[str, float]:
        """One discriminator and one generator update."""
        train, loss = self.config["train"], self.config["loss"]
        batch = sample_batch(self.data.train_takes,
                             self.data.train_pairs, train["batch_size"],
                             train["segment_frames"], self.rng)
        t = {k: torch.from_numpy(v).to(self.device) for k, v in batch.__dict__.items()}
        neutral_domain = torch.zeros_like(t["domain"])
        sources = torch.cat([t["neutral"], t["emotional"]])
        conditions = torch.cat([t["condition"], -t["condition"]])
        n = len(t["neutral"])

        with torch.no_grad():
            fakes = self.g(sources, conditions)
        d_loss = (discriminator_loss(self.d(t["emotional"], t["domain"]),
                                     self.d(fakes[:n], t["domain"]))
                  + discriminator_loss(self.d(t["neutral"], neutral_domain),
                                       self.d(fakes[n:], neutral_domain)))
        self.d_optimizer.zero_grad(set_to_none=True)
        d_loss.backward()
        self.d_optimizer.step()

        fakes = self.g(sources, conditions)
        cycled = self.g(fakes, -conditions)
        adversarial = (generator_adversarial_loss(self.d(fakes[:n], t["domain"]))
                       + generator_adversarial_loss(self.d(fakes[n:], neutral_domain)))
        cycle = l1(cycled, sources)
        parallel = l1(fakes, torch.cat([t["neutral_target"], t["emotional_target"]]))
        total = (loss["lambda_adversarial"] * adversarial + loss["lambda_cycle"] * cycle
                 + loss["lambda_parallel"] * parallel)
        self.g_optimizer.zero_grad(set_to_none=True)
        total.backward()
        self.g_optimizer.step()
        values = (d_loss, adversarial, cycle, parallel, total)
        return {name: float(v.detach()) for name, v in zip(LOSS_NAMES, values)}

    def run(self, progress: bool = True) -> None:
        train = self.config["train"]
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
                bar.set_postfix(g=f"{row['g_total']:.3f}", d=f"{row['d_loss']:.3f}")
                sums = {}
            if self.step % train["validate_every"] == 0 or self.step == train["steps"]:
                self.validate()
            if self.step % train["checkpoint_every"] == 0 or self.step == train["steps"]:
                self.save()
        bar.close()

    def validate(self) -> None:
        if self.rank != 0:
            return
        self.generator.eval()
        scores = validate(self.generator, self.data, self.run_dir / "samples" / f"{self.step:06d}",
                          self.device)
        self.generator.train()
        self.history.append({"step": self.step, **scores})
        self._write_log()

    def _write_log(self) -> None:
        names = ["step", *LOSS_NAMES] + sorted({k for row in self.history for k in row}
                                                - {"step", *LOSS_NAMES})
        with open(self.run_dir / "log.csv", "w", newline="") as handle:
            writer = csv.DictWriter(handle, fieldnames=names)
            writer.writeheader()
            writer.writerows(self.history)
        plot_losses(self.history, self.run_dir / "losses.png")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="rtconvert-train", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--config", type=Path, default=Path("training/conf/default.yaml"))
    parser.add_argument("--run-dir", type=Path, required=True)
    parser.add_argument("--set", dest="overrides", nargs="*", default=[],
                        metavar="KEY=VALUE", help="override config keys, e.g. train.steps=100")
    parser.add_argument("--no-progress", action="store_true")
    args = parser.parse_args(argv)

    rank, world_size, device = _distributed()
    run_dir = args.run_dir
    saved = run_dir / "config.yaml"
    if saved.is_file():  # resuming: the run's own config wins over the file given
        config = load_config(saved, args.overrides)
    else:
        config = load_config(args.config, args.overrides)
    if device.type == "cpu":
        torch.set_num_threads(config["train"]["threads"])
    run_dir.mkdir(parents=True, exist_ok=True)
    if rank == 0:
        saved.write_text(yaml.safe_dump(config, sort_keys=False))
    started = time.perf_counter()
    data = prepare_data(config, run_dir, progress=not args.no_progress and rank == 0)
    trainer = Trainer(config, run_dir, data, rank, world_size, device)
    trainer.run(progress=not args.no_progress)
    if rank == 0:
        print(f"{run_dir}: step {trainer.step} after {time.perf_counter() - started:.0f} s")
    if world_size > 1:
        distributed.destroy_process_group()
    return 0


if __name__ == "__main__":
    sys.exit(main())
