"""Emotions on the valence/arousal plane, and the mixture at any point of it.

Each emotion sits on the unit circle at its angle in Russell's circumplex of affect (Russell
1980, "A circumplex model of affect", J. Pers. Soc. Psychol. 39(6); 0° pleasure, 90°
arousal, 180° displeasure, 270° sleepiness), at the angle of the closest of the 28 affect
words he scaled: happy 8° ("happy"), surprised 70° ("astonished"), angry 100° ("angry"),
fearful 117° ("afraid"), sad 208° ("sad"), calm 316° ("calm"). Disgust is not among the 28;
it goes where valence/arousal ratings of disgust put it (unpleasant, moderately aroused),
at 150°, between "distressed" and "miserable". Neutral sits at the centre.

A point's mixture: its angle picks the two emotions on either side of it and shares between
them linearly by angle; its distance from the centre shares between those two and neutral
(at the rim no neutral, at the centre only neutral). The weights are continuous in the
point and change by at most 1/Δθ per unit moved, Δθ the smallest angle (in radians) between
two neighbouring emotions (3.4 with angry and fearful 17° apart) plus 1 along the radius: a
dragged dot never makes the mixture jump, and on an emotion's own spot it is that emotion.
"""

from __future__ import annotations

import math

from .settings import NEUTRAL

#: Angle of each emotion on the circle, in degrees (valence along 0°, arousal along 90°).
ANGLES_DEG = {"happy": 8.0, "surprised": 70.0, "angry": 100.0, "fearful": 117.0,
              "disgust": 150.0, "sad": 208.0, "calm": 316.0}


def position(emotion: str) -> tuple[float, float]:
    """(valence, arousal) of an emotion: on the unit circle, neutral at the centre."""
    if emotion == NEUTRAL:
        return 0.0, 0.0
    angle = math.radians(ANGLES_DEG[emotion])
    return math.cos(angle), math.sin(angle)


def weights_at(valence: float, arousal: float, emotions: tuple[str, ...]
               ) -> tuple[tuple[str, float], ...]:
    """The mixture at a point of the plane among neutral and those of ``emotions`` the
    circumplex places, heaviest first; weights sum to 1 (a point outside the circle counts as
    on it)."""
    placed = sorted((ANGLES_DEG[e], e) for e in emotions if e in ANGLES_DEG)
    radius = min(1.0, math.hypot(valence, arousal))
    if not placed or radius == 0.0:
        return ((NEUTRAL, 1.0),)
    angle = math.degrees(math.atan2(arousal, valence)) % 360.0
    # The neighbours on either side, going round: the last before the angle, the next after.
    before = max((a, e) for a, e in placed if a <= angle) if placed[0][0] <= angle \
        else placed[-1]
    after = min((a, e) for a, e in placed if a > angle) if placed[-1][0] > angle \
        else placed[0]
    span = (after[0] - before[0]) % 360.0 or 360.0  # a lone emotion: the full circle
    share = ((angle - before[0]) % 360.0) / span
    weights = {NEUTRAL: 1.0 - radius}
    weights[before[1]] = weights.get(before[1], 0.0) + radius * (1.0 - share)
    weights[after[1]] = weights.get(after[1], 0.0) + radius * share
    return tuple(sorted(((e, w) for e, w in weights.items() if w > 0.0), key=lambda ew: -ew[1]))
