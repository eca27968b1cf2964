"""The synthetic series generator: shapes, seeding, diversity, families, bad arguments."""

import numpy as np
import pytest

from skcontrast import AimTSTransformer
from skcontrast.synthetic import FAMILIES, make_synthetic_corpus, make_synthetic_series


@pytest.mark.parametrize("kind", ["mixed", *FAMILIES])
@pytest.mark.parametrize("shape", [(5, 1, 2), (4, 3, 37), (3, 2, 700)])
def test_shape_dtype_finite(kind, shape):
    n, c, t = shape
    X = make_synthetic_series(n, t, c, kind=kind, random_state=0)
    assert X.shape == shape and X.dtype == np.float32
    assert np.isfinite(X).all()


def test_seeded_and_varied():
    a = make_synthetic_series(20, 64, 2, random_state=7)
    np.testing.assert_array_equal(a, make_synthetic_series(20, 64, 2, random_state=7))
    assert not np.array_equal(a, make_synthetic_series(20, 64, 2, random_state=8))
    # series are not copies of each other, nor channels of one series
    z = (a - a.mean(-1, keepdims=True)) / a.std(-1, keepdims=True)
    corr = np.einsum("nct,mct->nm", z, z) / (2 * 64)
    assert np.abs(corr[~np.eye(20, dtype=bool)]).max() < 0.999
    channel_corr = np.einsum("nt,nt->n", z[:, 0], z[:, 1]) / 64
    assert np.abs(channel_corr).max() < 0.999
    # levels and scales vary (normalisation still has work to do)
    assert a.mean(-1).std() > 0.5 and np.log(a.std(-1)).std() > 0.3


def test_global_rng_untouched():
    state = np.random.get_state()[1].copy()
    make_synthetic_series(3, 16, random_state=None)
    np.testing.assert_array_equal(state, np.random.get_state()[1])


def test_families_differ_in_character():
    """Periodic GP kernels and AR processes give smoother series than white noise would; the
    ARMA family has seasonal structure: its autocorrelation at lag 1 is high on average."""
    for kind in FAMILIES:
        X = make_synthetic_series(60, 256, kind=kind, causal=False, random_state=1)[:, 0]
        x = (X - X.mean(1, keepdims=True)) / X.std(1, keepdims=True)
        lag1 = (x[:, 1:] * x[:, :-1]).mean()
        assert lag1 > 0.3, (kind, lag1)  # white noise would be ~0


def test_corpus():
    corpus = make_synthetic_corpus(5, series_per_panel=3, lengths=(20, 40), channels=(1, 2),
                                   random_state=0)  # fmt: skip
    assert len(corpus) == 5
    assert {p.shape[2] for p in corpus} <= {20, 40} and {p.shape[1] for p in corpus} <= {1, 2}
    again = make_synthetic_corpus(5, series_per_panel=3, lengths=(20, 40), channels=(1, 2),
                                  random_state=0)  # fmt: skip
    assert all(np.array_equal(a, b) for a, b in zip(corpus, again, strict=True))


def test_pretrains_an_encoder():
    corpus = make_synthetic_corpus(2, series_per_panel=6, lengths=(24,), random_state=0)
    params = AimTSTransformer.get_test_params()[0]
    encoder = AimTSTransformer(**params).fit(corpus)
    assert encoder.transform(corpus[0]).shape[0] == 6


@pytest.mark.parametrize(
    "kwargs, match",
    [
        ({"n_series": 0}, "n_series must be an int >= 1"),
        ({"n_series": 2.5}, "n_series must be an int"),
        ({"n_timepoints": 1}, "n_timepoints must be an int >= 2"),
        ({"n_channels": True}, "n_channels must be an int"),
        ({"kind": "gp"}, "kind must be"),
        ({"causal": "yes"}, "causal must be"),
    ],
)
def test_bad_arguments(kwargs, match):
    with pytest.raises(ValueError, match=match):
        make_synthetic_series(**{"n_series": 2, **kwargs})
