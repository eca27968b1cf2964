"""The AimTS augmentations: shapes, determinism, and what each one does to a series."""

import pytest
import torch

from skcontrast.nn.augmentations import (
    AUGMENTATIONS,
    augment,
    jitter,
    resample,
    scaling,
    time_warping,
    window_slicing,
    window_warping,
)


def gen(seed=0):
    return torch.Generator().manual_seed(seed)


@pytest.fixture
def x():
    return torch.randn(16, 3, 50, generator=gen(1))


def ramp(B=16, C=2, T=60):
    return torch.arange(T, dtype=torch.float32).expand(B, C, T).clone()


def test_augment_shapes_determinism_and_no_global_rng(x):
    torch.manual_seed(5)
    state = torch.get_rng_state()
    views = augment(x, gen())
    assert views.shape == (len(AUGMENTATIONS), 16, 3, 50) and torch.isfinite(views).all()
    assert torch.equal(views, augment(x, gen()))
    assert not torch.equal(views, augment(x, gen(2)))
    assert torch.equal(torch.get_rng_state(), state)
    # every augmentation changes the series
    for view in views:
        assert not torch.allclose(view, x)


@pytest.mark.parametrize("length", [1, 2, 5])
def test_very_short_series(length):
    views = augment(torch.randn(4, 2, length, generator=gen()), gen())
    assert views.shape == (5, 4, 2, length) and torch.isfinite(views).all()


def test_resample_interpolates_linearly():
    x = torch.tensor([[[0.0, 10.0, 20.0]]])
    out = resample(x, torch.tensor([[0.0, 0.5, 1.25, 2.0, 7.0]]))
    torch.testing.assert_close(out, torch.tensor([[[0.0, 5.0, 12.5, 20.0, 20.0]]]))


def test_jitter_adds_noise_of_the_given_scale():
    x = torch.zeros(64, 2, 200)
    assert abs(jitter(x, gen()).std().item() - 0.3) < 0.01


def test_scaling_is_one_factor_per_series_and_channel():
    x = torch.rand(32, 3, 40, generator=gen()) + 1.0
    ratio = scaling(x, gen()) / x
    torch.testing.assert_close(ratio, ratio[..., :1].expand_as(ratio))
    assert (
        abs(ratio[..., 0].mean().item() - 1) < 0.25 and abs(ratio[..., 0].std().item() - 0.5) < 0.15
    )


def test_window_slicing_keeps_half_and_stretches_it():
    out = window_slicing(ramp(), gen())
    slope = (out[..., -1] - out[..., 0]) / 59
    torch.testing.assert_close(slope, torch.full_like(slope, 0.5))
    assert (out[..., 0] >= 0).all() and (out[..., -1] <= 59).all()
    torch.testing.assert_close(out[:, 0], out[:, 1])  # channels share the window


def test_time_warping_is_monotone_and_keeps_endpoints():
    out = time_warping(ramp(), gen())
    assert (out.diff(dim=-1) >= 0).all()
    torch.testing.assert_close(out[..., 0], torch.zeros(16, 2))
    torch.testing.assert_close(out[..., -1], torch.full((16, 2), 59.0))
    assert not torch.allclose(out, ramp())  # speeds really vary


def test_window_warping_changes_local_speed_by_half_or_double():
    out = window_warping(ramp(T=101), gen())
    assert (out.diff(dim=-1) >= -1e-4).all()
    torch.testing.assert_close(out[..., 0], torch.zeros(16, 2))
    torch.testing.assert_close(out[..., -1], torch.full((16, 2), 100.0))
    # inside the window input time runs at 1/scale (2 or 0.5) the rate outside: step ratio 2
    steps = out[:, 0].diff(dim=-1)
    ratio = steps.max(dim=-1).values / steps.min(dim=-1).values
    torch.testing.assert_close(ratio, torch.full_like(ratio, 2.0), atol=0.05, rtol=0.05)
