"""The training loop's pieces: loss terms, history, stop rules, checkpoints, OOM back-off."""

import math

import numpy as np
import pytest
import torch

from skcontrast import AimTSClassifier, AimTSTransformer, BTSFTransformer
from skcontrast._training import History, loss_and_terms


def _tiny(cls, **kw):
    return cls(**{**cls.get_test_params()[0], **kw})


def _check_terms(est, names):
    assert list(est.loss_terms_) == names
    for values in est.loss_terms_.values():
        assert len(values) == est.n_iters_ and all(isinstance(v, float) for v in values)
    sums = np.sum([est.loss_terms_[n] for n in names], axis=0)
    np.testing.assert_allclose(sums, est.loss_history_, rtol=1e-5, atol=1e-6)


def test_btsf_records_its_loss_terms(panel):
    X, _ = panel
    _check_terms(_tiny(BTSFTransformer, n_iters=3).fit(X), ["instance", "temporal"])
    _check_terms(_tiny(BTSFTransformer, n_iters=3, temporal_weight=0).fit(X), ["instance"])
    _check_terms(_tiny(BTSFTransformer, n_iters=3, recipe="paper").fit(X), ["instance"])


def test_aimts_records_its_loss_terms_and_the_warmup(panel):
    X, y = panel
    # 12 series, batch 4: 3 steps per epoch, the first 3 are the warm-up (image term alone)
    est = _tiny(AimTSTransformer, n_iters=5, warmup_epochs=1).fit(X)
    _check_terms(est, ["image", "inter", "intra"])
    assert est.loss_terms_["inter"][:3] == [0.0] * 3 and all(
        v != 0 for v in est.loss_terms_["inter"][3:]
    )
    _check_terms(_tiny(AimTSTransformer, n_iters=3, image=None).fit(X), ["inter", "intra"])
    _check_terms(_tiny(AimTSClassifier, n_iters=3).fit(X, y), ["cross_entropy"])


def test_a_plain_loss_tensor_is_the_single_term_loss(panel, monkeypatch):
    X, _ = panel
    monkeypatch.setattr(
        BTSFTransformer, "_training_loss", lambda self, net, b, step: net(b).square().mean()
    )
    est = _tiny(BTSFTransformer, n_iters=2).fit(X)
    assert est.loss_terms_ == {"loss": est.loss_history_}


def test_loss_and_terms_sums_in_order():
    a, b = torch.tensor(1.5), torch.tensor(2.0)
    loss, terms = loss_and_terms({"a": a, "b": b})
    assert float(loss) == 3.5 and list(terms) == ["a", "b"]
    assert loss_and_terms(a)[1] == {"loss": a}
    with pytest.raises(TypeError, match="loss tensor or a non-empty dict"):
        loss_and_terms({})


def test_history_fills_absent_terms():
    h = History()
    h.record(1.0, {"a": 1.0})
    h.record(3.0, {"a": 1.0, "b": 2.0})
    assert h.total == [1.0, 3.0] and h.terms == {"a": [1.0, 1.0], "b": [0.0, 2.0]}
    resumed = History()
    resumed.load_state_dict({"history": [1.0, 2.0]})  # a checkpoint without terms
    resumed.record(3.0, {"a": 3.0})
    assert all(map(math.isnan, resumed.terms["a"][:2]))
    assert resumed.terms["a"][2] == 3.0
    again = History()
    again.load_state_dict(h.state_dict())
    assert again.total == h.total and again.terms == h.terms


def test_loss_terms_survive_a_weights_file(panel, tmp_path):
    X, _ = panel
    est = _tiny(BTSFTransformer, n_iters=3).fit(X)
    est.save_weights(tmp_path / "w.pt")
    loaded = BTSFTransformer.load_weights(tmp_path / "w.pt")
    assert loaded.loss_terms_ == est.loss_terms_
