"""Unequal-length panels: no padding anywhere, so a row never depends on its batch."""

import numpy as np
import pandas as pd
import pytest
from sktime.datasets import load_japanese_vowels

from skcontrast import AimTSTransformer, BTSFTransformer

CLASSES = [BTSFTransformer, AimTSTransformer]


def tiny(cls, **kw):
    return cls(**{**cls.get_test_params()[0], "n_iters": 4, **kw})


def as_df_list(arrays):
    """sktime's list-of-frames panel: one (time, channels) DataFrame per series."""
    return [pd.DataFrame(a.T) for a in arrays]


@pytest.mark.parametrize("cls", CLASSES)
def test_japanese_vowels_unequal_lengths(cls):
    X, _ = load_japanese_vowels(return_X_y=True)
    X = X.iloc[:40]
    t = tiny(cls).fit(X)
    F = t.transform(X).to_numpy()
    assert F.shape[0] == 40 and np.isfinite(F).all()
    assert t.n_timepoints_in_ is None and t.n_channels_in_ == 12


@pytest.mark.parametrize("cls", CLASSES)
def test_a_series_alone_equals_it_in_a_batch_with_longer_ones(cls):
    rng = np.random.default_rng(0)
    series = [rng.standard_normal((2, length)) for length in (12, 12, 12, 30, 30, 45)]
    t = tiny(cls).fit(as_df_list(series))
    together = t.transform(as_df_list(series)).to_numpy()
    alone = t.transform(as_df_list(series[:1])).to_numpy()
    np.testing.assert_allclose(alone[0], together[0], rtol=1e-5, atol=1e-5)
    # rows come back in the input order, not grouped by length
    reordered = t.transform(as_df_list(series[::-1])).to_numpy()
    np.testing.assert_allclose(reordered[::-1], together, rtol=1e-5, atol=1e-5)


def test_series_of_a_length_seen_once_are_encoded_not_trained_on():
    rng = np.random.default_rng(0)
    series = [rng.standard_normal((1, 20)) for _ in range(6)] + [rng.standard_normal((1, 33))]
    t = tiny(AimTSTransformer).fit(as_df_list(series))  # BatchNorm would fail on a batch of 1
    assert t.transform(as_df_list(series)).shape == (7, 4 * 8)  # readout="multi", depth 1


def test_btsf_fitted_on_one_length_still_checks_it():
    X = np.random.default_rng(0).standard_normal((6, 1, 20))
    t = tiny(BTSFTransformer).fit(X)
    with pytest.raises(ValueError, match="time points, the transformer was fitted on 20"):
        t.transform(as_df_list([X[0], X[1, :, :10]]))


def test_different_channel_counts_are_rejected():
    rng = np.random.default_rng(0)
    with pytest.raises(ValueError):
        tiny(BTSFTransformer).fit(
            as_df_list([rng.standard_normal((1, 10)), rng.standard_normal((2, 12))])
        )


def test_classifier_unequal_lengths():
    from skcontrast import AimTSClassifier

    X, y = load_japanese_vowels(return_X_y=True)
    X, y = X.iloc[:40], y[:40]
    clf = AimTSClassifier(**{**AimTSClassifier.get_test_params()[0], "n_iters": 5}).fit(X, y)
    proba = clf.predict_proba(X)
    assert proba.shape == (40, len(np.unique(y))) and np.allclose(proba.sum(axis=1), 1)
    assert clf.n_timepoints_in_ is None
    # a series alone gets the row it gets among others of other lengths
    np.testing.assert_allclose(clf.predict_proba(X.iloc[[5]]), proba[[5]], rtol=1e-5, atol=1e-6)
