"""The detector's discord: values against a brute-force nearest neighbour, its bounds, and
the combined score of RepresentationAnomalyDetector."""

import numpy as np
import pandas as pd
import pytest

from skcontrast import RepresentationAnomalyDetector, _discord
from skcontrast._discord import discord_scores


def _brute(values, m, reference=None, band=None, max_reference=None, f=1):
    """Nearest z-normalised distance of each subsequence, the slow way (loops)."""
    values = np.asarray(values, float).reshape(len(values), -1)

    def coarse(x):
        n = len(x) // f * f
        return x[:n].reshape(-1, f, x.shape[1]).mean(axis=1)

    def windows(x):
        w = max(2, m // f)
        out = []
        for i in range(len(x) - w + 1):
            seg = x[i : i + w]
            std = seg.std(axis=0)
            z = np.where(std > 0, (seg - seg.mean(axis=0)) / np.where(std > 0, std, 1), 0.0)
            out.append(z.T.ravel())
        return np.array(out)

    Q = windows(coarse(values))
    R = windows(coarse(np.asarray(reference, float).reshape(len(reference), -1))) if (
        reference is not None) else np.zeros((0, Q.shape[1]))  # fmt: skip
    if max_reference is not None:
        R = R[-max_reference:]
    w = max(2, m // f)
    exclusion = int(np.ceil(w / 4))
    best = []
    for i, q in enumerate(Q):
        d = [np.sum((q - r) ** 2) for r in R]
        for j, r in enumerate(Q):
            if abs(i - j) > exclusion and (band is None or abs(i - j) <= band):
                d.append(np.sum((q - r) ** 2))
        best.append(np.sqrt(min(d) / (w * values.shape[1])) if d else 0.0)
    return np.array(best)


def _at_centres(scores, m, n_windows, f=1):
    w = max(2, m // f)
    first = w * f // 2
    return scores[first : first + n_windows * f : f]


def _walk(n, seed=0, channels=1):
    return np.cumsum(np.random.default_rng(seed).standard_normal((n, channels)), axis=0)


@pytest.mark.parametrize("channels", [1, 3])
def test_discord_is_the_nearest_z_normalised_distance(channels):
    x = _walk(400, channels=channels)
    ref = _walk(150, seed=1, channels=channels)
    for reference in (None, ref):
        expected = _brute(x, 16, reference)
        got = discord_scores(x, 16, reference)
        np.testing.assert_allclose(_at_centres(got, 16, len(expected)), expected, atol=2e-5)
        # the edges take the first and last subsequence's score
        assert got[0] == got[8] and got[-1] == _at_centres(got, 16, len(expected))[-1]


def test_long_windows_are_compared_after_averaging_and_the_reference_is_bounded(monkeypatch):
    monkeypatch.setattr(_discord, "MAX_WIDTH", 8)  # a window of 20 points: f = 3
    monkeypatch.setattr(_discord, "BAND", 30)
    monkeypatch.setattr(_discord, "MAX_REFERENCE", 25)
    monkeypatch.setattr(_discord, "CHUNK", 7)  # chunks cut across the band and exclusions
    x, ref = _walk(600), _walk(300, seed=2)
    f = _discord.aggregation(20)
    assert f == 3
    expected = _brute(x, 20, ref, band=30, max_reference=25, f=f)
    got = discord_scores(x, 20, ref)
    np.testing.assert_allclose(_at_centres(got, 20, len(expected), f), expected, atol=2e-5)


def test_flat_windows_and_exact_repeats():
    x = np.r_[np.zeros(50), np.sin(np.arange(200) / 3.0), np.zeros(50)][:, None]
    scores = discord_scores(x, 12)
    assert np.all(np.isfinite(scores)) and scores.min() >= 0 and scores.max() <= 2
    assert scores[10] == 0  # a flat window next to another flat one
    # a repeating pattern recurs: far lower than a window unlike any other
    y = np.tile(np.sin(np.arange(40) / 40 * 2 * np.pi), 10)
    y[205:215] += np.linspace(0, 1, 10)
    s = discord_scores(y[:, None], 40)
    # the highest score: a subsequence that holds the change (centres 186 to 234)
    assert abs(int(s.argmax()) - 210) <= 24 and s[60] < 1e-3
    with pytest.raises(ValueError, match="at least 40 points"):
        discord_scores(y[:30, None], 40)


def _seasonal(n=1500, seed=0):
    rng = np.random.default_rng(seed)
    t = np.arange(n)
    return pd.Series(np.sin(2 * np.pi * t / 50) + 0.05 * rng.standard_normal(n))


def test_default_score_adds_the_error_and_the_discord_over_their_training_stds():
    y = _seasonal()
    train, test = y.iloc[:1000], y.iloc[1000:].copy()
    test.iloc[200:225] = -test.iloc[200:225].to_numpy()  # half a period upside down
    kw = {"window_length": 60}
    both = RepresentationAnomalyDetector(**kw).fit(train)
    error = RepresentationAnomalyDetector(scoring="error", **kw).fit(train)
    discord = RepresentationAnomalyDetector(scoring="discord", **kw).fit(train)
    assert (both.transformer, both.target, both.scoring) == ("passthrough", "next", "error+discord")
    assert both.discord_window_ == discord.discord_window_ == 50 and error.discord_window_ is None
    e = error.transform_scores(test)["score"].to_numpy()
    d = discord.transform_scores(test)["score"].to_numpy()
    s = both.transform_scores(test)["score"].to_numpy()
    se, sd = error.train_scores_.std(), discord.train_scores_[60:].std()
    assert both.score_scales_["error"] == pytest.approx(se)
    # the discord's scale is over the points the error scores too
    scored = e > 0
    np.testing.assert_allclose(s[scored], e[scored] / se + d[scored] / both.score_scales_[
        "discord"], rtol=1e-6)  # fmt: skip
    assert both.score_scales_["discord"] == pytest.approx(sd)
    assert np.all(s[~scored] == 0)
    # the discord sees the reversed half period; the combination flags it
    assert abs(int(d.argmax()) - 212) <= 30 and abs(int(s.argmax()) - 212) <= 30
    flagged = both.predict(test)["ilocs"].to_numpy()
    # flagged: the reversed stretch, the one-step predictions whose 60-point lag window
    # holds it, and the period's smoothing (25 points each side)
    assert 212 in flagged and flagged.min() >= 200 - 25 - 25 and flagged.max() <= 225 + 60 + 25
    assert len(both.predict(y.iloc[1000:])) == 0  # the clean continuation: nothing


def test_discord_alone_needs_no_decoder_and_scores_every_point():
    y = _seasonal(800)
    d = RepresentationAnomalyDetector(scoring="discord", discord_window=30).fit(y.iloc[:500])
    assert d.transformer_ is None and d.decoder_ is None and d.discord_window_ == 30
    scores = d.transform_scores(y.iloc[500:])["score"].to_numpy()
    assert np.all(scores > 0) and len(scores) == 300
    # the series joined to its training part: the training subsequences find themselves
    joined = d.transform_scores(y)["score"].to_numpy()
    assert joined[:450].max() < 1e-3


def test_discord_window_errors_are_clear():
    y = _seasonal(300)
    with pytest.raises(ValueError, match="discord_window"):
        RepresentationAnomalyDetector(discord_window=3).fit(y)
    with pytest.raises(ValueError, match="discord_window=400"):
        RepresentationAnomalyDetector(scoring="discord", discord_window=400).fit(y)
    d = RepresentationAnomalyDetector(scoring="discord", discord_window=50).fit(y)
    with pytest.raises(ValueError, match="discord_window_=50"):
        d.transform_scores(y.iloc[:40])
    with pytest.raises(ValueError, match="scoring"):
        RepresentationAnomalyDetector(scoring="knn").fit(y)


def test_a_detector_keeps_the_training_tail_it_compares_with(monkeypatch):
    """Later series are compared with the training series' last MAX_REFERENCE subsequences;
    the detector keeps only the points they span, cut on the averaging grid, and scores
    as if it had kept the whole series."""
    monkeypatch.setattr(_discord, "MAX_WIDTH", 8)  # windows of 20 points: f = 3
    monkeypatch.setattr(_discord, "MAX_REFERENCE", 40)
    y = pd.Series(_walk(1001)[:, 0])
    d = RepresentationAnomalyDetector(scoring="discord", discord_window=20).fit(y.iloc[:700])
    assert len(d._reference) < 200 and (700 - len(d._reference)) % 3 == 0
    test = y.iloc[700:].to_numpy()[:, None]
    np.testing.assert_array_equal(
        d.transform_scores(y.iloc[700:])["score"].to_numpy(),
        discord_scores(test, 20, y.iloc[:700].to_numpy()[:, None]),
    )
