"""Pretrain an encoder on a corpus of datasets: ``python -m skcontrast.pretrain``.

Alone::

    python -m skcontrast.pretrain data/ --out encoder.pt --checkpoint pretrain.ckpt

Data-parallel on every GPU of a node, or on several nodes (see docs/scaling_out.md)::

    torchrun --nproc-per-node=gpu -m skcontrast.pretrain data/ --out encoder.pt
    torchrun --nnodes=2 --nproc-per-node=8 --rdzv-backend=c10d \\
        --rdzv-endpoint=HOST:29500 -m skcontrast.pretrain data/ --out encoder.pt

``DATA`` are files or folders of ``.npy`` (a 2-D ``(n, T)`` or 3-D ``(n, C, T)`` array),
``.npz`` (every 2-D/3-D array in it is a panel; 1-D arrays such as labels are skipped) and
``.ts`` files (sktime/UCR format; series of unequal length are grouped by length). Each
panel is a dataset of the corpus. The output is a weights-only file: with
``--method aimts``, ``AimTSTransformer(pretrained="encoder.pt")`` and
``AimTSClassifier(pretrained="encoder.pt")`` start from it; with ``--method btsf`` (one
panel, or panels of one shape, concatenated), ``BTSFTransformer.load_weights`` reads it.

With ``--checkpoint``, training state is saved every ``--checkpoint-every`` steps (by rank
0) and a rerun of the same command resumes from it. Under ``torchrun`` (``WORLD_SIZE`` > 1)
the process group is initialised here (NCCL on GPUs, gloo on CPUs); the global batch of
``--batch-size`` series is split over the processes.
"""

from __future__ import annotations

import argparse
import ast
import sys
import time
from pathlib import Path

import numpy as np

SUFFIXES = (".npy", ".npz", ".ts")


def _files(paths):
    files = []
    for path in map(Path, paths):
        if path.is_dir():
            found = sorted(p for p in path.rglob("*") if p.suffix in SUFFIXES and p.is_file())
            if not found:
                raise SystemExit(f"pretrain: no {'/'.join(SUFFIXES)} files in {path}")
            files.extend(found)
        elif path.is_file():
            if path.suffix not in SUFFIXES:
                raise SystemExit(f"pretrain: {path} is not a {'/'.join(SUFFIXES)} file")
            files.append(path)
        else:
            raise SystemExit(f"pretrain: {path} does not exist")
    return files


def _as_panel(array, source):
    array = np.asarray(array, dtype=np.float32)
    if array.ndim == 2:
        return array[:, np.newaxis, :]
    if array.ndim == 3:
        return array
    raise SystemExit(f"pretrain: {source} holds a {array.ndim}-D array; expected (n, T) or (n, C, T)")


def load_corpus(paths) -> list:
    """The panels (numpy3D float32) of the given files and folders, in sorted file order."""
    from skcontrast._base import groups_by_length

    panels = []
    for path in _files(paths):
        if path.suffix == ".npy":
            panels.append(_as_panel(np.load(path, allow_pickle=False), path))
        elif path.suffix == ".npz":
            with np.load(path, allow_pickle=False) as archive:
                found = [_as_panel(archive[k], f"{path}:{k}") for k in archive.files if archive[k].ndim in (2, 3)]
            if not found:
                raise SystemExit(f"pretrain: {path} holds no 2-D or 3-D array")
            panels.extend(found)
        else:
            from sktime.datasets import load_from_tsfile
            from sktime.datatypes import convert_to

            X = load_from_tsfile(str(path), return_y=False, return_data_type="nested_univ")
            frames = convert_to(X, to_type="df-list")
            panels.extend(p.astype(np.float32) for _, p in groups_by_length(frames))
    return panels


def build_estimator(args):
    from skcontrast import AimTSTransformer, BTSFTransformer

    params = dict(batch_size=args.batch_size, n_iters=args.n_iters, n_epochs=args.n_epochs,
                  max_time=args.max_time, device=args.device, random_state=args.seed,
                  checkpoint_path=args.checkpoint, checkpoint_every=args.checkpoint_every,
                  verbose=args.verbose)  # fmt: skip
    if args.lr is not None:
        params["lr"] = args.lr
    for item in args.param:
        key, sep, value = item.partition("=")
        if not sep or not key:
            raise SystemExit(f"pretrain: --param expects NAME=VALUE, got {item!r}")
        try:
            params[key] = ast.literal_eval(value)
        except (ValueError, SyntaxError):
            params[key] = value  # a plain string, e.g. image=line
    cls = AimTSTransformer if args.method == "aimts" else BTSFTransformer
    return cls(**params)


def parser():
    p = argparse.ArgumentParser(prog="python -m skcontrast.pretrain", description=__doc__.split("\n\n")[0],
                                formatter_class=argparse.RawDescriptionHelpFormatter)  # fmt: skip
    p.add_argument("data", nargs="+", help="files or folders of .npy/.npz/.ts datasets")
    p.add_argument("--out", required=True, help="the encoder file to write (save_weights format)")
    p.add_argument("--method", choices=("aimts", "btsf"), default="aimts")
    p.add_argument("--checkpoint", default=None, help="checkpoint file: saved periodically, resumed if present")
    p.add_argument("--checkpoint-every", type=int, default=50)
    p.add_argument("--n-iters", type=int, default=None)
    p.add_argument("--n-epochs", type=int, default=None)
    p.add_argument("--max-time", type=float, default=None, help="seconds of training at most")
    p.add_argument("--batch-size", type=int, default=16, help="global batch (split over processes)")
    p.add_argument("--lr", type=float, default=None)
    p.add_argument("--device", default="auto", help="auto, cpu, cuda (cuda:LOCAL_RANK under torchrun)")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--backend", default=None, help="process-group backend (default: nccl on GPUs, else gloo)")
    p.add_argument("--param", action="append", default=[], metavar="NAME=VALUE",
                   help="any other estimator parameter, e.g. --param image=None --param depth=4")  # fmt: skip
    p.add_argument("--verbose", action="store_true")
    return p


def main(argv=None) -> int:
    args = parser().parse_args(argv)
    import torch

    from skcontrast import _distributed

    backend = args.backend
    if backend is None and str(args.device).startswith("cpu"):
        backend = "gloo"  # NCCL would need a GPU per process
    started_group = _distributed.init_from_env(backend)
    try:
        main_rank = _distributed.is_main()
        panels = load_corpus(args.data)
        est = build_estimator(args)
        if args.method == "btsf" and len(panels) > 1:
            shapes = {p.shape[1:] for p in panels}
            if len(shapes) > 1:
                raise SystemExit(f"pretrain: BTSF trains on one shape of series, got {sorted(shapes)}; use --method aimts")
            panels = [np.concatenate(panels)]
        start = time.perf_counter()
        est.fit(panels if len(panels) > 1 else panels[0])
        elapsed = time.perf_counter() - start
        def write():
            Path(args.out).parent.mkdir(parents=True, exist_ok=True)
            est.save_weights(args.out)

        # rank 0 writes; an error there (disk full, no permission) is raised on every rank
        # instead of leaving the others waiting; every rank returns once the file exists
        _distributed.on_main(write)
        if main_rank:
            n = sum(len(p) for p in panels)
            loss = est.loss_history_[-1] if est.loss_history_ else float("nan")
            print(f"pretrain: {type(est).__name__} on {len(panels)} panel(s), {n} series, "
                  f"{_distributed.world_size()} process(es): {est.n_iters_} steps ({est.stop_reason_}), "
                  f"last loss {loss:.4f}, {elapsed:.1f} s; wrote {args.out}")  # fmt: skip
    finally:
        if started_group:
            torch.distributed.destroy_process_group()
    return 0


if __name__ == "__main__":
    sys.exit(main())
