"""Resumable training: interrupted + resumed == uninterrupted, bit for bit, on the CPU."""

import numpy as np
import pytest
import torch
from _helpers import tiny_aimts, tiny_btsf, tiny_clf

from skcontrast import BTSFTransformer
from skcontrast._training import BatchSampler

MAKERS = {
    "btsf": lambda **kw: tiny_btsf(**kw),
    "aimts": lambda **kw: tiny_aimts(**{"warmup_epochs": 1, **kw}),
    "aimts_clf": lambda **kw: tiny_clf(**kw),
}


def crash_at_step(monkeypatch, step):
    """Make the batch sampler fail when asked for batch number ``step`` (1-based)."""
    calls = {"n": 0}
    original = BatchSampler.next

    def failing(self):
        calls["n"] += 1
        if calls["n"] == step:
            raise RuntimeError("simulated crash")
        return original(self)

    monkeypatch.setattr(BatchSampler, "next", failing)


def crash(*args, **kwargs):
    raise RuntimeError("crash")


@pytest.mark.parametrize("kind", list(MAKERS))
def test_interrupted_then_resumed_fit_equals_uninterrupted(kind, panel, tmp_path, monkeypatch):
    X, y = panel
    make = MAKERS[kind]
    reference = make(n_iters=10).fit(X, y)
    path = tmp_path / "fit.ckpt"
    with monkeypatch.context() as m:
        crash_at_step(m, 8)  # 7 steps done, last checkpoint at step 6
        with pytest.raises(RuntimeError, match="simulated crash"):
            make(n_iters=10, checkpoint_path=str(path), checkpoint_every=3).fit(X, y)
    assert path.exists()
    resumed = make(n_iters=10, checkpoint_path=str(path), checkpoint_every=3).fit(X, y)
    assert resumed.loss_history_ == reference.loss_history_
    assert resumed.loss_terms_ == reference.loss_terms_
    states = resumed.network_.state_dict(), reference.network_.state_dict()
    for p, q in zip(states[0].values(), states[1].values(), strict=True):
        assert torch.equal(p, q)


def test_a_checkpoint_of_another_fit_is_refused(panel, tmp_path, monkeypatch):
    X, y = panel
    path = str(tmp_path / "fit.ckpt")
    with monkeypatch.context() as m:  # a finished fit deletes its checkpoint: interrupt it
        crash_at_step(m, 3)
        with pytest.raises(RuntimeError, match="simulated crash"):
            MAKERS["btsf"](n_iters=3, checkpoint_path=path, checkpoint_every=1).fit(X)
    with pytest.raises(ValueError, match="other data or parameters"):
        MAKERS["btsf"](n_iters=3, checkpoint_path=path, checkpoint_every=1).fit(X + 1)
    with pytest.raises(ValueError, match="other data or parameters"):
        MAKERS["btsf"](n_iters=3, rank=3, checkpoint_path=path, checkpoint_every=1).fit(X)
    (tmp_path / "junk.ckpt").write_bytes(b"not a checkpoint")
    with pytest.raises(ValueError, match="not a skcontrast training checkpoint.*left untouched"):
        MAKERS["btsf"](n_iters=3, checkpoint_path=str(tmp_path / "junk.ckpt")).fit(X)


def test_a_finished_checkpoint_resumes_to_the_same_result_without_training(
    panel, tmp_path, monkeypatch
):
    X, _ = panel
    path = str(tmp_path / "fit.ckpt")
    first = MAKERS["btsf"](n_iters=6).fit(X)
    # all steps checkpointed, then a crash before the fit ends (which would delete it)
    with monkeypatch.context() as m:
        m.setattr(BTSFTransformer, "_encode_panel", crash)
        with pytest.raises(RuntimeError, match="crash"):
            MAKERS["btsf"](n_iters=6, checkpoint_path=path, checkpoint_every=3).fit(X)
    crash_at_step(monkeypatch, 1)  # any training step would now fail
    again = MAKERS["btsf"](n_iters=6, checkpoint_path=path, checkpoint_every=3).fit(X)
    np.testing.assert_array_equal(again.transform(X).to_numpy(), first.transform(X).to_numpy())


def test_interrupt_message_names_the_resume_step(panel, tmp_path, monkeypatch):
    X, _ = panel
    calls = {"n": 0}
    original = BatchSampler.next

    def interrupting(self):
        calls["n"] += 1
        if calls["n"] == 6:
            raise KeyboardInterrupt
        return original(self)

    monkeypatch.setattr(BatchSampler, "next", interrupting)
    with pytest.raises(KeyboardInterrupt, match="after 5 of 10 steps.*resumes from step 4"):
        MAKERS["btsf"](
            n_iters=10, checkpoint_path=str(tmp_path / "c.ckpt"), checkpoint_every=2
        ).fit(X)
