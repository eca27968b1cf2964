"""Helpers shared by the test modules (fixtures live in conftest.py)."""

import os
import socket
import subprocess
import sys
from pathlib import Path

import pytest

from skcontrast import AimTSClassifier, AimTSTransformer, BTSFTransformer


def _make(cls, overrides):
    """``cls`` of its first test configuration with ``overrides`` (options by name too)."""
    return cls(**cls._split_options({**cls.get_test_params()[0], **overrides}))


def tiny_btsf(**overrides):
    """A BTSFTransformer small enough to fit in well under a second (``overrides`` may name
    options directly, e.g. ``tol=0.1``)."""
    return _make(BTSFTransformer, overrides)


def tiny_aimts(**overrides):
    """An AimTSTransformer small enough to fit in about a second (with the image branch)."""
    return _make(AimTSTransformer, overrides)


def tiny_clf(**overrides):
    """An AimTSClassifier small enough to fit in well under a second."""
    return _make(AimTSClassifier, overrides)


# -- process groups (test_distributed.py, test_pretrain.py) ---------------------------------
WORLD = 2
WEIGHTS_TOL = dict(atol=1e-5, rtol=1e-4)
LOSS_RTOL = 5e-5
HERE = Path(__file__).resolve().parent


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def run_ranks(argv, world=WORLD, timeout=240, attempts=2):
    """Run ``python argv`` as ``world`` ranks with torchrun's environment; their outputs.

    A launch whose processes fail is retried once on a fresh port: on a shared machine the
    free port can be taken between choosing it and binding it (and gloo then aborts with
    "terminate called without an active exception"). Both ranks' logs are shown on failure.
    """
    for attempt in range(attempts):
        path = os.pathsep.join([str(HERE.parent), os.environ.get("PYTHONPATH", "")])
        env = {**os.environ, "MASTER_ADDR": "127.0.0.1", "MASTER_PORT": str(free_port()),
               "WORLD_SIZE": str(world), "OMP_NUM_THREADS": "1", "PYTHONPATH": path}  # fmt: skip
        procs = [subprocess.Popen([sys.executable, *argv],
                                  env={**env, "RANK": str(r), "LOCAL_RANK": str(r)},
                                  stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
                 for r in range(world)]  # fmt: skip
        try:
            logs = [p.communicate(timeout=timeout)[0] for p in procs]
        except subprocess.TimeoutExpired:
            for p in procs:
                p.kill()
            pytest.fail(f"{world} ranks of {argv} did not finish within {timeout} s")
        if all(p.returncode == 0 for p in procs):
            return logs
        report = "\n".join(f"--- rank {r} (exit {p.returncode}):\n{log[-2000:]}"
                           for r, (p, log) in enumerate(zip(procs, logs, strict=True)))  # fmt: skip
        print(f"attempt {attempt + 1} failed:\n{report}")
    pytest.fail(f"{world} ranks of {argv} failed {attempts} times; last:\n{report}")
