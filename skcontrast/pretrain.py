"""Pretrain an encoder on a corpus of datasets: ``python -m skcontrast.pretrain``.

Alone::

    python -m skcontrast.pretrain data/ --out encoder.pt --checkpoint pretrain.ckpt

Data-parallel on every GPU of a node, or on several nodes (see docs/scaling_out.md)::

    torchrun --nproc-per-node=gpu -m skcontrast.pretrain data/ --out encoder.pt
    torchrun --nnodes=2 --nproc-per-node=8 --rdzv-backend=c10d \\
        --rdzv-endpoint=HOST:29500 -m skcontrast.pretrain data/ --out encoder.pt

``DATA`` are files or folders of ``.npy`` (a 2-D ``(n, T)`` or 3-D ``(n, C, T)`` array),
``.npz`` (every 2-D/3-D array in it is a panel; 1-D arrays such as labels are skipped) and
``.ts`` files (sktime/UCR format, labelled or not; series of unequal length are grouped by
length). Each panel is a dataset of the corpus. The output is a weights-only file: with
``--method aimts``, ``AimTSTransformer(pretrained="encoder.pt")`` and
``AimTSClassifier(pretrained="encoder.pt")`` start from it; with ``--method btsf`` (one
panel, or panels of one shape, concatenated), ``BTSFTransformer.load_weights`` reads it.

With ``--checkpoint``, training state is saved every ``--checkpoint-every`` steps (by rank
0) and a rerun of the same command resumes from it (a run that finishes deletes it). Under
``torchrun`` (``WORLD_SIZE`` > 1) the process group is initialised here (NCCL on GPUs, gloo
on CPUs); the global batch of ``--batch-size`` series is split over the processes. A user
error (bad file, option or parameter) prints one line ``pretrain: ...`` and exits with 2.
"""

from __future__ import annotations

import argparse
import ast
import numbers
import os
import sys
import time
import zipfile
from pathlib import Path

import numpy as np

SUFFIXES = (".npy", ".npz", ".ts")
PROG = "python -m skcontrast.pretrain"

EPILOG = f"""\
examples:
  {PROG} data/ --out encoder.pt --n-iters 200 --checkpoint pretrain.ckpt
  {PROG} data/ --out encoder.pt --param image=None --param depth=4
  {PROG} train.npz --method btsf --out btsf.pt --param temporal_depth=4 --param rank=4

data (files, or folders searched recursively; each 2-D/3-D array is one dataset):
  .npy  one array: (n, T) univariate or (n, C, T) multivariate series
  .npz  several arrays, e.g. np.savez("d.npz", X=X, y=y): every 2-D/3-D array is a
        dataset; 1-D (labels) and other arrays are skipped without being read
  .ts   sktime/UCR text format, with or without class labels; series of unequal
        length are grouped by length

--param names are the estimator's constructor parameters: AimTSTransformer (--method
aimts) or BTSFTransformer (--method btsf); VALUE is a Python literal (4, 1e-3, None,
True, 'line'), else taken as a string. Errors print one line "pretrain: ..." and exit 2.
"""

# estimator parameters with an option of their own (not settable with --param)
OWN_OPTIONS = {"batch_size": "--batch-size", "n_iters": "--n-iters", "n_epochs": "--n-epochs",
               "max_time": "--max-time", "device": "--device", "random_state": "--seed",
               "checkpoint_path": "--checkpoint", "checkpoint_every": "--checkpoint-every",
               "verbose": "--verbose", "lr": "--lr"}  # fmt: skip


class UsageError(SystemExit):
    """A user error: ``main`` prints ``pretrain: <message>`` on stderr and exits with 2."""

    def __init__(self, message):
        super().__init__(2)
        self.message = " ".join(str(message).split())  # one line, whatever the source

    def __str__(self):
        return f"pretrain: {self.message}"


def _files(paths):
    files = []
    for path in map(Path, paths):
        if path.is_dir():
            found = sorted(p for p in path.rglob("*") if p.suffix in SUFFIXES and p.is_file())
            if not found:
                raise ValueError(f"no {'/'.join(SUFFIXES)} files in the folder {path}")
            files.extend(found)
        elif path.is_file():
            if path.suffix not in SUFFIXES:
                raise ValueError(f"{path} is not a {'/'.join(SUFFIXES)} file")
            files.append(path)
        elif path.exists():
            raise ValueError(f"{path} is neither a regular file nor a folder")
        else:
            raise ValueError(f"{path} does not exist")
    return files


def _as_panel(array, source):
    if array.dtype.kind not in "biuf":  # booleans, integers, floats
        raise ValueError(f"{source} holds {array.dtype} values; expected numbers")
    if array.ndim not in (2, 3):
        raise ValueError(f"{source} holds a {array.ndim}-D array; expected (n, T) or (n, C, T)")
    if 0 in array.shape:
        raise ValueError(f"{source} holds an empty array of shape {array.shape}")
    array = np.asarray(array, dtype=np.float32)
    return array[:, np.newaxis, :] if array.ndim == 2 else array


def _npy_header(member):
    """``(shape, dtype)`` from the header of an open ``.npy`` stream (no data read), or
    ``None`` for a format version without a public header reader (3.0: utf-8 names)."""
    fmt = np.lib.format
    version = fmt.read_magic(member)
    readers = {(1, 0): fmt.read_array_header_1_0, (2, 0): fmt.read_array_header_2_0}
    if version not in readers:
        return None
    shape, _, dtype = readers[version](member)
    return shape, dtype


def _npz_panels(path):
    """Every 2-D/3-D array of an ``.npz``; other members are skipped after their header."""
    panels = []
    with zipfile.ZipFile(path) as archive:
        for info in archive.infolist():
            if not info.filename.endswith(".npy"):
                continue
            with archive.open(info) as member:
                header = _npy_header(member)
            if header is not None and len(header[0]) not in (2, 3):
                continue  # labels, scalars...: never decompressed
            source = f"{path}:{info.filename[:-4]}"
            if header is not None and header[1].hasobject:
                raise ValueError(f"{source} holds Python objects; expected numbers")
            with archive.open(info) as member:
                array = np.lib.format.read_array(member, allow_pickle=False)
            if array.ndim in (2, 3):
                panels.append(_as_panel(array, source))
    if not panels:
        raise ValueError(f"{path} holds no 2-D or 3-D array; expected (n, T) or (n, C, T) series")
    return panels


def _ts_panels(path):
    """The series of a ``.ts`` file, labelled or not, one panel per length."""
    from sktime.datasets import load_from_tsfile_to_dataframe
    from sktime.datatypes import convert_to

    from skcontrast._data import groups_by_length

    # sktime's load_from_tsfile fails on a file without class labels: this reader returns
    # (X, y) with labels and X alone without
    loaded = load_from_tsfile_to_dataframe(str(path), return_separate_X_and_y=True)
    X = loaded[0] if isinstance(loaded, tuple) else loaded
    frames = convert_to(X, to_type="df-list")
    return [_as_panel(p, path) for _, p in groups_by_length(frames)]


def _read(path):
    try:
        if path.suffix == ".npy":
            return [_as_panel(np.load(path, allow_pickle=False), path)]
        if path.suffix == ".npz":
            return _npz_panels(path)
        return _ts_panels(path)
    except ValueError as err:
        if str(path) in str(err):  # ours: already names the file
            raise
        raise ValueError(f"{path} cannot be read as a {path.suffix} file ({err})") from err
    except Exception as err:  # truncated, corrupt, not that format (numpy, zipfile, sktime)
        raise ValueError(
            f"{path} cannot be read as a {path.suffix} file ({type(err).__name__}: {err})"
        ) from err


class CorpusError(ValueError):
    """A file or folder of the corpus is missing, unreadable or malformed (its message names it)."""


def load_corpus(paths) -> list:
    """The panels (numpy3D float32) of the given files and folders, in sorted file order.

    A missing, unreadable or malformed file raises :class:`CorpusError` (a ``ValueError``)
    whose message names it; the command line turns it into one line and exit status 2.
    """
    try:
        return [panel for path in _files(paths) for panel in _read(path)]
    except (ValueError, OSError) as err:
        raise CorpusError(" ".join(str(err).split())) from err


def _value(name, text, default):
    """``text`` as a Python literal (else as a string), of the kind ``default`` has."""
    try:
        value = ast.literal_eval(text.strip())
    except (ValueError, SyntaxError, TypeError, MemoryError, RecursionError):
        value = text  # a plain string, e.g. image=line
    if not isinstance(value, (type(None), bool, int, float, str)):
        raise UsageError(f"--param {name}={text}: expected a number, a string, True/False or None")
    if isinstance(default, bool) and not isinstance(value, bool):
        raise UsageError(f"--param {name}={text}: expected True or False")
    is_number = isinstance(value, numbers.Real) and not isinstance(value, bool)
    if isinstance(default, numbers.Real) and not isinstance(default, bool) and not is_number:
        raise UsageError(f"--param {name}={text}: expected a number (default {default!r})")
    return value


def parse_params(items, cls) -> dict:
    """``NAME=VALUE`` strings as constructor parameters of ``cls``, names and kinds checked."""
    defaults = cls()._effective_params()  # options by name, as constructor parameters
    defaults.pop("options", None)
    settable = sorted(set(defaults) - set(OWN_OPTIONS))
    params = {}
    for item in items:
        name, sep, text = item.partition("=")
        name = name.strip()
        if not sep or not name:
            raise UsageError(f"--param expects NAME=VALUE, got {item!r}")
        if name in OWN_OPTIONS:
            raise UsageError(f"--param {name}: use the option {OWN_OPTIONS[name]} instead")
        if name not in defaults:
            raise UsageError(
                f"--param {name}: {cls.__name__} has no parameter {name!r}; valid names: "
                + ", ".join(settable)
            )
        params[name] = _value(name, text, defaults[name])
    return params


def build_estimator(args):
    """The estimator the arguments describe, its parameters validated (ValueError if not)."""
    from skcontrast import AimTSTransformer, BTSFTransformer
    from skcontrast._torch_utils import resolve_device

    cls = AimTSTransformer if args.method == "aimts" else BTSFTransformer
    params = dict(batch_size=args.batch_size, n_iters=args.n_iters, n_epochs=args.n_epochs,
                  max_time=args.max_time, device=args.device, random_state=args.seed,
                  checkpoint_path=args.checkpoint, checkpoint_every=args.checkpoint_every,
                  verbose=args.verbose)  # fmt: skip
    if args.lr is not None:
        params["lr"] = args.lr
    est = cls(**cls._split_options({**params, **parse_params(args.param, cls)}))
    est._check_params()  # the estimator's own checks (and the checkpoint folder), now
    resolve_device(args.device)
    return est


def check_output(out):
    """Fail now, not after training, if the encoder file cannot be written to ``out``."""
    path = Path(out)
    if path.is_dir() or not path.name:
        raise ValueError(f"--out {out} is a folder; give the encoder file's name")
    folder = path.parent
    while not folder.exists():  # missing folders are created when the encoder is written
        folder = folder.parent
    if not folder.is_dir():
        raise ValueError(f"--out {out}: {folder} is a file, so no folder can be made in it")
    if not os.access(folder, os.W_OK | os.X_OK):
        raise ValueError(f"--out {out}: the folder {folder} is not writable")


def _for_method(args, panels):
    if args.method == "btsf" and len(panels) > 1:
        shapes = {p.shape[1:] for p in panels}
        if len(shapes) > 1:
            raise UsageError(
                f"BTSF trains on one shape of series, got {sorted(shapes)}; use --method aimts"
            )
        return [np.concatenate(panels)]
    return panels


class _Formatter(argparse.ArgumentDefaultsHelpFormatter, argparse.RawDescriptionHelpFormatter):
    """Defaults in the help of every option; the epilog's layout kept."""


class _Parser(argparse.ArgumentParser):
    def error(self, message):  # one line and status 2, as every other user error
        raise UsageError(f"{message} (see {PROG} --help)")


def _non_negative_int(text):
    value = int(text)
    if not 0 <= value < 2**32:
        raise argparse.ArgumentTypeError(f"expected an integer in [0, 2**32), got {text}")
    return value


def parser():
    p = _Parser(prog=PROG, description=__doc__.split("\n\n")[0], epilog=EPILOG,
                formatter_class=_Formatter)  # fmt: skip
    add = p.add_argument
    add("data", nargs="+", help="files or folders of .npy/.npz/.ts datasets (see below)")
    add("--out", required=True, default=argparse.SUPPRESS,
        help="the encoder file to write (save_weights format; folders created)")  # fmt: skip
    add("--method", choices=("aimts", "btsf"), default="aimts",
        help="AimTSTransformer (any shapes) or BTSFTransformer (one shape)")  # fmt: skip
    add("--checkpoint", default=None,
        help="checkpoint file in an existing folder: saved periodically, resumed")  # fmt: skip
    add("--checkpoint-every", type=int, default=50, help="steps between checkpoints")
    add("--n-iters", type=int, default=None,
        help="training steps (None and no --n-epochs: the estimator's default)")  # fmt: skip
    add("--n-epochs", type=int, default=None, help="passes over the data instead of steps")
    add("--max-time", type=float, default=None, help="seconds of training at most")
    add("--batch-size", type=int, default=16, help="global batch (split over processes)")
    add("--lr", type=float, default=None, help="learning rate (None: the estimator's default)")
    add("--device", default="auto", help="auto, cpu, cuda (cuda:LOCAL_RANK under torchrun)")
    add("--seed", type=_non_negative_int, default=0, help="random_state of the estimator")
    add("--backend", default=None, help="process-group backend (None: nccl on GPUs, else gloo)")
    add("--param", action="append", default=[], metavar="NAME=VALUE",
        help="another estimator parameter, repeatable (AimTS e.g. depth=4, image=None; "
        "BTSF e.g. temporal_depth=4, rank=4)")  # fmt: skip
    add("--verbose", action="store_true", help="show a progress bar with the loss")
    return p


def _pretrain(args):
    """Validate everything, read the corpus, fit, write the encoder (rank 0)."""
    from skcontrast import _distributed

    try:
        est = build_estimator(args)
        check_output(args.out)
        panels = _for_method(args, load_corpus(args.data))
    except (ValueError, TypeError, OSError) as err:  # bad arguments or files
        raise UsageError(err) from err
    start = time.perf_counter()
    try:
        est.fit(panels if len(panels) > 1 else panels[0])
    except (ValueError, OSError, FloatingPointError) as err:  # e.g. another run's checkpoint
        raise UsageError(err) from err
    elapsed = time.perf_counter() - start

    def write():
        Path(args.out).parent.mkdir(parents=True, exist_ok=True)
        est.save_weights(args.out)

    # rank 0 writes; an error there (disk full, no permission) is raised on every rank
    # instead of leaving the others waiting; every rank returns once the file exists
    try:
        _distributed.on_main(write)
    except OSError as err:
        raise UsageError(f"cannot write {args.out}: {err}") from err
    if _distributed.is_main():
        n = sum(len(p) for p in panels)
        steps = f"{est.n_iters_} steps ({est.stop_reason_})"
        loss = f"last loss {est.loss_history_[-1]:.4f}" if est.loss_history_ else "no training"
        print(f"pretrain: {type(est).__name__} on {len(panels)} panel(s), {n} series, "
              f"{_distributed.world_size()} process(es): {steps}, {loss}, {elapsed:.1f} s; "
              f"wrote {args.out}")  # fmt: skip


def main(argv=None) -> int:
    """Run the command line; a user error prints one ``pretrain: ...`` line and exits 2."""
    try:
        args = parser().parse_args(argv)
        import torch

        from skcontrast import _distributed

        backend = args.backend
        if backend is None and str(args.device).startswith("cpu"):
            backend = "gloo"  # NCCL would need a GPU per process
        started_group = _distributed.init_from_env(backend)
        try:
            _pretrain(args)
            if started_group:
                # every rank is done with the group before any tears it down: a rank that
                # exits while another still talks to it made gloo abort ("terminate called
                # without an active exception") after a successful run
                torch.distributed.barrier()
        finally:
            if started_group:
                torch.distributed.destroy_process_group()
    except UsageError as err:
        print(err, file=sys.stderr)
        raise
    return 0


if __name__ == "__main__":
    sys.exit(main())
