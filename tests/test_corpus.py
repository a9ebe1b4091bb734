"""Labels from RAVDESS, CREMA-D and SAVEE file names."""

import pytest

from training.corpus import label_file


@pytest.mark.parametrize("path, emotion, intensity, speaker, gender, sentence", [
    ("RAVDESS/Actor_04/03-01-02-02-01-02-04.wav", "calm", 3, "RAVDESS_04", "female", "RAVDESS_01"),
    ("ravdess24k/Actor_01/03-01-01-01-02-01-01.flac", "neutral", 2, "RAVDESS_01", "male",
     "RAVDESS_02"),
    ("RAVDESS/Actor_11/03-01-08-01-01-01-11.wav", "surprised", 2, "RAVDESS_11", "male",
     "RAVDESS_01"),
    ("CREMA-D/1001_DFA_ANG_XX.wav", "angry", 2, "CREMA-D_1001", "", "CREMA-D_DFA"),
    ("CREMA-D/1042_IEO_FEA_LO.wav", "fearful", 1, "CREMA-D_1042", "", "CREMA-D_IEO"),
    ("CREMA-D/1042_IEO_HAP_HI.wav", "happy", 3, "CREMA-D_1042", "", "CREMA-D_IEO"),
    ("CREMA-D/1040_ITH_SAD_X.wav", "sad", 2, "CREMA-D_1040", "", "CREMA-D_ITH"),
    ("CREMA-D/1064_IOM_DIS_XX (1).wav", "disgust", 2, "CREMA-D_1064", "", "CREMA-D_IOM"),
    ("SAVEE/AllAudios/DC/a01.wav", "angry", 2, "SAVEE_DC", "male", "SAVEE_a01"),
    ("SAVEE/AllAudios/KL/sa15.wav", "sad", 2, "SAVEE_KL", "male", "SAVEE_sa15"),
    ("SAVEE/AllAudios/JK/su03.flac", "surprised", 2, "SAVEE_JK", "male", "SAVEE_su03"),
    ("SAVEE/AllAudios/JE/n30.wav", "neutral", 2, "SAVEE_JE", "male", "SAVEE_n30"),
])
def test_label_file(path, emotion, intensity, speaker, gender, sentence):
    utterance = label_file(path)
    assert (utterance.emotion, utterance.intensity, utterance.speaker, utterance.gender,
            utterance.sentence) == (emotion, intensity, speaker, gender, sentence)
    assert utterance.filepath == path


@pytest.mark.parametrize("path", [
    "RAVDESS/Actor_01/03-02-01-01-01-01-01.wav",  # song, not speech
    "RAVDESS/Actor_01/03-01-09-01-01-01-01.wav",  # no emotion 09
    "CREMA-D/1001_DFA_XYZ_XX.wav",
    "SAVEE/AllAudios/DC/x01.wav",
    "SAVEE/AllAudios/ZZ/a01.wav",  # not a SAVEE speaker
    "notes/readme.txt",
])
def test_unknown_names_are_not_labelled(path):
    assert label_file(path) is None


def test_crema_gender_from_demographics():
    assert label_file("CREMA-D/1001_DFA_ANG_XX.wav", {"1001": "male"}).gender == "male"
