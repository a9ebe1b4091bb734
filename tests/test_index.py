"""data.csv, the indexer and the check report."""

import csv

import numpy as np
import soundfile
from helpers import REPO, SEED_CSV, SHARED_DATA, needs_ravdess

from training.corpus import COLUMNS, label_file
from training.index import check, from_seed, main, read_index, scan, write_index


def test_data_csv_has_every_notebook_row():
    with open(REPO / "data.csv", newline="") as handle:
        reader = csv.DictReader(handle)
        rows = list(reader)
    assert tuple(reader.fieldnames[:3]) == ("filepath", "emotion", "intensity")
    assert tuple(reader.fieldnames) == COLUMNS
    assert len(rows) == 9363
    corpora = {row["corpus"] for row in rows}
    assert corpora == {"RAVDESS", "CREMA-D", "SAVEE"}
    assert all(not row["filepath"].startswith("/") for row in rows)
    assert {row["intensity"] for row in rows} == {"1", "2", "3"}


@needs_ravdess
def test_data_csv_is_what_from_seed_derives(tmp_path):
    utterances, disagreements = from_seed(SEED_CSV)
    write_index(tmp_path / "data.csv", utterances)
    assert (tmp_path / "data.csv").read_text() == (REPO / "data.csv").read_text()
    assert len(disagreements) == 2  # the two oddly named CREMA-D files, reported


@needs_ravdess
def test_scan_of_shared_data_matches_the_seed_labels():
    utterances, unrecognised = scan(SHARED_DATA)
    # EmoDB's boredom (L) has no counterpart among the product's emotions.
    assert not [f for f in unrecognised if not f.startswith("emodb16k/") or f[-7] != "L"]
    utterances = [u for u in utterances if u.corpus == "RAVDESS"]
    assert len(utterances) == 1200
    seed = {u.filepath.rsplit("/", 1)[1].split(".")[0]: (u.emotion, u.intensity)
            for u in read_index(REPO / "data.csv") if u.corpus == "RAVDESS"}
    for utterance in utterances:
        stem = utterance.filepath.rsplit("/", 1)[1].split(".")[0]
        assert (utterance.emotion, utterance.intensity) == seed[stem], utterance.filepath


def _write_tone(path, n_samples=4800, rate=24000):
    soundfile.write(str(path), 0.1 * np.sin(np.arange(n_samples) * 0.05), rate)


def test_check_reports_missing_and_unreadable(tmp_path):
    actor = tmp_path / "RAVDESS" / "Actor_01"
    actor.mkdir(parents=True)
    _write_tone(actor / "03-01-01-01-01-01-01.wav")
    (actor / "03-01-03-01-01-01-01.wav").write_bytes(b"RIFF not really a wave file")
    (actor / "03-01-04-01-01-01-01.wav").write_bytes(b"")
    _write_tone(actor / "03-01-05-01-01-01-01.flac")  # listed as .wav, converted to FLAC
    names = ["03-01-01-01-01-01-01", "03-01-03-01-01-01-01", "03-01-04-01-01-01-01",
             "03-01-05-01-01-01-01", "03-01-06-01-01-01-01"]
    rows = [label_file(f"RAVDESS/Actor_01/{name}.wav") for name in names]
    report = check(rows, tmp_path)
    assert report.n_rows == 5
    assert report.found == [rows[0].filepath, rows[3].filepath]
    assert report.missing == [rows[4].filepath]
    assert [line.split(":")[0] for line in report.unreadable] == [rows[1].filepath,
                                                                   rows[2].filepath]


def test_check_finds_renamed_corpus_folder(tmp_path):
    actor = tmp_path / "ravdess24k" / "Actor_02"
    actor.mkdir(parents=True)
    _write_tone(actor / "03-01-01-01-01-01-02.flac")
    report = check([label_file("RAVDESS/Actor_02/03-01-01-01-01-01-02.wav")], tmp_path)
    assert len(report.found) == 1


def test_cli_build_and_check(tmp_path, capsys):
    folder = tmp_path / "root" / "SAVEE" / "AllAudios" / "DC"
    folder.mkdir(parents=True)
    _write_tone(folder / "a01.wav")
    _write_tone(folder / "readme.wav")
    assert main(["build", str(tmp_path / "root"), "-o", str(tmp_path / "index.csv")]) == 0
    assert "1 rows; 1 audio files matched no corpus convention" in capsys.readouterr().out
    assert main(["check", str(tmp_path / "index.csv"), "--root", str(tmp_path / "root")]) == 0
    assert "1 readable on disk, 0 missing, 0 unreadable" in capsys.readouterr().out
