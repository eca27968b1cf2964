"""Data-parallel training inside a ``torch.distributed`` process group (DDP-style).

When ``fit`` runs in an initialised process group (e.g. under ``torchrun``), training is
data-parallel and needs no other change:

* every rank draws the *same* global batch from the same seeded sampler (rank 0's seed is
  broadcast) and applies the cheap random operations (dropout masks, augmentations, mixup
  coefficients) to the whole global batch, so every rank consumes its RNG exactly like a
  single process would;
* each rank runs the encoder on its shard, rows ``r::W`` (:func:`shard`);
* :func:`gather` all-gathers the embeddings back into global order, with an autograd-aware
  backward, so the contrastive losses see every negative of the global batch and every rank
  computes the same loss as one process on that batch;
* gradients are all-reduced and averaged (:func:`average_gradients`), so every rank takes the
  same optimiser step and all ranks end with identical weights; BatchNorm running statistics
  (AimTS's image encoder) are averaged at the end (:func:`average_buffers`);
* stopping (``max_time``, early stopping) is agreed by all ranks (:func:`agree`); rank 0
  writes checkpoints and shows progress; a resumed checkpoint is broadcast from rank 0.

Outside a process group (or with one process) every helper is the identity, so a single
process trains exactly as before. BatchNorm layers normalise with per-rank batch
statistics: a W-process run then differs slightly from one process (AimTS's image encoder);
everything else matches one process on the same global batch to float rounding.
"""

from __future__ import annotations

import contextlib
import os

import torch
import torch.distributed as dist

_ENABLED = True


@contextlib.contextmanager
def disabled():
    """Fit independently on every rank even inside a process group (no data parallelism).

    Inside ``with disabled():`` a fit is an ordinary single-process fit, so it may run on
    some ranks only. The switch is process-wide (not per thread).
    """
    global _ENABLED
    previous, _ENABLED = _ENABLED, False
    try:
        yield
    finally:
        _ENABLED = previous


def is_distributed() -> bool:
    """Whether fits are data-parallel here: a process group of 2 or more ranks, not disabled."""
    return _ENABLED and dist.is_available() and dist.is_initialized() and dist.get_world_size() > 1


def rank() -> int:
    """This process's rank in the data-parallel group (0 outside one)."""
    return dist.get_rank() if is_distributed() else 0


def world_size() -> int:
    """Number of processes a fit is split over (1 outside a group)."""
    return dist.get_world_size() if is_distributed() else 1


def is_main() -> bool:
    """Rank 0 (or not distributed): the process that logs and writes files."""
    return rank() == 0


def _comm_device() -> torch.device:
    """Where collective tensors live: the current CUDA device for NCCL, else the CPU."""
    if dist.get_backend() == "nccl":
        return torch.device("cuda", torch.cuda.current_device())
    return torch.device("cpu")


def _local_rank() -> int:
    """``LOCAL_RANK`` (torchrun), else the global rank modulo the visible GPUs (srun, mpirun)."""
    if "LOCAL_RANK" in os.environ:
        return int(os.environ["LOCAL_RANK"])
    rank = dist.get_rank() if dist.is_initialized() else int(os.environ.get("RANK", 0))
    return rank % max(torch.cuda.device_count(), 1)


def local_device(device: torch.device) -> torch.device:
    """A CUDA device without an index becomes ``cuda:LOCAL_RANK`` in a process group."""
    if device.type == "cuda" and device.index is None and is_distributed():
        device = torch.device("cuda", _local_rank())
        torch.cuda.set_device(device)
    return device


def broadcast_object(obj):
    """Rank 0's ``obj`` on every rank."""
    if not is_distributed():
        return obj
    box = [obj]
    dist.broadcast_object_list(box, src=0)
    return box[0]


def broadcast_module(module: torch.nn.Module):
    """Copy rank 0's parameters and buffers to every rank (in place)."""
    if not is_distributed():
        return
    device = _comm_device()
    with torch.no_grad():
        for t in list(module.parameters()) + list(module.buffers()):
            buf = t.detach().to(device)
            dist.broadcast(buf, src=0)
            if buf is not t:
                t.copy_(buf)


def shard(x):
    """This rank's rows ``x[rank::world_size]`` of a global batch (tensor or array)."""
    return x[rank() :: world_size()] if is_distributed() else x


def shard_sizes(n: int, world: int):
    return [len(range(r, n, world)) for r in range(world)]


class _Gather(torch.autograd.Function):
    """All-gather of per-rank shards into global row order, differentiable.

    Backward: the gradient of the gathered tensor is summed over ranks (all-reduce) and
    each rank keeps its own rows. Every rank computes the same loss, so the summed
    gradient is ``W`` times the true one; :func:`average_gradients` divides it back, which
    also keeps parameters used outside the shard path (replicated on every rank) right.
    """

    @staticmethod
    def forward(ctx, local, n):
        world, me = dist.get_world_size(), dist.get_rank()
        sizes = shard_sizes(n, world)
        ctx.n, ctx.world, ctx.me = n, world, me
        width = max(sizes)
        # on the backend's device (a no-op for NCCL; gloo gathers CPU tensors)
        padded = local.new_zeros((width, *local.shape[1:]), device=_comm_device())
        padded[: len(local)] = local
        parts = [torch.empty_like(padded) for _ in range(world)]
        dist.all_gather(parts, padded)
        out = local.new_empty((n, *local.shape[1:]))
        for r, part in enumerate(parts):
            out[r::world] = part[: sizes[r]]
        return out

    @staticmethod
    def backward(ctx, grad):
        total = grad.to(_comm_device(), copy=True).contiguous()
        dist.all_reduce(total, op=dist.ReduceOp.SUM)
        return total[ctx.me :: ctx.world].to(grad.device), None


def gather(local: torch.Tensor, n: int) -> torch.Tensor:
    """The global batch of ``n`` rows from every rank's :func:`shard` output (autograd-aware)."""
    if not is_distributed():
        return local
    return _Gather.apply(local, n)


def average_gradients(parameters):
    """All-reduce the gradients of ``parameters`` (one flat buffer) and divide by W."""
    if not is_distributed():
        return
    # parameters without a gradient (unused this step) have none on every rank: the graph
    # is the same everywhere, and the optimiser must keep skipping them
    params = [p for p in parameters if p.requires_grad and p.grad is not None]
    if not params:
        return
    flat = torch.cat([p.grad.reshape(-1) for p in params]).to(_comm_device())
    dist.all_reduce(flat, op=dist.ReduceOp.SUM)
    flat /= world_size()
    offset = 0
    for p in params:
        n = p.numel()
        p.grad = flat[offset : offset + n].view_as(p).to(p.device, p.dtype)
        offset += n


def average_buffers(module: torch.nn.Module):
    """Average floating-point buffers (BatchNorm running statistics) over the ranks."""
    if not is_distributed():
        return
    device = _comm_device()
    with torch.no_grad():
        for b in module.buffers():
            if b.is_floating_point():
                buf = b.detach().to(device).clone()
                dist.all_reduce(buf, op=dist.ReduceOp.SUM)
                b.copy_(buf / world_size())


def agree(*flags: bool):
    """Each flag true on every rank when it is true on any rank (one all-reduce).

    One flag gives a bool, several a tuple; e.g. stop conditions that must be agreed.
    """
    if is_distributed():
        t = torch.tensor([1.0 if f else 0.0 for f in flags], device=_comm_device())
        dist.all_reduce(t, op=dist.ReduceOp.MAX)
        flags = tuple(bool(v > 0) for v in t.tolist())
    else:
        flags = tuple(bool(f) for f in flags)
    return flags[0] if len(flags) == 1 else flags


def on_main(fn, *args):
    """``fn(*args)`` on rank 0 only, its result (or its exception) on every rank.

    An error on rank 0 (e.g. a checkpoint of another fit) is raised on every rank instead
    of leaving the others waiting in the next collective.
    """
    if not is_distributed():
        return fn(*args)
    result, error = None, None
    if is_main():
        try:
            result = fn(*args)
        except Exception as err:  # re-raised below, on every rank
            error = err
    result, error = broadcast_object((result, error))
    if error is not None:
        raise error
    return result


def init_from_env(backend=None) -> bool:
    """Initialise the default process group from torchrun's environment variables.

    Does nothing (returns False) unless ``WORLD_SIZE`` > 1 and no group exists yet. The
    backend defaults to NCCL when CUDA is available, else gloo.
    """
    if dist.is_initialized() or int(os.environ.get("WORLD_SIZE", "1")) <= 1:
        return False
    if backend is None:
        backend = "nccl" if torch.cuda.is_available() else "gloo"
    if backend == "nccl":
        torch.cuda.set_device(_local_rank())
    dist.init_process_group(backend=backend)
    return True
