"""The training loop's pieces: loss terms, history, stop rules, checkpoints, OOM back-off."""

import math

import numpy as np
import pytest
import torch
from _helpers import tiny_aimts, tiny_btsf

from skcontrast import AimTSClassifier, AimTSTransformer, BTSFTransformer
from skcontrast._training import History, loss_and_terms


def _tiny(cls, **kw):
    return cls(**cls._split_options({**cls.get_test_params()[0], **kw}))


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


# -- Ctrl-C (issue 35 item 5): keep the weights, then re-raise --------------------------------
def _interrupt_at_step(monkeypatch, step):
    """Ctrl-C while drawing the batch of training step ``step`` (1-based) of every fit."""
    from skcontrast._training import BatchSampler

    original = BatchSampler.next
    calls = {"n": 0}

    def interrupting(self):
        calls["n"] += 1
        if calls["n"] % step == 0:  # every fit is interrupted at its own step ``step``
            raise KeyboardInterrupt
        return original(self)

    monkeypatch.setattr(BatchSampler, "next", interrupting)


@pytest.mark.parametrize("cls", [BTSFTransformer, AimTSTransformer, AimTSClassifier])
def test_interrupted_fit_keeps_a_usable_estimator_then_reraises(cls, panel, monkeypatch):
    import pickle

    X, y = panel
    _interrupt_at_step(monkeypatch, 3)
    est = _tiny(cls, n_iters=10)
    with pytest.raises(KeyboardInterrupt, match="interrupted after 2 of 10 steps.*usable"):
        est.fit(X, y)
    assert est.is_fitted and est.stop_reason_ == "interrupted" and est.n_iters_ == 2
    out = est.predict_proba(X) if hasattr(est, "predict_proba") else est.transform(X)
    assert np.isfinite(np.asarray(out)).all()
    assert "_interruption" not in vars(est)  # nothing of the interrupt in the fitted state
    pickle.loads(pickle.dumps(est))


def test_interrupted_fit_transform_raises_without_output(panel, monkeypatch):
    X, _ = panel
    _interrupt_at_step(monkeypatch, 3)
    with pytest.raises(KeyboardInterrupt):
        _tiny(BTSFTransformer, n_iters=10).fit_transform(X)


@pytest.mark.parametrize("search", ["cross_val_score", "grid_search"])
@pytest.mark.parametrize("kind", ["pipeline", "classifier"])
def test_model_selection_stops_at_the_first_interrupt(search, kind, panel, monkeypatch):
    """cross_val_score / GridSearchCV must not go on scoring half-trained models."""
    from sklearn.linear_model import LogisticRegression
    from sklearn.model_selection import GridSearchCV, cross_val_score
    from sklearn.pipeline import Pipeline

    X, y = panel
    if kind == "pipeline":
        model = Pipeline([("rep", _tiny(BTSFTransformer, n_iters=10)),
                          ("clf", LogisticRegression())])  # fmt: skip
        grid = {"rep__lr": [1e-3, 2e-3]}
    else:
        model, grid = _tiny(AimTSClassifier, n_iters=10), {"lr": [1e-3, 2e-3]}
    _interrupt_at_step(monkeypatch, 3)
    fits = {"n": 0}
    cls = BTSFTransformer if kind == "pipeline" else AimTSClassifier
    original_train = cls._train

    def counting(self, *args, **kwargs):
        fits["n"] += 1
        return original_train(self, *args, **kwargs)

    monkeypatch.setattr(cls, "_train", counting)
    with pytest.raises(KeyboardInterrupt):
        if search == "cross_val_score":
            cross_val_score(model, X, y, cv=3)
        else:
            GridSearchCV(model, grid, cv=3).fit(X, y)
    assert fits["n"] == 1  # the first fit's interrupt ended the search


@pytest.mark.parametrize("make", [tiny_btsf, tiny_aimts])
def test_fit_transform_encodes_once_and_keeps_nothing_on_the_estimator(make, panel, monkeypatch):
    """fit_transform reuses the features fit computed (one encoding pass, not two), equals
    fit then transform, and passes them through a context of the call: no attribute on the
    estimator, and another estimator fitted meanwhile sees none of them (issue 34)."""
    from skcontrast._base import BaseContrastiveTransformer

    X, _ = panel
    expected = make(n_iters=2).fit(X).transform(X).to_numpy()
    passes, seen = [], []
    features = BaseContrastiveTransformer._features

    def counting(self, *args, **kwargs):
        passes.append(1)
        return features(self, *args, **kwargs)

    monkeypatch.setattr(BaseContrastiveTransformer, "_features", counting)
    est, other = make(n_iters=2), make(n_iters=2)
    init = type(est)._init_weights

    def spying(self, network, seed):
        seen.append((self._fit_transform_features(), other._fit_transform_features()))
        return init(self, network, seed)

    monkeypatch.setattr(type(est), "_init_weights", spying)
    out = est.fit_transform(X).to_numpy()
    np.testing.assert_array_equal(out, expected)
    assert len(passes) == 1
    assert seen == [([], None)]  # this fit's list, none for another estimator
    assert est._fit_transform_features() is None  # gone after the call
    assert not [name for name in vars(est) if "fit_transform" in name]
