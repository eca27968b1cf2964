"""skcontrast inside a ``torch.distributed`` process group (``torchrun``).

In an initialised process group every skcontrast ``fit`` is data-parallel: **all ranks must
call it together**, with the same data and parameters (a fit on some ranks only waits for
the others in its first collective). To fit on one rank or independently on each rank, for
example a classifier on rank 0 after a data-parallel pretraining, wrap the fit in
:func:`disabled`::

    from skcontrast.distributed import disabled, is_main

    encoder.fit(corpus)                        # every rank: data-parallel
    if is_main():
        with disabled():                       # rank 0 alone: an ordinary fit
            clf = AimTSClassifier(pretrained=encoder).fit(X, y)

See the "Scaling out" page of the documentation.
"""

from skcontrast._distributed import disabled, is_distributed, is_main, rank, world_size

__all__ = ["disabled", "is_distributed", "is_main", "rank", "world_size"]
