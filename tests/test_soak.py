"""The soak command (scripts/soak.py), run for seconds instead of minutes: its report's fields."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys

import pytest
from helpers import REPO, needs_jackd

pytestmark = [needs_jackd, pytest.mark.skipif(shutil.which("espeak-ng") is None,
                                              reason="espeak-ng is not installed (the speech)")]


def test_a_short_soak_reports_memory_latency_step_times_and_dropouts(tmp_path):
    out = tmp_path / "soak.json"
    done = subprocess.run([sys.executable, str(REPO / "scripts" / "soak.py"), "--minutes", "0.2",
                           "--segment", "4", "--json", str(out)],
                          capture_output=True, text=True, timeout=180, cwd=REPO, check=False)
    assert done.returncode == 0, done.stderr[-2000:]
    report = json.loads(out.read_text())
    engine, live = report["engine"], report["live"]
    for part in (engine, live):
        assert part["segments"] == len(part["per_segment"]) == 3
        assert 0 < part["rss_mb_after_warm_up"] <= part["rss_mb_end"] + 50
        assert part["rss_growth_mb"] == pytest.approx(part["rss_mb_end"]
                                                      - part["rss_mb_after_warm_up"], abs=0.11)
        assert part["step_ms_p99_first"] > 0 and part["step_ms_p99_last"] > 0
        beyond = [row["latency_ms"] - row["latency_ms_reported"] for row in part["per_segment"]]
        assert part["latency_drift_ms"] == pytest.approx(max(beyond) - min(beyond), abs=1e-3)
    # The engine alone: the delay it reports, to the sample, in every segment; nothing missing.
    assert engine["latency_ms_measured"] == [engine["latency_ms_reported"]] * 2
    assert engine["latency_drift_ms"] == 0
    assert engine["missing_samples"] == 0
    # Live: what the stream reports plus JACK's own buffering (at most three periods).
    period_ms = 1000 * live["jack_period"] / 48000
    for segment in live["per_segment"]:
        extra = segment["latency_ms"] - segment["latency_ms_reported"]
        assert -0.1 <= extra <= 3 * period_ms + 0.1, segment
    assert {"underruns", "overruns", "late_blocks", "jack_xruns", "headroom_ms",
            "jackd_late_clients"} <= live.keys()
    assert all(isinstance(live[key], int) for key in ("underruns", "overruns", "jack_xruns"))
