"""Data-parallel training: 2 CPU processes (gloo) against one process on the same batches.

Tolerance: a 2-process run matches a single-process run on the same global batch to
float32 rounding (the all-gathered embeddings are the same numbers, but the gradient of a
shard is summed in another order): weights within ``atol=1e-5, rtol=1e-4``, losses within
``rtol=5e-5``. BatchNorm (AimTS's image encoder) uses per-rank batch statistics, so that
configuration is only checked for identical weights across ranks and a falling loss.
"""

import ddp_worker
import pytest
import torch
from _helpers import HERE, LOSS_RTOL, WEIGHTS_TOL, WORLD, run_ranks

from skcontrast import AimTSTransformer, BTSFTransformer


@pytest.fixture(scope="module")
def ranks(tmp_path_factory):
    """Run tests/ddp_worker.py as 2 gloo ranks; {config: [rank 0 result, rank 1 result]}."""
    out = tmp_path_factory.mktemp("ddp")
    run_ranks([str(HERE / "ddp_worker.py"), str(out)])
    results = {
        name: [torch.load(out / f"{name}-rank{r}.pt", weights_only=True) for r in range(WORLD)]
        for name, _ in ddp_worker.configs()
    }
    results["mismatch"] = [(out / f"mismatch-rank{r}.txt").read_text() for r in range(WORLD)]
    return results


@pytest.mark.slow
def test_rank0_checkpoint_error_raised_on_every_rank(ranks):
    for message in ranks["mismatch"]:
        assert "written by a fit with other data or parameters" in message


@pytest.fixture(scope="module")
def single():
    """The same configurations fitted in this process, no process group."""
    torch.set_num_threads(1)
    results = {}
    for name, est in ddp_worker.configs():
        if name != "aimts_image":
            results[name] = ddp_worker.result(est.fit(ddp_worker.data()))
    return results


def assert_same_weights(a, b, **tol):
    assert a.keys() == b.keys()
    for k in a:
        if tol:
            torch.testing.assert_close(a[k], b[k], **tol, msg=lambda m, k=k: f"{k}: {m}")
        else:
            assert torch.equal(a[k], b[k]), k


@pytest.mark.slow
@pytest.mark.parametrize("name", ["btsf", "aimts", "aimts_image"])
def test_ranks_identical_and_loss_falls(ranks, name):
    r0, r1 = ranks[name]
    assert_same_weights(r0["weights"], r1["weights"])  # bitwise: same all-reduced steps
    torch.testing.assert_close(r0["loss"], r1["loss"], rtol=0, atol=0)
    loss = r0["loss"]
    assert len(loss) == 12
    assert loss[-3:].mean() < loss[:3].mean()


@pytest.mark.slow
@pytest.mark.parametrize("name", ["btsf", "aimts"])
def test_matches_single_process(ranks, single, name):
    dist, one = ranks[name][0], single[name]
    torch.testing.assert_close(dist["loss"], one["loss"], rtol=LOSS_RTOL, atol=0)
    assert_same_weights(dist["weights"], one["weights"], **WEIGHTS_TOL)
    torch.testing.assert_close(dist["features"], one["features"], rtol=1e-3, atol=1e-3)


def test_helpers_are_identity_outside_a_group():
    from skcontrast import _distributed

    x = torch.arange(6.0).reshape(3, 2)
    assert not _distributed.is_distributed()
    assert _distributed.rank() == 0 and _distributed.world_size() == 1
    assert _distributed.shard(x) is x and _distributed.gather(x, 3) is x
    assert _distributed.agree(True) and not _distributed.agree(False)
    assert _distributed.agree(True, False) == (True, False)
    assert _distributed.shard_sizes(5, 2) == [3, 2]


def test_trained_image_encoder_needs_two_rows_per_rank():
    """BatchNorm cannot train on a shard of one row or none: the sampler's smallest batch
    grows with the ranks, and a corpus too small for it is a clear error up front."""
    from skcontrast._training import min_batch_size

    image = AimTSTransformer(image="line")
    assert min_batch_size(image, 1, [5]) == 2
    assert min_batch_size(image, 3, [12, 4]) == 6
    with pytest.raises(ValueError, match="at least 6 series.*largest dataset has 5"):
        min_batch_size(image, 3, [5, 2])
    # no BatchNorm to train: empty or one-row shards are fine (the gather is exact)
    assert min_batch_size(AimTSTransformer(image=None), 3, [5]) == 2
    assert min_batch_size(BTSFTransformer(), 8, [3]) == 2


def test_public_switch_makes_fits_independent():
    from skcontrast import distributed

    with distributed.disabled():
        assert not distributed.is_distributed() and distributed.world_size() == 1
    assert distributed.rank() == 0 and distributed.is_main()
