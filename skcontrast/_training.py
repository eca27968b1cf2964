"""The training loop shared by every estimator: sample a batch, take a step, record it.

:func:`run_training` is the loop; it calls single-purpose pieces: :class:`BatchSampler`
(which series form a batch), :class:`StopRules` (``max_time`` and early stopping, agreed by
every rank), ``_checkpoint.Checkpointer`` (periodic checkpoints and the exact resume),
:func:`halved_batch_size` (the back-off on CUDA out-of-memory) and :class:`History` (the
loss at every step and its named terms).
"""

from __future__ import annotations

import math
import time
import warnings
from collections.abc import Mapping
from dataclasses import dataclass

import numpy as np
import torch
from tqdm.auto import tqdm

from skcontrast import _distributed
from skcontrast._checkpoint import Checkpointer
from skcontrast._inference import release_device_memory
from skcontrast._torch_utils import STREAM_TRAINING, autocast, torch_generator


@dataclass
class FitState:
    """What a method's ``_training_context`` yields for one fit: the step hooks read it as
    ``step.fit`` (fit-time state stays off the estimator), and ``checkpointed`` (a module,
    e.g. a weight average, or None) is saved and resumed with the network. A method adds
    its own fields in a subclass."""

    checkpointed: torch.nn.Module | None = None


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
    # the batch's labels (on the CPU) when the fit has targets (fine-tuning), else None
    targets: torch.Tensor | None = None
    # what the method's _training_context yielded (a FitState, or None)
    fit: FitState | None = None

    @staticmethod
    def per_row(fn):
        """``fn`` over the rows of its arguments (tensors or arrays, one row per series of
        the global batch), data-parallel: in a process group each rank runs ``fn`` on its
        shard of the rows and the tensors it returns (one, or a tuple) are gathered into
        the global batch (autograd-aware), so the loss sees every rank's rows; alone,
        ``fn`` itself. The loop owns the sharding: an objective wraps its encoders in this
        and imports nothing of ``skcontrast._distributed``."""
        if not _distributed.is_distributed():
            return fn

        def sharded(*rows):
            n = len(rows[0])
            out = fn(*(_distributed.shard(r) for r in rows))
            if isinstance(out, tuple):
                return tuple(_distributed.gather(o, n) for o in out)
            return _distributed.gather(out, n)

        return sharded


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
        batches = zip(self.n_batches, self.weights, strict=True)
        self.steps_per_epoch = int(sum(b for b, w in batches if w))
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
        d = (
            0
            if len(self.sizes) == 1
            else int(self.rng.choice(len(self.sizes), p=self.weights / self.weights.sum()))
        )
        if not self.queues[d]:
            self.queues[d] = np.array_split(self.rng.permutation(self.sizes[d]), self.n_batches[d])
        return d, self.queues[d].pop(0)


class _Plateau:
    """Stop when an exponential moving average of the loss stops improving by ``tol``."""

    def __init__(self, tol, patience, smoothing=0.9):
        self.tol, self.patience, self.smoothing = tol, patience, smoothing
        self.ema, self.best, self.bad_steps = None, math.inf, 0

    def update(self, loss) -> bool:
        self.ema = (
            loss if self.ema is None else self.smoothing * self.ema + (1 - self.smoothing) * loss
        )
        if self.ema < self.best - self.tol * abs(self.best if math.isfinite(self.best) else 1):
            self.best, self.bad_steps = self.ema, 0
        else:
            self.bad_steps += 1
        return self.bad_steps >= self.patience


class StopRules:
    """Why to stop before the step budget: ``max_time`` or early stopping.

    Inside a process group the ranks' clocks differ: every rank stops at the same step
    (one all-reduce per step, only when a rule is set; the condition reads parameters, so
    every rank makes the same call).
    """

    def __init__(self, est):
        self.max_time = est.max_time
        self.plateau = _Plateau(est.tol, est.n_iter_no_change) if est.early_stopping else None
        self.start = time.perf_counter()

    def start_clock(self):
        self.start = time.perf_counter()

    def state_dict(self):
        return None if self.plateau is None else dict(vars(self.plateau))

    def load_state_dict(self, state):
        if self.plateau is not None and state is not None:
            vars(self.plateau).update(state)

    def reason_to_stop(self, loss: float) -> str | None:
        """``"max_time"``, ``"early_stopping"`` or ``None`` after a step of ``loss``."""
        out_of_time = self.max_time is not None and time.perf_counter() - self.start > self.max_time
        plateaued = self.plateau is not None and self.plateau.update(loss)
        if _distributed.is_distributed() and (
            self.max_time is not None or self.plateau is not None
        ):
            out_of_time, plateaued = _distributed.agree(out_of_time, plateaued)
        if out_of_time:
            return "max_time"
        if plateaued:
            return "early_stopping"
        return None


class History:
    """The loss at every step (``total``) and each of its named terms (``terms``).

    A term missing from a step (e.g. AimTS's prototype terms during the warm-up) counts 0
    at that step; steps resumed from a checkpoint that did not record terms count NaN.
    """

    def __init__(self):
        self.total: list[float] = []
        self.terms: dict[str, list[float]] = {}
        self._unrecorded = 0  # leading steps without recorded terms
        # why and where Ctrl-C stopped the loop (the fit re-raises it), else None
        self.interruption: str | None = None

    def __len__(self):
        return len(self.total)

    def record(self, total: float, terms: Mapping[str, float]):
        for name in terms:
            if name not in self.terms:
                known = len(self.total) - self._unrecorded
                self.terms[name] = [math.nan] * self._unrecorded + [0.0] * known
        for name, values in self.terms.items():
            values.append(float(terms.get(name, 0.0)))
        self.total.append(float(total))

    def state_dict(self):
        return {"history": list(self.total), "terms": {k: list(v) for k, v in self.terms.items()}}

    def load_state_dict(self, state):
        self.total = list(state["history"])
        terms = state.get("terms")  # absent from checkpoints of earlier versions
        self.terms = {k: list(v) for k, v in (terms or {}).items()}
        self._unrecorded = 0 if terms is not None else len(self.total)


def loss_and_terms(objective) -> tuple[torch.Tensor, dict[str, torch.Tensor]]:
    """The loss to minimise and its named terms, from what a training objective returned.

    An objective returns the loss (recorded as the single term ``"loss"``) or a mapping of
    named terms whose sum, in order, is the loss.
    """
    if isinstance(objective, torch.Tensor):
        return objective, {"loss": objective}
    if not isinstance(objective, Mapping) or not objective:
        raise TypeError(
            "a training objective returns a loss tensor or a non-empty dict of named loss "
            f"terms, got {type(objective).__name__}."
        )
    loss = None
    for term in objective.values():
        loss = term if loss is None else loss + term
    return loss, dict(objective)


def n_steps(est, sizes, steps_per_epoch) -> int:
    """The step budget from ``n_iters`` / ``n_epochs`` / the estimator's default."""
    if max(sizes) < 2 and not est._trains_on_single_series:
        return 0  # no negatives, zero loss: only weight decay would move the weights
    if est.n_iters is not None:
        return int(est.n_iters)
    if est.n_epochs is not None:
        return int(est.n_epochs) * steps_per_epoch
    return est._default_n_iters(int(sum(sizes)))


def halved_batch_size(name, n_rows, device, distributed) -> int | None:
    """The batch size to retry a step with after CUDA ran out of memory on ``n_rows`` series.

    ``None`` when the batch cannot shrink (one series), or in a process group (the other
    ranks cannot follow). Otherwise the device's cache is released, with a warning.
    """
    if max(n_rows, 1) == 1 or distributed:
        return None
    release_device_memory(device)
    batch_size = max(1, n_rows // 2)
    warnings.warn(
        f"{name}: out of GPU memory at a batch of {n_rows} series; "
        f"continuing with batch_size={batch_size}.",
        UserWarning,
        stacklevel=6,
    )
    return batch_size


def min_batch_size(est, world: int, sizes) -> int:
    """The smallest batch the sampler may draw.

    Two series (negatives for the contrastive losses), one for estimators that train on
    single series. In a process group of ``world`` ranks, an estimator that needs
    ``est._min_shard_rows()`` rows on every rank (BatchNorm in a trained image encoder
    cannot train on one row or none) needs that many per rank; a corpus with no dataset
    large enough is a clear error rather than a crash on some ranks.
    """
    base = 1 if est._trains_on_single_series else 2
    per_rank = est._min_shard_rows()
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


class _TrainingRun:
    """The state of one training loop: network, optimiser, sampler, generators, history."""

    def __init__(self, est, network, panels, device, seed, fit, targets):
        self.est, self.network, self.device = est, network, device
        self.fit, self.targets = fit, targets
        self.extra_state = None if fit is None else fit.checkpointed
        self.name = type(est).__name__
        self.distributed = _distributed.is_distributed()
        self.rng = np.random.default_rng(seed)
        self.batch_size = est.batch_size
        sizes = [len(p) for p in panels]
        self.min_batch = min_batch_size(est, _distributed.world_size(), sizes)
        self.sampler = BatchSampler(sizes, self.batch_size, self.rng, self.min_batch)
        self.total = n_steps(est, self.sampler.sizes, self.sampler.steps_per_epoch)
        self.optimizer = est._make_optimizer(network)
        for group in self.optimizer.param_groups:  # est._lr_factor scales it at each step
            group.setdefault("initial_lr", group["lr"])
        self.tensors = [torch.from_numpy(p) for p in panels]
        self.generator = torch_generator(seed, device, STREAM_TRAINING)
        self.history = History()
        self.stop = StopRules(est)
        self.checkpoints = Checkpointer(est, panels)

    # -- checkpoints -------------------------------------------------------------------
    def state_dict(self) -> dict:
        """Everything the next step depends on."""
        device = self.device
        return {
            "network": self.network.state_dict(),
            "optimizer": self.optimizer.state_dict(),
            "sampler": self.sampler.state_dict(),
            "batch_size": self.batch_size,
            **self.history.state_dict(),
            "plateau": self.stop.state_dict(),
            "torch_rng": torch.get_rng_state(),
            "generator": self.generator.get_state(),
            # the training device's generator only: every rank draws the same stream on
            # its own device, so rank 0's state is every rank's state
            "cuda_rng": [torch.cuda.get_rng_state(device)] if device.type == "cuda" else [],
            "extra": None if self.extra_state is None else self.extra_state.state_dict(),
        }

    def load_state_dict(self, state):
        self.network.load_state_dict(state["network"])
        self.optimizer.load_state_dict(state["optimizer"])
        self._resize_batches(state["batch_size"])
        self.sampler.load_state_dict(state["sampler"])
        self.history.load_state_dict(state)
        self.stop.load_state_dict(state["plateau"])
        torch.set_rng_state(state["torch_rng"])
        if "generator" in state:  # absent from checkpoints of earlier versions
            self.generator.set_state(state["generator"])
        if state["cuda_rng"] and self.device.type == "cuda":
            torch.cuda.set_rng_state(state["cuda_rng"][0], self.device)
        if self.extra_state is not None:
            self.extra_state.load_state_dict(state["extra"])

    def _resize_batches(self, batch_size):
        self.batch_size = batch_size
        self.sampler = BatchSampler(self.sampler.sizes, batch_size, self.rng, self.min_batch)

    # -- the loop ----------------------------------------------------------------------
    def start(self):
        """The same start on every rank (rank 0's weights), then a checkpoint's, if any."""
        if self.distributed:
            _distributed.broadcast_module(self.network)
            if self.extra_state is not None:
                _distributed.broadcast_module(self.extra_state)
        resumed = self.checkpoints.load()  # read by rank 0, broadcast
        if resumed is not None:
            self.load_state_dict(resumed)

    def step(self) -> float | None:
        """One optimiser step: its loss, or ``None`` when it is to be retried (out of memory)."""
        d, idx = self.sampler.next()
        batch = self.tensors[d][torch.from_numpy(idx)].to(self.device, non_blocking=True)
        targets = None if self.targets is None else self.targets[d][torch.from_numpy(idx)]
        step = Step(
            len(self.history), self.sampler.steps_per_epoch, d, idx, self.generator, targets,
            self.fit,
        )
        try:
            with autocast(self.device, self.est.mixed_precision):
                loss, terms = loss_and_terms(self.est._training_loss(self.network, batch, step))
            value = float(loss.detach())
            if not math.isfinite(value):  # stop before a bad step reaches the weights
                raise FloatingPointError(
                    f"{self.name}: the training loss became {value} at step "
                    f"{len(self.history) + 1}. Lower lr, or keep normalize='zscore' for series "
                    "with large values."
                )
            terms = {name: float(term.detach()) for name, term in terms.items()}
            self.optimizer.zero_grad(set_to_none=True)
            loss.backward()
        except torch.cuda.OutOfMemoryError:
            loss = batch = terms = None
            self.optimizer.zero_grad(set_to_none=True)
            batch_size = halved_batch_size(self.name, len(idx), self.device, self.distributed)
            if batch_size is None:
                raise
            self._resize_batches(batch_size)  # the step is retried
            return None
        _distributed.average_gradients(self.network.parameters())
        factor = self.est._lr_factor(len(self.history), self.total)
        for group in self.optimizer.param_groups:
            group["lr"] = group["initial_lr"] * factor
        self.optimizer.step()
        self.est._after_step(self.network, step)
        self.history.record(value, terms)
        return value

    def run(self) -> str:
        """Steps until the budget, a stop rule or Ctrl-C; returns why it stopped."""
        self.stop.start_clock()
        self.network.train()
        main = _distributed.is_main()
        progress = tqdm(total=self.total, initial=len(self.history),
                        disable=not (self.est.verbose and main), desc=self.name)  # fmt: skip
        try:
            while len(self.history) < self.total:
                value = self.step()
                if value is None:
                    continue
                self.checkpoints.save_if_due(len(self.history), self.state_dict)
                progress.update(1)
                progress.set_postfix(loss=f"{value:.4f}")
                if len(self.history) >= self.total:
                    break
                reason = self.stop.reason_to_stop(value)
                if reason is not None:
                    return reason
        except KeyboardInterrupt:
            if self.distributed:  # ranks are interrupted at different steps: they cannot agree
                raise
            # not saved here: the interrupt may have landed mid-step; the last periodic
            # checkpoint was taken between steps, so resuming from it stays exact. The fit
            # finishes the estimator with the weights reached so far, then re-raises (a
            # model-selection loop must stop, not score a half-trained model)
            n_done = len(self.history)
            self.history.interruption = (
                f"{self.name}: training interrupted after {n_done} of {self.total} steps; the "
                "estimator is fitted with the weights reached so far (stop_reason_="
                f"'interrupted'), usable as it is.{self.checkpoints.resume_note(n_done)}"
            )
            return "interrupted"
        finally:
            progress.close()
        return "budget"

    def finish(self):
        # BatchNorm running statistics are per rank: average them so all ranks end identical
        _distributed.average_buffers(self.network)
        if self.extra_state is not None:
            _distributed.average_buffers(self.extra_state)


def run_training(est, network, panels, device, seed, fit=None, targets=None):
    """Optimise ``est._training_loss(network, batch, step)`` over batches of ``panels``.

    Returns ``(history, why it stopped)``: a :class:`History` (the loss per step and its
    named terms) and ``"budget"``, ``"max_time"``, ``"early_stopping"`` or
    ``"interrupted"`` (Ctrl-C keeps the weights reached so far; ``history.interruption``
    says where, and the estimator's fit re-raises ``KeyboardInterrupt`` once its fitted
    state is complete: ``TorchTrainingMixin._raise_if_interrupted``). The objective returns
    the loss or a dict of named terms whose sum is the loss (:func:`loss_and_terms`).
    ``step.generator`` is a torch generator on ``device`` seeded from ``seed``, for the
    objective's random draws (thread-safe, and saved in checkpoints); ``step.targets`` the
    batch's rows of ``targets`` (one tensor per panel), if given. ``est._after_step(network,
    step)`` runs after each optimiser step; ``est._make_optimizer(network)`` makes the
    optimiser, whose learning rates are scaled by ``est._lr_factor(step, total)`` at each
    step (a schedule).
    On CUDA out-of-memory the batch size is halved and the step retried, with a warning.
    ``fit`` is what the method's ``_training_context`` yielded (a :class:`FitState` or
    None), handed to the hooks as ``step.fit``.
    With ``est.checkpoint_path``, everything a step depends on (and ``fit.checkpointed``, a
    module such as a weight average) is saved every ``est.checkpoint_every`` steps, between
    steps, and a matching checkpoint found at the start is resumed.

    Inside a ``torch.distributed`` process group (see ``skcontrast._distributed``) every
    rank draws the same global batch; the objective encodes its shard and gathers the
    embeddings, gradients are averaged over the ranks, stopping is agreed, rank 0 writes
    checkpoints and shows progress, and a resumed checkpoint is broadcast from rank 0.
    """
    run = _TrainingRun(est, network, panels, device, seed, fit, targets)
    run.start()
    reason = run.run()
    run.finish()
    return run.history, reason
