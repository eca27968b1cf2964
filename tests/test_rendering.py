"""Line-plot rendering in torch: geometry checked pixel by pixel."""

import torch

from skcontrast.nn.rendering import render_line_plots


def on_rows(column):
    return torch.nonzero(column).flatten()


def test_ramp_draws_the_rising_diagonal_connected():
    x = torch.linspace(0, 1, 300).view(1, 1, 300)
    img = render_line_plots(x, size=32)[0, 0]
    assert img.shape == (32, 32) and set(img.unique().tolist()) <= {0.0, 1.0}
    assert img[31, 0] == 1 and img[0, 31] == 1  # bottom-left to top-right
    previous = None
    for u in range(32):
        rows = on_rows(img[:, u])
        assert len(rows) >= 1
        if previous is not None:  # connected: touches the previous column's pixels
            assert rows.min() <= previous.max() + 1 and rows.max() >= previous.min() - 1
        previous = rows


def test_spike_survives_downsampling():
    x = torch.zeros(1, 1, 1000)
    x[0, 0, 500] = 1.0
    img = render_line_plots(x, size=16)[0, 0]
    assert img[0].sum() >= 1  # the single-point peak reaches the top row


def test_short_series_and_constant_series():
    img = render_line_plots(torch.tensor([[[0.0, 1.0]]]), size=8)[0, 0]
    assert img[7, 0] == 1 and img[0, 7] == 1
    flat = render_line_plots(torch.full((1, 1, 20), 3.0), size=9)[0, 0]
    assert on_rows(flat.sum(dim=1)).tolist() == [4]  # one horizontal line at mid-height


def test_channels_tile_a_square_grid_and_shared_range_is_used():
    x = torch.stack([torch.zeros(50), torch.ones(50), torch.full((50,), 0.5)]).unsqueeze(0)
    img = render_line_plots(x, value_range=torch.tensor([[0.0, 1.0]] * 3), size=10)[0, 0]
    assert img.shape == (20, 20)
    assert img[9, :10].all() and img[:9, :10].sum() == 0  # channel 0 = min: bottom of cell 0
    assert img[0, 10:].all()  # channel 1 = max: top of cell 1
    assert img[10:, 10:].sum() == 0  # the fourth cell is empty
    assert img[10:20, :10].sum(dim=1).nonzero().numel() == 1  # channel 2: one line


def test_values_outside_the_range_are_clipped_and_batch_is_independent():
    x = torch.randn(5, 2, 40, generator=torch.Generator().manual_seed(0)) * 10
    rng = torch.tensor([[-1.0, 1.0], [-1.0, 1.0]])
    imgs = render_line_plots(x, value_range=rng, size=12)
    assert imgs.shape == (5, 1, 24, 24)
    torch.testing.assert_close(render_line_plots(x[2:3], value_range=rng, size=12), imgs[2:3])
