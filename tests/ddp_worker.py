"""One rank of the data-parallel tests (tests/test_distributed.py), launched like torchrun.

Environment: RANK, WORLD_SIZE, MASTER_ADDR, MASTER_PORT (as torchrun sets them). Fits the
configurations of ``configs()`` inside a gloo process group and saves, per configuration,
the final weights and the loss history to ``<out>/<name>-rank<r>.pt``.
"""

import os
import sys

import numpy as np
import torch


def data(seed=0, n=12, channels=2, length=24):
    rng = np.random.default_rng(seed)
    t = np.linspace(0, 4 * np.pi, length)
    freq = rng.uniform(0.5, 2.0, size=(n, channels, 1))
    return (np.sin(freq * t) + 0.1 * rng.standard_normal((n, channels, length))).astype(np.float32)


def configs():
    """(name, estimator) pairs; tiny networks so that the test stays fast."""
    from skcontrast import AimTSTransformer, BTSFTransformer

    common = dict(batch_size=8, n_iters=12, device="cpu", random_state=0)
    return [
        (
            "btsf",
            BTSFTransformer(
                hidden_channels=8,
                repr_dims=8,
                rank=2,
                n_loops=1,
                lr=3e-3,
                **common,
                options=dict(temporal_depth=1, spectral_depth=1, temporal_size=3, spectral_size=3),
            ),
        ),
        (
            "aimts",
            AimTSTransformer(
                hidden_channels=4,
                repr_dims=8,
                depth=1,
                image=None,
                lr=3e-3,
                **common,
                options=dict(projection_dims=4, swa=False),
            ),
        ),
        (
            "aimts_image",
            AimTSTransformer(
                hidden_channels=4,
                repr_dims=8,
                depth=1,
                image="line",
                image_size=8,
                lr=3e-3,
                **common,
                options=dict(projection_dims=4, image_width=2, warmup_epochs=0),
            ),
        ),
    ]


def result(est):
    return {
        "weights": {k: v.detach().clone() for k, v in est.network_.state_dict().items()},
        "loss": torch.tensor(est.loss_history_, dtype=torch.float64),
        "features": torch.from_numpy(np.asarray(est.transform(data()), dtype=np.float64)),
    }


def main(out):
    torch.set_num_threads(1)
    from skcontrast import _distributed

    assert _distributed.init_from_env(backend="gloo")
    rank = _distributed.rank()
    if rank == 0 and os.path.exists(f"{out}/other.ckpt"):  # left by a failed earlier launch
        os.remove(f"{out}/other.ckpt")
    try:
        for name, est in configs():
            est.fit(data())
            torch.save(result(est), f"{out}/{name}-rank{rank}.pt")
        # a checkpoint of another fit: rank 0's error is raised on every rank, nobody hangs
        # (the first fit stops on max_time, which keeps its checkpoint; a finished fit
        # would delete it)
        name, est = configs()[0]
        est.set_params(
            n_iters=2,
            max_time=1e-9,
            checkpoint_path=f"{out}/other.ckpt",
            options=dict(checkpoint_every=1),
        ).fit(data())
        try:
            est.set_params(lr=1e-2).fit(data())
            message = "no error"
        except ValueError as err:
            message = str(err)
        with open(f"{out}/mismatch-rank{rank}.txt", "w") as f:
            f.write(message)
        # every rank done before the group is torn down (gloo can abort a rank whose peer
        # has already left: "terminate called without an active exception")
        torch.distributed.barrier()
    finally:
        torch.distributed.destroy_process_group()


if __name__ == "__main__":
    main(sys.argv[1])
