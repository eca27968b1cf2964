"""Resumable training: periodic checkpoints of everything a step depends on.

A checkpoint holds the network and optimiser state, torch's and the batch sampler's RNG
states, the sampler's remaining batches, the loss history, the early-stopping state and any
extra state (AimTS's weight average). Resuming from it continues the very same sequence of
steps, so on the CPU an interrupted-then-resumed fit ends with exactly the weights of an
uninterrupted one. Files are written atomically and read with ``weights_only=True``.

A checkpoint exists to resume a fit that did not finish: it is deleted when a fit ends
normally, and kept when the fit was interrupted (Ctrl-C) or stopped by ``max_time`` (a
rerun continues it, e.g. a cluster job sliced by a time limit). :class:`Checkpointer` is
what the training loop uses: periodic saves on rank 0 and the resume from a matching file.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import stat
import tempfile
import zipfile
from pathlib import Path

import numpy as np
import torch

from skcontrast import _distributed

FORMAT = "skcontrast.checkpoint"

# parameters that do not change the steps of a fit: a fit may resume with other values
# (input_scales and readout: what transform reads out; no training step reads them)
_NOT_FINGERPRINTED = (
    "verbose",
    "checkpoint_path",
    "checkpoint_every",
    "max_time",
    "input_scales",
    "readout",
)
# parameters naming a weights file: the file's content matters, not its name
_WEIGHT_FILES = ("pretrained", "image_encoder")
# stop reasons after which the fit is unfinished and its checkpoint kept to resume it
KEEP_AFTER = ("interrupted", "max_time")


def short_error(err) -> str:
    """Type and first line of an error: torch's full text advises weights_only=False."""
    return f"{type(err).__name__}: {str(err).splitlines()[0][:100] if str(err) else ''}"


def _update_with_tensor(digest, tensor):
    tensor = tensor.detach().cpu().contiguous()
    digest.update(f"{tensor.dtype}{tuple(tensor.shape)}".encode())
    digest.update(tensor.reshape(-1).view(torch.uint8).numpy().tobytes())


def state_digest(state_dict) -> str:
    """Digest of a state dict's content (names, dtypes, shapes and values)."""
    digest = hashlib.blake2b(digest_size=16)
    for key, value in state_dict.items():
        digest.update(str(key).encode())
        if isinstance(value, torch.Tensor):
            _update_with_tensor(digest, value)
        else:
            digest.update(repr(value).encode())
    return digest.hexdigest()


def _file_digest(path) -> str:
    digest = hashlib.blake2b(digest_size=16)
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def canonical(key, value):
    """A stable, content-based stand-in for a parameter value in a fingerprint.

    ``repr`` is not enough: a ``RandomState`` prints its address, and two pretrained
    encoders with equal parameters but other weights print the same.
    """
    if isinstance(value, np.random.RandomState):
        name, keys, pos, has_gauss, gauss = value.get_state()
        keys_digest = hashlib.blake2b(keys.tobytes(), digest_size=16).hexdigest()
        return ("RandomState", keys_digest, pos, has_gauss, gauss)
    if hasattr(value, "get_params"):  # an estimator object (e.g. a fitted pretrained encoder)
        network = getattr(value, "network_", None)
        return (type(value).__qualname__, canonical_params(value),
                None if network is None else state_digest(network.state_dict()))  # fmt: skip
    if key in _WEIGHT_FILES and isinstance(value, (str, os.PathLike)) and os.path.isfile(value):
        return ("file", _file_digest(value))
    return repr(value)


def canonical_params(est) -> list:
    """The fingerprinted parameters of ``est``, sorted, as canonical values (options by
    name, at the value in effect: the same fit whether an option is given or left)."""
    params = est._effective_params()
    return sorted((k, canonical(k, v)) for k, v in params.items() if k not in _NOT_FINGERPRINTED)


def fingerprint(est, panels) -> str:
    """What a checkpoint must match: estimator, its parameters and the training data."""
    digest = hashlib.blake2b(digest_size=16)
    digest.update(f"{type(est).__name__}{canonical_params(est)}".encode())
    for panel in panels:
        digest.update(str(panel.shape).encode())
        digest.update(np.ascontiguousarray(panel).tobytes())
    return digest.hexdigest()


def mismatch_hint(est) -> str:
    """What to add to the message of a checkpoint that does not match ``est``."""
    if isinstance(getattr(est, "random_state", None), np.random.RandomState):
        return (
            " (random_state is a RandomState object: it matches only in the state it had at "
            "the start of the interrupted fit; an int random_state always does)"
        )
    return ""


def _umask() -> int:
    try:  # Linux: read it without changing it (os.umask is process-wide, not thread-safe)
        with open("/proc/self/status") as f:
            for line in f:
                if line.startswith("Umask:"):
                    return int(line.split()[1], 8)
    except (OSError, ValueError):
        pass
    mask = os.umask(0o022)
    os.umask(mask)
    return mask


def _is_interrupt(err) -> bool:
    """Whether ``err`` is, or was raised while handling, a ``KeyboardInterrupt`` (torch's
    writer turns a Ctrl-C inside its write callback into a ``RuntimeError``)."""
    seen = set()
    while err is not None and id(err) not in seen:
        if isinstance(err, KeyboardInterrupt):
            return True
        seen.add(id(err))
        err = err.__cause__ or err.__context__
    return False


def check_writable_target(path: Path):
    """Refuse a folder, or a read-only file, at ``path`` (a plain ``open`` would not write
    there either); ``None`` or the mode of the writable file to keep."""
    if path.is_dir():
        raise IsADirectoryError(
            f"cannot write {path}: it is a folder; give a file name in it, e.g. "
            f"{path / 'weights.pt'}."
        )
    try:
        mode = path.stat().st_mode
    except FileNotFoundError:
        return None
    if not os.access(path, os.W_OK) or not mode & stat.S_IWUSR:
        raise PermissionError(
            f"cannot write {path}: the file is read-only (mode {stat.filemode(mode)}), so it "
            "was left unchanged; make it writable (e.g. chmod u+w) or choose another path."
        )
    return stat.S_IMODE(mode)


def atomic_save(obj, path):
    """``torch.save`` to a unique temporary file in the same folder, then rename it.

    A crash, kill or Ctrl-C mid-write leaves any previous file intact (Ctrl-C surfaces as
    ``KeyboardInterrupt``, not as the ``RuntimeError`` torch's writer makes of it); the
    temporary name is unpredictable and created exclusively (no planted file or symlink
    is followed), and is removed on error. A file written over keeps its permissions; a
    read-only file or a folder at ``path`` is refused. An open binary file object is
    written as is.
    """
    if hasattr(path, "write"):
        torch.save(obj, path)
        return
    path = Path(path)
    folder = path.parent
    if not folder.is_dir():
        raise FileNotFoundError(
            f"cannot write {path}: the folder {folder} does not exist; create it first."
        )
    kept_mode = check_writable_target(path)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=folder)
    try:
        with os.fdopen(fd, "wb") as f:
            torch.save(obj, f)
            f.flush()
            os.fsync(f.fileno())
        # mkstemp creates the file private (0600): give it the permissions of the file it
        # replaces, else those of a plain open()
        os.chmod(tmp, kept_mode if kept_mode is not None else 0o666 & ~_umask())
        os.replace(tmp, path)
    except BaseException as err:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        if _is_interrupt(err):
            raise KeyboardInterrupt(
                f"interrupted while writing {path}; nothing was written (any previous file "
                "there is intact)."
            ) from None
        raise


def save(path, state: dict):
    """Write atomically: a crash mid-write leaves the previous checkpoint intact."""
    atomic_save({"format": FORMAT, **state}, path)


def check_path(path, name):
    """Raise a clear ValueError at the start of a fit if ``path`` cannot be written later."""
    if not isinstance(path, (str, os.PathLike)):
        raise ValueError(f"{name}: checkpoint_path must be None, a str or a path, got {path!r}.")
    path = Path(path)
    if path.is_dir():
        raise ValueError(
            f"{name}: checkpoint_path={str(path)!r} is a folder; give a file name in it."
        )
    folder = path.parent
    if not folder.is_dir():
        raise ValueError(
            f"{name}: the folder of checkpoint_path={str(path)!r} does not exist; create "
            f"{str(folder)!r} first or choose another checkpoint_path."
        )
    if not os.access(folder, os.W_OK | os.X_OK):
        raise ValueError(
            f"{name}: the folder {str(folder)!r} of checkpoint_path is not writable; choose "
            "another checkpoint_path."
        )
    try:
        check_writable_target(path)
    except PermissionError as err:
        raise ValueError(f"{name}: checkpoint_path: {err}") from None


def discard(path, stop_reason):
    """Delete the checkpoint of a fit that finished (it only serves to resume a fit)."""
    if path and stop_reason not in KEEP_AFTER:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(path)


def load(path, expected_fingerprint, name, hint="") -> dict | None:
    path = Path(path)
    if not path.exists():
        return None
    # a file there may be anything of the user's: it is read, never changed or deleted
    untouched = (
        "it was left untouched. Choose another checkpoint_path (or, if it is a damaged "
        "checkpoint of yours, delete it to start over)."
    )
    try:
        state = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as err:  # torch's own text is long and advises weights_only=False
        why = "a damaged or other zip file" if zipfile.is_zipfile(path) else "not a torch file"
        raise ValueError(
            f"{name}: checkpoint_path={str(path)!r} holds a file that is not a skcontrast "
            f"training checkpoint ({why}); {untouched}"
        ) from err
    if not isinstance(state, dict) or state.get("format") != FORMAT:
        raise ValueError(
            f"{name}: checkpoint_path={str(path)!r} holds a file that is not a skcontrast "
            f"training checkpoint; {untouched}"
        )
    if state.get("fingerprint") != expected_fingerprint:
        raise ValueError(
            f"{name}: the checkpoint {path} was written by a fit with other data or parameters; "
            f"delete it or choose another checkpoint_path to start a new fit.{hint}"
        )
    return state


class Checkpointer:
    """Periodic checkpoints of a fit and the exact resume from one (``est.checkpoint_path``).

    Rank 0 reads and writes the file; its result (or its error) reaches every rank. A
    checkpoint is saved between steps, so resuming from it continues the same steps.
    """

    def __init__(self, est, panels):
        self.path = est.checkpoint_path
        self.every = est.checkpoint_every
        self.name = type(est).__name__
        self.fingerprint = fingerprint(est, panels) if self.path else None
        self.hint = mismatch_hint(est) if self.path else ""

    def load(self) -> dict | None:
        """A matching checkpoint's state, ``None`` without one (a mismatch is an error)."""
        if not self.path:
            return None
        return _distributed.on_main(load, self.path, self.fingerprint, self.name, self.hint)

    def save_if_due(self, n_done: int, state_of):
        """Save ``state_of()`` (built on rank 0 only) every ``checkpoint_every`` steps."""
        if self.path and n_done % self.every == 0:
            _distributed.on_main(self._save, state_of)

    def _save(self, state_of):
        save(self.path, {"fingerprint": self.fingerprint, **state_of()})

    def resume_note(self, n_done: int) -> str:
        """Where a rerun resumes after an interruption at ``n_done`` steps (the last save)."""
        if not self.path:
            return ""
        last = n_done - n_done % self.every
        return f" A fit with the same checkpoint_path resumes from step {last}."
