"""The ``options`` parameter: what users rarely turn, by name, in one dict (issue 34)."""

import inspect

import numpy as np
import pytest
from _helpers import tiny_aimts, tiny_btsf
from sklearn.base import clone

from skcontrast import AimTSClassifier, AimTSTransformer, BTSFTransformer
from skcontrast._checkpoint import canonical_params
from skcontrast._estimator import SHARED_OPTIONS

ESTIMATORS = (BTSFTransformer, AimTSTransformer, AimTSClassifier)


@pytest.mark.parametrize("cls", ESTIMATORS, ids=lambda c: c.__name__)
def test_constructors_keep_at_most_25_parameters_and_options_are_not_parameters(cls):
    params = list(inspect.signature(cls.__init__).parameters)[1:]
    assert len(params) <= 25, len(params)
    assert "options" in params
    assert not set(params) & set(cls._option_defaults)
    assert set(SHARED_OPTIONS) <= set(cls._option_defaults)


@pytest.mark.parametrize("cls", ESTIMATORS, ids=lambda c: c.__name__)
def test_each_option_reads_as_an_attribute(cls):
    est = cls()
    for name, default in cls._option_defaults.items():
        assert getattr(est, name) == default or (default is None and getattr(est, name) is None)
    est = cls(options={"tol": 0.5})
    assert est.tol == 0.5 and est.n_iter_no_change == 20
    with pytest.raises(AttributeError):
        est.tol = 0.1  # read-only: options is the one place


def test_unknown_or_misplaced_options_are_clear_errors():
    with pytest.raises(ValueError, match=r"unknown options 'tols'; valid option names: n_epochs"):
        tiny_btsf(options={"tols": 1e-3})._check_params()
    with pytest.raises(ValueError, match="options must be None or a dict"):
        tiny_btsf(options=[("tol", 1e-3)])._check_params()
    with pytest.raises(ValueError, match="tol must be > 0, got -1"):
        tiny_btsf(options={"tol": -1})._check_params()
    # a constructor parameter is not an option
    with pytest.raises(ValueError, match="unknown options 'lr'"):
        tiny_btsf(options={"lr": 1e-3})._check_params()
    with pytest.raises(TypeError, match="unexpected keyword argument 'tol'"):
        BTSFTransformer(tol=1e-3)


def test_set_params_sets_one_option_and_keeps_the_others():
    est = BTSFTransformer(options={"early_stopping": True, "tol": 0.1})
    est.set_params(options__tol=0.01, n_iters=5)
    assert est.options == {"early_stopping": True, "tol": 0.01} and est.n_iters == 5
    assert clone(est).options == est.options
    est.set_params(options={"swa": False})  # the whole dict, as any parameter
    assert est.options == {"swa": False} and est.tol == 1e-3


def test_an_option_left_out_and_its_default_given_are_the_same_fit(panel):
    X, _ = panel
    left = tiny_btsf(n_iters=3).fit(X)
    given = tiny_btsf(n_iters=3, options={**tiny_btsf().options, "tol": 1e-3, "swa": None})
    assert canonical_params(left) == canonical_params(given)
    np.testing.assert_array_equal(
        left.transform(X).to_numpy(), given.fit(X).transform(X).to_numpy()
    )
    changed = tiny_btsf(n_iters=3, mask_ratio=0.25)  # the helpers take options by name
    assert changed.options["mask_ratio"] == 0.25 and changed.mask_ratio == 0.25
    assert canonical_params(changed) != canonical_params(left)
    assert not np.array_equal(changed.fit(X).transform(X).to_numpy(), left.transform(X).to_numpy())


@pytest.mark.parametrize("make", [tiny_btsf, tiny_aimts], ids=["btsf", "aimts"])
def test_weights_files_keep_options_by_name(make, panel, tmp_path):
    X, _ = panel
    est = make(n_iters=2, weight_decay=0.05, n_iter_no_change=7).fit(X)
    path = tmp_path / "w.pt"
    est.save_weights(path)
    import torch

    stored = torch.load(path, weights_only=True)["params"]
    assert stored["weight_decay"] == 0.05 and stored["n_iter_no_change"] == 7
    assert "options" not in stored  # one flat table, as files written before options
    loaded = type(est).load_weights(path)
    assert loaded.weight_decay == 0.05 and loaded.n_iter_no_change == 7
    assert loaded.options == est.options
