"""Missing values (NaN): masked in the encoders, as TS2Vec does; features stay finite."""

import numpy as np
import pytest
import torch
from sklearn.linear_model import LogisticRegression
from sktime.datasets import load_UCR_UEA_dataset

from skcontrast import AimTSClassifier, AimTSTransformer, BTSFTransformer
from skcontrast.nn.dilated_conv import DilatedConvEncoder


def test_encoder_masks_missing_steps_after_the_input_projection():
    torch.manual_seed(0)
    enc = DilatedConvEncoder(2, 4, 3, depth=2).eval()
    x = torch.randn(1, 2, 16)
    x_missing = x.clone()
    x_missing[0, 1, 5] = float("nan")  # one channel missing: the whole step is masked
    with torch.no_grad():
        out = enc(x_missing)
        h = enc.input_fc(x)
        h[..., 5] = 0
        expected = enc.output_fc(enc.blocks(h))
    assert torch.isfinite(out).all()
    torch.testing.assert_close(out, expected)


@pytest.mark.parametrize("make", [
    lambda: BTSFTransformer(hidden_channels=16, repr_dims=16, rank=4, n_iters=20, random_state=0,
                            options=dict(temporal_depth=3, spectral_depth=2, temporal_size=8,
                                         spectral_size=8)),
    lambda: AimTSTransformer(hidden_channels=16, repr_dims=32, depth=3, image_size=16,
                             n_iters=6, random_state=0, options=dict(image_width=4)),
])  # fmt: skip
def test_ten_percent_missing_keeps_features_finite_and_accuracy_close(make):
    X, y = load_UCR_UEA_dataset(
        "ItalyPowerDemand", split="train", return_X_y=True, return_type="numpy3D"
    )
    X_test, y_test = load_UCR_UEA_dataset(
        "ItalyPowerDemand", split="test", return_X_y=True, return_type="numpy3D"
    )
    rng = np.random.default_rng(0)

    def holes(A):
        A = A.astype(np.float32).copy()
        A[rng.random(A.shape) < 0.1] = np.nan
        return A

    def accuracy(train, test):
        t = make().fit(train)
        F_train, F_test = t.transform(train).to_numpy(), t.transform(test).to_numpy()
        assert np.isfinite(F_train).all() and np.isfinite(F_test).all()
        return LogisticRegression().fit(F_train, y).score(F_test, y_test)

    complete, missing = accuracy(X, X_test), accuracy(holes(X), holes(X_test))
    # measured (2026-11-23): BTSF 0.961 -> 0.897, AimTS (this small config) 0.899 -> 0.777;
    # 10 % of 24 points is 2-3 missing per series, train and test alike
    assert missing > 0.7 and missing > complete - 0.15, (complete, missing)


def test_classifier_accepts_missing_values(panel):
    X, y = panel
    X = X.copy()
    X[:, :, ::7] = np.nan
    clf = AimTSClassifier(**AimTSClassifier.get_test_params()[0]).fit(X, y)
    assert np.isfinite(clf.predict_proba(X)).all()


def test_a_channel_without_observations_is_an_error(panel):
    X, _ = panel
    X = X.copy()
    X[3] = np.nan
    with pytest.raises(ValueError, match="channel 0 of series 3 has no observed value"):
        BTSFTransformer(**BTSFTransformer.get_test_params()[0]).fit(X)


@pytest.mark.parametrize("make", [BTSFTransformer, AimTSTransformer])
def test_step_representations_mask_missing_values_whatever_missing_says(make):
    """The policy table (user guide, Missing values): ``transform_timesteps`` masks, so
    ``r_t`` at a gap reads the past only; BTSF's default ``missing="interpolate"``
    would read the next observed value."""
    from _helpers import tiny_aimts, tiny_btsf

    rng = np.random.default_rng(0)
    X = rng.standard_normal((8, 1, 60)).astype(np.float32)
    est = (tiny_btsf if make is BTSFTransformer else tiny_aimts)(n_iters=1).fit(X)
    series = X[0].copy()
    series[0, 30:33] = np.nan
    changed = series.copy()
    changed[0, 33:] += 5.0  # only values after the gap differ
    kwargs = {} if make is BTSFTransformer else {"window": 20}
    a = est.transform_timesteps(series[None], **kwargs)[0]
    b = est.transform_timesteps(changed[None], **kwargs)[0]
    assert np.isfinite(a).all()
    np.testing.assert_array_equal(a[:33], b[:33])
    assert not np.allclose(a[33:], b[33:])


def test_line_plot_leaves_the_column_of_a_missing_value_blank():
    from skcontrast.nn.rendering import render_line_plots

    x = torch.sin(torch.linspace(0, 6, 128)).view(1, 1, 128)
    gap = x.clone()
    gap[..., 40:44] = float("nan")
    value_range = torch.tensor([[-1.0, 1.0]])
    full = render_line_plots(x, value_range, 64).sum(dim=2).flatten()
    drawn = render_line_plots(gap, value_range, 64).sum(dim=2).flatten()
    blank = (drawn == 0).nonzero().flatten().tolist()
    assert (full > 0).all() and blank and all(19 <= c <= 22 for c in blank)
    assert torch.equal(drawn[:19], full[:19]) and torch.equal(drawn[23:], full[23:])
