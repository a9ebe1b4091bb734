"""training/config.py: every config is checked against conf/default.yaml before any work."""

from __future__ import annotations

import re

import pytest
import yaml
from helpers import REPO

from rtconvert.errors import ConfigError
from training.config import load_config

CONF = REPO / "training" / "conf"


@pytest.mark.parametrize("name", sorted(p.name for p in CONF.glob("*.yaml")))
def test_every_shipped_config_is_valid(name, tmp_path):
    config = load_config(CONF / name, [f"data.root={tmp_path}"])
    assert config["train"]["steps"] > 0


@pytest.mark.parametrize("override, message", [
    ("train.stpes=3", "unknown key 'train.stpes'; did you mean 'train.steps'?"),
    ("train.lr_generator=0.1", "did you mean 'optimizer.lr_generator'?"),
    ("trian.steps=3", "did you mean 'train'?"),
    ("train.steps=many", "train.steps is 'many' (str), expected an integer"),
    ("train.steps=2.5", "expected an integer"),
    ("loss.lambda_parallel=true", "expected a number"),
    ("data.emotions=happy", "expected a list"),
    ("train.steps.x=1", "train.steps is a value, not a section"),
    ("train.steps", "expected key=value"),
    ("data.root=/no/such/folder", "data.root /no/such/folder is not a folder"),
    ("data.emotions=[happy, hapy]", "data.emotions names ['hapy']; choose from calm, happy"),
    ("data.emotions=[neutral]", "neutral is the source, never a target"),
    ("data.emotions=[sad, sad]", "data.emotions repeats a name"),
    ("data.intensity_scale={normal: 0.5, loud: 1.0}", "names 'loud'; the corpus intensities"),
    ("data.intensity_scale={strong: 0}", "data.intensity_scale.strong is 0, expected a number"),
    ("data.profile=fast", "data.profile is 'fast'; choose from balanced, low"),
    ("data.speeds=[1.0, 0]", "expected positive numbers"),
    ("data.dev_speakers=[RAVDESS_01]", "RAVDESS_01 both in data.valid_speakers and"),
    ("data.level=room", "data.level is 'room'; choose from take, speaker"),
])
def test_bad_values_are_named(override, message, tmp_path):
    with pytest.raises(ConfigError, match=re.escape(message)):
        load_config(CONF / "default.yaml", [f"data.root={tmp_path}", override])


def test_a_missing_key_and_a_missing_file_are_named(tmp_path):
    partial = tmp_path / "partial.yaml"
    partial.write_text(f"data:\n  root: {tmp_path}\n")
    with pytest.raises(ConfigError, match="data.cache.*missing"):
        load_config(partial)
    with pytest.raises(ConfigError, match="no such file"):
        load_config(tmp_path / "nothing.yaml")
    broken = tmp_path / "broken.yaml"
    broken.write_text("train: [unclosed\n")
    with pytest.raises(ConfigError, match="not valid YAML"):
        load_config(broken)


def test_a_run_saved_before_new_keys_resumes_with_the_recipe_it_had(tmp_path):
    """A run's config saved before data.level and data.denoise existed was trained on takes
    at one level each, without noise suppression: that is what it resumes with."""
    config = yaml.safe_load((CONF / "default.yaml").read_text())
    config["data"]["root"] = str(tmp_path)
    del config["data"]["level"], config["data"]["denoise"]
    saved = tmp_path / "config.yaml"
    saved.write_text(yaml.safe_dump(config))
    with pytest.raises(ConfigError, match="data.level, data.denoise missing"):
        load_config(saved)
    resumed = load_config(saved, saved_run=True)
    assert resumed["data"]["level"] == "take" and resumed["data"]["denoise"] is False
