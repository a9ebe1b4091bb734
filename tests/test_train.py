"""Training: losses move on real features, a killed run resumes exactly, torchrun works."""

import os
import re
import shutil
import signal
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import torch
from conftest import tiny_overrides
from helpers import REPO, SHARED_DATA, TEST_CACHE, needs_ravdess, wait_for

from rtconvert.engine.prosody import ProsodyShifter
from rtconvert.errors import ConfigError
from training.checkpoint import CHECKPOINT_NAME, best_generator, load_checkpoint
from training.config import load_config
from training.dataset import MIX_WEIGHTS, Mixing, mixing_partners, sample_batch
from training.prepare import prepare_data
from training.train import Trainer, main


def _train_command(run_dir: Path, overrides: list[str]) -> list[str]:
    return [sys.executable, "-m", "training.train", "--run-dir", str(run_dir), "--no-progress",
            "--set", *overrides]


@needs_ravdess
@pytest.mark.shared_data
def test_tiny_model_learns_on_real_features(ravdess_features, tmp_path):
    overrides = tiny_overrides(SHARED_DATA, TEST_CACHE, steps=60) + [
        "data.valid_speakers=[RAVDESS_01, RAVDESS_02]", "data.dev_speakers=[RAVDESS_05]",
        "data.sentences=[RAVDESS_01]", "train.validate_every=1000",
        "data.rooms=[]"]  # a room copy of 17 speakers' takes costs minutes of extraction
    config = load_config(REPO / "training/conf/default.yaml", overrides)
    torch.set_num_threads(1)
    data = prepare_data(config, tmp_path, progress=False)
    speakers = {t.utterance.speaker for t in data.train_takes}
    assert len(speakers) == 17 and not speakers & {"RAVDESS_01", "RAVDESS_02", "RAVDESS_05"}
    assert {t.utterance.sentence for t in data.train_takes} == {"RAVDESS_01"}
    trainer = Trainer(config, tmp_path, data, 0, 1, torch.device("cpu"))
    trainer.run(progress=False)
    history = [row for row in trainer.history if "g_parallel" in row]
    assert len(history) == 12
    first, last = history[:3], history[-3:]
    for name in ("g_parallel", "g_statistics"):
        assert sum(r[name] for r in last) < sum(r[name] for r in first), name


def test_killed_run_resumes_exactly(espeak_corpus, tmp_path):
    overrides = tiny_overrides(espeak_corpus, tmp_path / "cache", steps=300) + [
        "train.validate_every=100000"]
    straight, killed = tmp_path / "straight", tmp_path / "killed"
    subprocess.run(_train_command(straight, overrides), check=True, cwd=REPO,
                   capture_output=True)

    process = subprocess.Popen(_train_command(killed, overrides), cwd=REPO,
                               stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    # The first checkpoint (step 0) follows the classifier's training: kill after a later one.
    checkpoint = killed / CHECKPOINT_NAME  # written whole, then renamed: always readable
    assert wait_for(lambda: checkpoint.is_file() and load_checkpoint(checkpoint)["step"] > 0,
                    timeout_s=120, every_s=0.02)
    process.send_signal(signal.SIGKILL)
    process.wait()
    stopped_at = load_checkpoint(killed / CHECKPOINT_NAME)["step"]
    assert 0 < stopped_at < 300, "the run finished before it could be killed"

    subprocess.run(_train_command(killed, overrides), check=True, cwd=REPO, capture_output=True)
    a, b = load_checkpoint(straight / CHECKPOINT_NAME), load_checkpoint(killed / CHECKPOINT_NAME)
    assert a["step"] == b["step"] == 300
    for name, tensor in a["generator"].items():
        assert torch.equal(tensor, b["generator"][name]), name
    assert a["history"] == b["history"]


def test_run_folder_has_logs_plot_and_samples(tiny_run):
    for name in ("config.yaml", "stats.json", "checkpoint.pt", "log.csv", "losses.png"):
        assert (tiny_run / name).is_file(), name
    # Written through temporary files renamed into place: none is left behind.
    assert not [p.name for p in tiny_run.rglob("*") if ".partial" in p.name]
    samples = sorted(p.name for p in (tiny_run / "samples" / "000020").iterdir())
    assert samples == sorted(f"{e}.wav" for e in ("neutral", "calm", "happy", "sad", "angry",
                                                  "fearful", "disgust", "surprised"))
    header = (tiny_run / "log.csv").read_text().splitlines()[0]
    assert all(name in header.split(",") for name in (
        "valid_mcd_db", "valid_lf0_r", "g_parallel", "g_lf0_correlation"))
    state = load_checkpoint(tiny_run / CHECKPOINT_NAME)
    assert state["best"]["step"] in (10, 20)  # the checkpoint that ships is chosen by score


@pytest.mark.skipif(shutil.which("torchrun") is None and not
                    (Path(sys.executable).parent / "torchrun").exists(), reason="no torchrun")
def test_torchrun_two_processes(espeak_corpus, tmp_path):
    """DistributedDataParallel over two CPU processes (gloo): the multi-GPU path, without GPUs."""
    torchrun = str(Path(sys.executable).parent / "torchrun")
    overrides = tiny_overrides(espeak_corpus, tmp_path / "cache", steps=10)
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    subprocess.run([torchrun, "--standalone", "--nproc_per_node=2", "-m", "training.train",
                    "--run-dir", str(tmp_path / "ddp"), "--no-progress", "--set", *overrides],
                   check=True, cwd=REPO, capture_output=True, env=env, timeout=300)
    state = load_checkpoint(tmp_path / "ddp" / CHECKPOINT_NAME)
    assert state["step"] == 10 and len(state["rng"]) == 2


def named_corpus(root: Path, actors=("01", "02", "03", "04")) -> Path:
    """RAVDESS-named files, neutral and happy, for checks that fail before reading audio
    (the files are empty: unreadable)."""
    for actor in actors:
        folder = root / "RAVDESS" / f"Actor_{actor}"
        folder.mkdir(parents=True)
        for emotion in ("01", "03"):
            (folder / f"03-01-{emotion}-01-01-01-{actor}.wav").touch()
    return root


@pytest.mark.parametrize("override, message", [
    ("data.valid_speakers=[RAVDESS_99]", "data.valid_speakers: RAVDESS_99 not under"),
    ("data.dev_speakers=[RAVDESS_01, RAVDESS_98]", "data.dev_speakers: RAVDESS_98 not under"),
    ("data.sentences=[RAVDESS_07]", "data.sentences: RAVDESS_07 not under"),
    ("data.corpora=[SAVEE]", "no takes of data.corpora ['SAVEE']"),
    ("data.intensity_scale={strong: 1.0}", "no generator intensity for the normal takes"),
    ("data.dev_speakers=[RAVDESS_01, RAVDESS_02, RAVDESS_03]", "0 training utterances"),
])
def test_a_bad_speaker_split_is_named_before_any_work(tmp_path, override, message):
    overrides = tiny_overrides(named_corpus(tmp_path / "data"), tmp_path / "cache") + [override]
    with pytest.raises(ConfigError, match=re.escape(message)):
        main(["--run-dir", str(tmp_path / "run"), "--no-progress", "--set", *overrides])
    assert not (tmp_path / "run" / "config.yaml").exists()  # a failed start saves no config
    assert not (tmp_path / "cache").exists()  # refused before extracting anything


def test_a_failed_start_leaves_nothing_a_rerun_would_read(espeak_corpus, tmp_path):
    """Statistics are computed before the pairing check; like the config they are saved
    only once every check passed (a re-run with corrected data would read them)."""
    root = tmp_path / "data"
    shutil.copytree(espeak_corpus, root)
    for actor in ("01", "02"):  # the training speakers lose their neutral takes
        for neutral in (root / "RAVDESS" / f"Actor_{actor}").glob("03-01-01-*"):
            neutral.unlink()
    overrides = tiny_overrides(root, tmp_path / "cache")
    with pytest.raises(ConfigError, match="training speakers have no neutral and emotional"):
        main(["--run-dir", str(tmp_path / "run"), "--no-progress", "--set", *overrides])
    assert list((tmp_path / "run").iterdir()) == []


def test_unreadable_data_is_one_line_from_the_command(tmp_path):
    """``python -m training.train`` (as torchrun runs it) reports a data problem in one line."""
    overrides = tiny_overrides(named_corpus(tmp_path / "data"), tmp_path / "cache")
    result = subprocess.run(_train_command(tmp_path / "run", overrides), cwd=REPO, text=True,
                            capture_output=True, check=False, timeout=300)
    lines = result.stderr.strip().splitlines()
    assert result.returncode == 1 and len(lines) == 1, result.stderr
    assert lines[0].startswith("rtconvert-train: error: no training take could be analysed")
    assert not (tmp_path / "run" / "config.yaml").exists()


def test_mixed_items_ask_for_both_emotions_as_the_runtime_mixes_them(espeak_corpus, tmp_path):
    overrides = tiny_overrides(espeak_corpus, tmp_path / "cache", steps=10) + [
        "loss.lambda_adversarial=0.0", "train.mix_fraction=1.0", "train.validate_every=1000"]
    config = load_config(REPO / "training/conf/default.yaml", overrides)
    (tmp_path / "run").mkdir()
    data = prepare_data(config, tmp_path / "run", progress=False)
    conditions, pairs, takes = data.conditions, data.train_pairs, data.train_takes
    partners = mixing_partners(takes, pairs)
    assert all(p.size for p in partners)  # each neutral take has a happy and a sad pair
    mixing = Mixing(1.0, partners, data.layout.voiced)
    batch = sample_batch(takes, pairs, 32, 24, conditions, np.random.default_rng(0), mixing)
    happy, sad = (conditions.classes.index(e) for e in ("happy", "sad"))
    assert np.allclose(batch.heard_as.sum(1), 1.0)
    assert (batch.heard_as[:, [happy, sad]] >= MIX_WEIGHTS[0]).all()
    voiced = batch.aligned[:, data.layout.voiced]
    assert set(np.unique(voiced)) <= {0.0, 1.0}  # voiced where both takes are
    # The shift is the runtime's for the mixture's condition row.
    shifter = ProsodyShifter(conditions.emotions, conditions.anchors)
    group = takes[pairs[0].neutral].group
    for row in batch.condition[:4]:
        domains = [((e, "strong"), x) for e, x in zip(conditions.emotions, row) if x > 0]
        vector, shift, _ = conditions.mixture(group, domains)
        np.testing.assert_allclose(vector, row, rtol=1e-6)
        np.testing.assert_allclose(shift, conditions.as_array(group, shifter.mixture_shift(row)),
                                   rtol=1e-5)
    # A pure condition mixed with nothing is the plain pair's condition and shift.
    vector, shift, heard_as = conditions.mixture(group, [(("sad", "strong"), 1.0)])
    np.testing.assert_allclose(vector, conditions.vector("sad", "strong"))
    np.testing.assert_allclose(shift, conditions.shift(group, "sad", "strong"), rtol=1e-5)
    assert heard_as[sad] == 1.0
    # And a run that mixes trains (the classifier hears the mixture as both).
    trainer = Trainer(config, tmp_path / "run", data, 0, 1, torch.device("cpu"))
    trainer.run(progress=False)
    assert trainer.step == 10
    assert all(np.isfinite(v) for row in trainer.history for v in row.values())


def test_a_fine_tune_starts_from_the_other_runs_shipped_generator(tiny_run, espeak_corpus,
                                                                  tmp_path):
    """``train.init_from``: the low model starts from the default's best generator (its
    lookahead may differ: it only delays the output); other sizes are refused in one line."""
    overrides = tiny_overrides(espeak_corpus, tiny_run / "cache") + [
        f"train.init_from={tiny_run}", "generator_params.lookahead=1"]
    config = load_config(REPO / "training/conf/default.yaml", overrides)
    data = prepare_data(config, tmp_path, progress=False)
    trainer = Trainer(config, tmp_path, data, 0, 1, torch.device("cpu"))
    _, shipped = best_generator(load_checkpoint(tiny_run / CHECKPOINT_NAME))
    for name, tensor in trainer.generator.state_dict().items():
        assert torch.equal(tensor, shipped[name]), name

    wider = load_config(REPO / "training/conf/default.yaml",
                        overrides + ["generator_params.channels=8"])
    with pytest.raises(ConfigError, match="its generator has other sizes than this config's"):
        Trainer(wider, tmp_path / "wider", data, 0, 1, torch.device("cpu"))
    with pytest.raises(ConfigError, match=r"train.init_from \S+ holds no checkpoint.pt"):
        main(["--run-dir", str(tmp_path / "run"), "--no-progress", "--set", *overrides,
              f"train.init_from={tmp_path / 'nothing'}"])
    assert not (tmp_path / "run").exists()  # refused before anything is written
