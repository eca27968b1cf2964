"""Pretrained encoders shipped inside the package (no download, no network).

``AimTSTransformer(pretrained="base")`` and ``AimTSClassifier(pretrained="base")`` start
from the encoder of that name; :func:`available` lists the names this installation holds.
Each encoder is a weights-only file (``save_weights`` format, read with
``AimTSTransformer.load_weights``) beside a JSON card (:func:`card`) that records how it
was made: the corpus with checksums, the held-out transfer-validation sets, seed, steps,
wall time and ``weights_sha256``. That is the SHA-256 of the network's tensors (each
state-dict key and its tensor's bytes, in order), equal exactly when two encoders' weights
are bitwise equal; it is not the hash of the ``.pt`` file, whose bytes also hold the fit
time and so differ between runs with equal weights (``hashlib.sha256(weights_path(name)
.read_bytes())`` gives the file's own). The docs page "Pretrained encoders" is the model
card; ``benchmarks/pretrain_base.py`` is the recipe that rebuilds the file.
"""

from __future__ import annotations

import json
from pathlib import Path

__all__ = ["available", "card", "weights_path"]

HERE = Path(__file__).resolve().parent
# name -> (weights file, estimator class name)
ENCODERS = {"base": ("aimts_base.pt", "AimTSTransformer")}


def available() -> list[str]:
    """Names of the pretrained encoders this installation ships, e.g. ``["base"]``."""
    return [name for name, (file, _) in ENCODERS.items() if (HERE / file).is_file()]


def _check_name(name) -> str:
    if name not in ENCODERS:
        raise ValueError(
            f"{name!r} is not the name of a pretrained encoder; the package ships "
            f"{available()} (pass a path to use a weights file of your own)"
        )
    if name not in available():
        raise FileNotFoundError(
            f"the pretrained encoder {name!r} is not in this installation ({HERE}): "
            "reinstall skcontrast, or rebuild it with benchmarks/pretrain_base.py"
        )
    return name


def weights_path(name: str) -> Path:
    """The weights file of the shipped encoder ``name`` (see :func:`available`)."""
    return HERE / ENCODERS[_check_name(name)][0]


def card(name: str) -> dict:
    """How the encoder ``name`` was made: corpus and checksums, held-out sets, recipe, time,
    and ``weights_sha256`` (of the weight tensors, not of the file: see the module)."""
    path = weights_path(name).with_suffix(".json")
    return json.loads(path.read_text()) if path.is_file() else {}


def is_name(source) -> bool:
    """Whether ``source`` is the name of a shipped encoder (a key of ``ENCODERS``, such as
    ``"base"``); a file that happens to be called ``base`` is read when given as ``./base``."""
    return isinstance(source, str) and source in ENCODERS
