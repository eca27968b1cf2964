"""The training loop shared by every estimator: sampling, budget, progress, interruption."""

from __future__ import annotations

import math
import time
import warnings
from dataclasses import dataclass

import numpy as np
import torch
from tqdm.auto import tqdm

from skcontrast import _checkpoint, _distributed
from skcontrast._torch_utils import STREAM_TRAINING, autocast, torch_generator


@dataclass
class Step:
    """What a loss function may need to know about the current step."""

    index: int  # 0-based step number
    steps_per_epoch: int  # batches in one pass over all the data
    dataset: int  # which panel of the corpus the batch comes from
    indices: np.ndarray  # rows of that panel in the batch
    # the fit's own torch generator on the training device: draw the step's randomness
    # from it (generator=step.generator), not from torch's process-wide generator, which
    # torch code in other threads shares
    generator: torch.Generator | None = None


class BatchSampler:
    """Batches from a corpus of panels: each batch from one panel, panels drawn by size.

    Each panel is shuffled into near-equal batches (no straggler batch of one series) and
    consumed in order; a panel is chosen for each step with probability proportional to
    its number of series (AimTS's multi-source sampling), and reshuffled when used up.
    With one panel this is plain epoch-wise shuffling.
    """

    def __init__(self, sizes, batch_size, rng: np.random.Generator, min_batch=2):
        self.sizes = np.asarray(sizes)
        # panels too small for a batch (a lone series of its length: no negatives, and
        # BatchNorm cannot train on one sample) are encoded but not trained on
        self.weights = np.where(self.sizes >= min_batch, self.sizes, 0)
        if self.weights.sum() == 0:
            self.weights = self.sizes
        # near-equal batches, never one of a single series when a panel has two or more
        self.n_batches = [
            max(1, min(math.ceil(n / min(batch_size, n)), n // min_batch)) for n in self.sizes
        ]
        self.steps_per_epoch = int(sum(b for b, w in zip(self.n_batches, self.weights) if w))
        self.rng = rng
        self.queues = [[] for _ in self.sizes]

    def state_dict(self):
        return {
            "rng": self.rng.bit_generator.state,
            "queues": [[torch.from_numpy(b) for b in q] for q in self.queues],
        }

    def load_state_dict(self, state):
        self.rng.bit_generator.state = state["rng"]
        self.queues = [[b.numpy() for b in q] for q in state["queues"]]

    def next(self):
        d = 0 if len(self.sizes) == 1 else int(self.rng.choice(len(self.sizes), p=self.weights / self.weights.sum()))
        if not self.queues[d]:
            self.queues[d] = np.array_split(self.rng.permutation(self.sizes[d]), self.n_batches[d])
        return d, self.queues[d].pop(0)


class _Plateau:
    """Stop when an exponential moving average of the loss stops improving by ``tol``."""

    def __init__(self, tol, patience, smoothing=0.9):
        self.tol, self.patience, self.smoothing = tol, patience, smoothing
        self.ema, self.best, self.bad_steps = None, math.inf, 0

    def update(self, loss) -> bool:
        self.ema = loss if self.ema is None else self.smoothing * self.ema + (1 - self.smoothing) * loss
        if self.ema < self.best - self.tol * abs(self.best if math.isfinite(self.best) else 1):
            self.best, self.bad_steps = self.ema, 0
        else:
            self.bad_steps += 1
        return self.bad_steps >= self.patience


def n_steps(est, sizes, steps_per_epoch) -> int:
    """The step budget from ``n_iters`` / ``n_epochs`` / the estimator's default."""
    if max(sizes) < 2 and not getattr(est, "_trains_on_single_series", False):
        return 0  # no negatives, zero loss: only weight decay would move the weights
    if est.n_iters is not None:
        return int(est.n_iters)
    if est.n_epochs is not None:
        return int(est.n_epochs) * steps_per_epoch
    return est._default_n_iters(int(sum(sizes)))


def _release_device_memory(device):
    if device.type == "cuda":
        torch.cuda.empty_cache()


def apply_in_batches(est, fn, X: np.ndarray, device, prepare=None) -> np.ndarray:
    """``fn`` over chunks of ``est.inference_batch_size`` rows (bounded memory), as numpy.

    ``prepare`` (e.g. normalisation) is applied to each numpy chunk, so no transformed copy
    of the whole panel is ever made. On CUDA out-of-memory the chunk is halved and retried,
    with a warning.
    """
    name, out, start = type(est).__name__, None, 0
    chunk = min(est.inference_batch_size, max(len(X), 1))
    with torch.inference_mode():
        while start < len(X):
            rows = X[start : start + chunk]
            batch = torch.from_numpy(rows if prepare is None else prepare(rows)).to(device)
            try:
                with autocast(device, est.mixed_precision):
                    values = fn(batch).float().cpu().numpy()
            except torch.cuda.OutOfMemoryError:
                if chunk == 1:
                    raise
                del batch
                _release_device_memory(device)
                chunk = max(1, chunk // 2)
                warnings.warn(f"{name}: out of GPU memory while encoding; retrying with "
                              f"{chunk} series at a time.", UserWarning, stacklevel=3)  # fmt: skip
                continue
            if out is None:  # one allocation for the result, filled chunk by chunk
                out = np.empty((len(X), *values.shape[1:]), dtype=values.dtype)
            out[start : start + len(values)] = values
            start += len(values)
    return out


def min_batch_size(est, world: int, sizes) -> int:
    """The smallest batch the sampler may draw.

    Two series (negatives for the contrastive losses), one for estimators that train on
    single series. In a process group of ``world`` ranks, an estimator that needs
    ``est._min_shard_rows()`` rows on every rank (BatchNorm in a trained image encoder
    cannot train on one row or none) needs that many per rank; a corpus with no dataset
    large enough is a clear error rather than a crash on some ranks.
    """
    base = 1 if getattr(est, "_trains_on_single_series", False) else 2
    per_rank = est._min_shard_rows() if hasattr(est, "_min_shard_rows") else 0
    if world <= 1 or per_rank <= 0:
        return base
    needed = max(base, world * per_rank)
    if max(sizes) < needed:
        raise ValueError(
            f"{type(est).__name__}: with {world} processes every batch needs at least {needed} "
            f"series ({per_rank} per process for the BatchNorm of the trained image encoder), "
            f"but the largest dataset has {max(sizes)}. Use fewer processes, larger datasets, "
            "image=None, or a frozen pretrained image_encoder."
        )
    return needed


def run_training(est, network, panels, device, seed, loss_fn, after_step=None, extra_state=None):
    """Optimise ``loss_fn(network, batch, step)`` over batches of ``panels``.

    Returns ``(loss per step, why it stopped)``: ``"budget"``, ``"max_time"``,
    ``"early_stopping"`` or ``"interrupted"`` (Ctrl-C keeps the weights reached so far); a
    transformer that got a single series (no training steps) reports ``"single_series"``.
    ``step.generator`` is a torch generator on ``device`` seeded from ``seed``, for the
    loss's random draws (thread-safe, and saved in checkpoints).
    On CUDA out-of-memory the batch size is halved and the step retried, with a warning.
    With ``est.checkpoint_path``, everything a step depends on (and ``extra_state``, a module
    such as a weight average) is saved every ``est.checkpoint_every`` steps, between steps,
    and a matching checkpoint found at the start is resumed.

    Inside a ``torch.distributed`` process group (see ``skcontrast._distributed``) every
    rank draws the same global batch; ``loss_fn`` encodes its shard and gathers the
    embeddings, gradients are averaged over the ranks, stopping is agreed, rank 0 writes
    checkpoints and shows progress, and a resumed checkpoint is broadcast from rank 0.
    """
    distributed = _distributed.is_distributed()
    main = _distributed.is_main()
    name = type(est).__name__
    rng = np.random.default_rng(seed)
    batch_size = est.batch_size
    sizes = [len(p) for p in panels]
    min_batch = min_batch_size(est, _distributed.world_size(), sizes)
    sampler = BatchSampler(sizes, batch_size, rng, min_batch)
    total = n_steps(est, sampler.sizes, sampler.steps_per_epoch)
    optimizer = est._make_optimizer(network)
    tensors = [torch.from_numpy(p) for p in panels]
    generator = torch_generator(seed, device, STREAM_TRAINING)
    history, reason = [], "budget"
    plateau = _Plateau(est.tol, est.n_iter_no_change) if est.early_stopping else None
    checkpoint_path = getattr(est, "checkpoint_path", None)
    fingerprint = _checkpoint.fingerprint(est, panels) if checkpoint_path else None

    def save_checkpoint():
        _checkpoint.save(checkpoint_path, {
            "fingerprint": fingerprint, "network": network.state_dict(),
            "optimizer": optimizer.state_dict(), "sampler": sampler.state_dict(),
            "batch_size": batch_size, "history": list(history),
            "plateau": None if plateau is None else dict(vars(plateau)),
            "torch_rng": torch.get_rng_state(),
            "generator": generator.get_state(),
            # the training device's generator only: every rank draws the same stream on
            # its own device, so rank 0's state is every rank's state
            "cuda_rng": [torch.cuda.get_rng_state(device)] if device.type == "cuda" else [],
            "extra": None if extra_state is None else extra_state.state_dict(),
        })  # fmt: skip

    if distributed:  # the same start everywhere: rank 0's weights (and checkpoint below)
        _distributed.broadcast_module(network)
        if extra_state is not None:
            _distributed.broadcast_module(extra_state)
    resumed = None
    if checkpoint_path:  # read by rank 0 (its error raised on every rank), then broadcast
        hint = _checkpoint.mismatch_hint(est)
        resumed = _distributed.on_main(_checkpoint.load, checkpoint_path, fingerprint, name, hint)
    if resumed is not None:
        network.load_state_dict(resumed["network"])
        optimizer.load_state_dict(resumed["optimizer"])
        batch_size = resumed["batch_size"]
        sampler = BatchSampler(sampler.sizes, batch_size, rng, min_batch)
        sampler.load_state_dict(resumed["sampler"])
        history = list(resumed["history"])
        if plateau is not None and resumed["plateau"] is not None:
            vars(plateau).update(resumed["plateau"])
        torch.set_rng_state(resumed["torch_rng"])
        if "generator" in resumed:  # absent from checkpoints of earlier versions
            generator.set_state(resumed["generator"])
        if resumed["cuda_rng"] and device.type == "cuda":
            torch.cuda.set_rng_state(resumed["cuda_rng"][0], device)
        if extra_state is not None:
            extra_state.load_state_dict(resumed["extra"])
    start = time.perf_counter()
    network.train()
    progress = tqdm(total=total, initial=len(history), disable=not (est.verbose and main), desc=name)
    try:
        while len(history) < total:
            d, idx = sampler.next()
            batch = tensors[d][torch.from_numpy(idx)].to(device, non_blocking=True)
            step = Step(len(history), sampler.steps_per_epoch, d, idx, generator)
            try:
                with autocast(device, est.mixed_precision):
                    loss = loss_fn(network, batch, step)
                value = float(loss.detach())
                if not math.isfinite(value):  # stop before a bad step reaches the weights
                    raise FloatingPointError(
                        f"{name}: the training loss became {value} at step {len(history) + 1}. "
                        "Lower lr, or keep normalize='zscore' for series with large values."
                    )
                optimizer.zero_grad(set_to_none=True)
                loss.backward()
            except torch.cuda.OutOfMemoryError:
                if max(len(idx), 1) == 1 or distributed:  # the other ranks cannot follow
                    raise
                loss = batch = None
                optimizer.zero_grad(set_to_none=True)
                _release_device_memory(device)
                batch_size = max(1, len(idx) // 2)
                warnings.warn(f"{name}: out of GPU memory at a batch of {len(idx)} series; "
                              f"continuing with batch_size={batch_size}.", UserWarning, stacklevel=3)  # fmt: skip
                sampler = BatchSampler(sampler.sizes, batch_size, rng, min_batch)  # the step is retried
                continue
            _distributed.average_gradients(network.parameters())
            optimizer.step()
            if after_step is not None:
                after_step(network, step)
            history.append(value)
            if checkpoint_path and len(history) % est.checkpoint_every == 0:
                _distributed.on_main(save_checkpoint)  # rank 0 writes; its error reaches all
            progress.update(1)
            progress.set_postfix(loss=f"{value:.4f}")
            if len(history) >= total:
                break
            out_of_time = est.max_time is not None and time.perf_counter() - start > est.max_time
            plateaued = plateau is not None and plateau.update(value)
            # ranks' clocks differ: all stop at the same step (one all-reduce, only when a stop
            # rule is set; the condition reads parameters, so every rank makes the same call)
            if distributed and (est.max_time is not None or plateau is not None):
                out_of_time, plateaued = _distributed.agree(out_of_time, plateaued)
            if out_of_time:
                reason = "max_time"
                break
            if plateaued:
                reason = "early_stopping"
                break
    except KeyboardInterrupt:
        if distributed:  # ranks are interrupted at different steps: they cannot agree
            raise
        reason = "interrupted"
        # not saved here: the interrupt may have landed mid-step; the last periodic
        # checkpoint was taken between steps, so resuming from it stays exact
        last = len(history) - len(history) % est.checkpoint_every if checkpoint_path else 0
        resume = f" A fit with the same checkpoint_path resumes from step {last}." if checkpoint_path else ""
        warnings.warn(
            f"{name}: training interrupted after {len(history)} of {total} steps; the "
            f"estimator is fitted with the weights reached so far.{resume}",
            UserWarning,
            stacklevel=3,
        )
    finally:
        progress.close()
    # BatchNorm running statistics are per rank: average them so all ranks end identical
    _distributed.average_buffers(network)
    if extra_state is not None:
        _distributed.average_buffers(extra_state)
    return history, reason
